package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/paasd/paasd/core"
)

func openTest(t *testing.T) *Bolt {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustUser(t *testing.T, s *Bolt, email string) core.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), core.User{Email: email})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func mustApp(t *testing.T, s *Bolt, name, owner string) core.App {
	t.Helper()
	a, r, err := s.CreateApp(context.Background(), core.App{Name: name, OwnerID: owner}, core.Release{Description: "Initial release"})
	if err != nil {
		t.Fatalf("CreateApp(%s): %v", name, err)
	}
	if r.Version != 1 {
		t.Fatalf("first release version = %d, want 1", r.Version)
	}
	return a
}

func str(s string) *string { return &s }

func TestApps(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "Owner@Example.com")
	other := mustUser(t, s, "other@example.com")
	a := mustApp(t, s, "alpha", u.ID)
	mustApp(t, s, "beta", other.ID)

	tests := []struct {
		desc    string
		run     func() error
		wantErr error
	}{
		{"get by name", func() error { _, err := s.GetApp(ctx, "alpha"); return err }, nil},
		{"get by id", func() error { _, err := s.GetApp(ctx, a.ID); return err }, nil},
		{"get missing", func() error { _, err := s.GetApp(ctx, "nope"); return err }, core.ErrNotFound},
		{"duplicate name", func() error {
			_, _, err := s.CreateApp(ctx, core.App{Name: "alpha", OwnerID: u.ID}, core.Release{})
			return err
		}, core.ErrConflict},
		{"empty name", func() error {
			_, _, err := s.CreateApp(ctx, core.App{OwnerID: u.ID}, core.Release{})
			return err
		}, core.ErrInvalid},
		{"rename onto taken name", func() error {
			_, err := s.UpdateApp(ctx, "alpha", func(a *core.App) error { a.Name = "beta"; return nil })
			return err
		}, core.ErrConflict},
		{"update fn error is returned", func() error {
			_, err := s.UpdateApp(ctx, "alpha", func(a *core.App) error { return core.ErrPermissionDenied })
			return err
		}, core.ErrPermissionDenied},
		{"email is case-insensitive and unique", func() error { _, err := s.CreateUser(ctx, core.User{Email: "OWNER@example.com"}); return err }, core.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.run()
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}

	t.Run("rename frees the old name", func(t *testing.T) {
		got, err := s.UpdateApp(ctx, "alpha", func(a *core.App) error { a.Name = "gamma"; a.Maintenance = true; return nil })
		if err != nil || got.Name != "gamma" || !got.Maintenance || got.ID != a.ID {
			t.Fatalf("UpdateApp = %+v, %v", got, err)
		}
		if _, err := s.GetApp(ctx, "alpha"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("old name still resolves: %v", err)
		}
		mustApp(t, s, "alpha", u.ID)
	})
	t.Run("buildpack list is stored in order", func(t *testing.T) {
		if _, err := s.UpdateApp(ctx, "gamma", func(a *core.App) error { a.Buildpacks = []string{"heroku/nodejs", "wasm:/opt/bp.wasm"}; return nil }); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetApp(ctx, "gamma")
		if err != nil || strings.Join(got.Buildpacks, ",") != "heroku/nodejs,wasm:/opt/bp.wasm" {
			t.Fatalf("GetApp = %v, %v", got.Buildpacks, err)
		}
	})
	t.Run("list by user", func(t *testing.T) {
		apps, err := s.ListApps(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range apps {
			names = append(names, a.Name)
		}
		if strings.Join(names, ",") != "alpha,gamma" {
			t.Fatalf("ListApps(owner) = %v", names)
		}
		all, _ := s.ListApps(ctx, "")
		if len(all) != 3 {
			t.Fatalf("ListApps(all) = %d apps, want 3", len(all))
		}
	})
	t.Run("delete cascades and frees names", func(t *testing.T) {
		if _, err := s.CreateDomain(ctx, core.Domain{AppID: a.ID, Hostname: "www.example.com"}); err != nil {
			t.Fatal(err)
		}
		ad, err := s.CreateAddon(ctx, core.Addon{AppID: a.ID, Name: "pg-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateAttachment(ctx, core.AddonAttachment{AppID: a.ID, AddonID: ad.ID, Name: "DATABASE"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddCollaborator(ctx, core.Collaborator{AppID: a.ID, UserID: other.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteApp(ctx, "gamma"); err != nil {
			t.Fatal(err)
		}
		b, _ := s.GetApp(ctx, "beta")
		if _, err := s.CreateDomain(ctx, core.Domain{AppID: b.ID, Hostname: "www.example.com"}); err != nil {
			t.Fatalf("hostname not freed: %v", err)
		}
		if _, err := s.GetAddon(ctx, "pg-1"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("add-on survived its app: %v", err)
		}
		if ats, _ := s.ListAttachments(ctx, AttachmentFilter{AppID: a.ID}); len(ats) != 0 {
			t.Fatalf("attachments survived: %v", ats)
		}
		if apps, _ := s.ListApps(ctx, other.ID); len(apps) != 1 {
			t.Fatalf("collaborator still sees deleted app: %v", apps)
		}
		if _, err := s.ListReleases(ctx, a.ID); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("releases of deleted app: %v", err)
		}
	})
}

func TestReleases(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)

	r2, err := s.UpdateConfig(ctx, a.ID, map[string]*string{"FOO": str("1"), "BAR": str("2")}, core.Release{Description: "Set FOO, BAR config vars"})
	if err != nil || r2.Version != 2 || r2.Config["FOO"] != "1" {
		t.Fatalf("UpdateConfig = %+v, %v", r2, err)
	}
	r3, err := s.UpdateConfig(ctx, a.ID, map[string]*string{"FOO": nil}, core.Release{Description: "Remove FOO config vars"})
	if err != nil || r3.Version != 3 || len(r3.Config) != 1 || r3.Config["BAR"] != "2" {
		t.Fatalf("unset = %+v, %v", r3, err)
	}
	failed, err := s.AppendRelease(ctx, a.ID, core.Release{Status: core.ReleaseFailed, Config: map[string]string{"X": "y"}})
	if err != nil || failed.Version != 4 {
		t.Fatalf("AppendRelease = %+v, %v", failed, err)
	}

	tests := []struct {
		desc        string
		idOrVersion string
		wantVersion int
		wantErr     error
	}{
		{"by number", "2", 2, nil},
		{"by v-number", "v3", 3, nil},
		{"by id", r2.ID, 2, nil},
		{"missing version", "99", 0, core.ErrNotFound},
		{"missing id", "not-an-id", 0, core.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := s.GetRelease(ctx, a.ID, tt.idOrVersion)
			if !errors.Is(err, tt.wantErr) || (err == nil && r.Version != tt.wantVersion) {
				t.Fatalf("GetRelease(%q) = v%d, %v", tt.idOrVersion, r.Version, err)
			}
		})
	}
	t.Run("current skips failed releases", func(t *testing.T) {
		cur, err := s.CurrentRelease(ctx, a.ID)
		if err != nil || cur.Version != 3 || !cur.Current {
			t.Fatalf("CurrentRelease = v%d, %v", cur.Version, err)
		}
		r5, err := s.UpdateConfig(ctx, a.ID, map[string]*string{"Z": str("z")}, core.Release{})
		if err != nil || r5.Version != 5 || r5.Config["X"] != "" || r5.Config["BAR"] != "2" {
			t.Fatalf("config after failed release = %+v, %v", r5, err)
		}
		list, _ := s.ListReleases(ctx, a.ID)
		for i, r := range list {
			if r.Version != i+1 || r.Current != (r.Version == 5) {
				t.Fatalf("release %d: version %d current %v", i, r.Version, r.Current)
			}
		}
	})
	t.Run("unknown app", func(t *testing.T) {
		if _, err := s.UpdateConfig(ctx, "nope", nil, core.Release{}); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

// Concurrent config:set calls all land, as distinct consecutive releases,
// and the last release holds every change.
func TestConcurrentConfigSet(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateConfig(ctx, a.ID, map[string]*string{fmt.Sprintf("K%d", i): str(strconv.Itoa(i))}, core.Release{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListReleases(ctx, a.ID)
	if err != nil || len(list) != n+1 {
		t.Fatalf("%d releases, %v; want %d", len(list), err, n+1)
	}
	for i, r := range list {
		if r.Version != i+1 {
			t.Fatalf("release %d has version %d", i, r.Version)
		}
	}
	cur, _ := s.CurrentRelease(ctx, a.ID)
	for i := range n {
		if cur.Config[fmt.Sprintf("K%d", i)] != strconv.Itoa(i) {
			t.Fatalf("K%d lost: %v", i, cur.Config)
		}
	}
}

func TestFormationBatchIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)
	if _, err := s.PutFormation(ctx, a.ID, core.Formation{Type: "web", Quantity: 1, Size: "basic"}); err != nil {
		t.Fatal(err)
	}
	two := 2
	tests := []struct {
		desc    string
		updates []FormationUpdate
		want    int
		wantErr error
	}{
		{"unknown type rolls everything back", []FormationUpdate{{Type: "web", Quantity: &two}, {Type: "worker", Quantity: &two}}, 1, core.ErrNotFound},
		{"negative quantity", []FormationUpdate{{Type: "web", Quantity: new(-1)}}, 1, core.ErrInvalid},
		{"scale", []FormationUpdate{{Type: "web", Quantity: &two}}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := s.UpdateFormation(ctx, a.ID, tt.updates)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			f, _ := s.GetFormation(ctx, a.ID, "web")
			if f.Quantity != tt.want {
				t.Fatalf("web quantity = %d, want %d", f.Quantity, tt.want)
			}
		})
	}
}

func TestTokensAreHashedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "u@example.com")
	secret := "HRKU-secret-token-0123456789abcdef"
	tok, err := s.CreateToken(ctx, Token{UserID: u.ID, Description: "cli"}, secret)
	if err != nil {
		t.Fatal(err)
	}
	got, gotTok, err := s.Authenticate(ctx, secret)
	if err != nil || got.ID != u.ID || gotTok.ID != tok.ID {
		t.Fatalf("Authenticate = %v, %v, %v", got, gotTok, err)
	}
	if _, _, err := s.Authenticate(ctx, "wrong-secret-0123456789"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := s.CreateToken(ctx, Token{UserID: u.ID}, "short"); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("short secret: %v", err)
	}
	s.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the token secret is stored in clear")
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, secret); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("revoked token still works: %v", err)
	}
}

func TestCollaborators(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := mustUser(t, s, "owner@example.com")
	c := mustUser(t, s, "c@example.com")
	a := mustApp(t, s, "app", owner.ID)
	tests := []struct {
		desc    string
		userID  string
		wantErr error
	}{
		{"add", c.ID, nil},
		{"add twice", c.ID, core.ErrAlreadyExists},
		{"owner", owner.ID, core.ErrConflict},
		{"unknown user", "nobody", core.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := s.AddCollaborator(ctx, core.Collaborator{AppID: a.ID, UserID: tt.userID})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if apps, _ := s.ListApps(ctx, c.ID); len(apps) != 1 {
		t.Fatalf("collaborator sees %d apps", len(apps))
	}
	if _, err := s.RemoveCollaborator(ctx, a.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if apps, _ := s.ListApps(ctx, c.ID); len(apps) != 0 {
		t.Fatalf("removed collaborator sees %d apps", len(apps))
	}
}

func TestUniqueNames(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "a", u.ID)
	b := mustApp(t, s, "b", u.ID)
	ad, _ := s.CreateAddon(ctx, core.Addon{AppID: a.ID, Name: "redis-1"})
	tests := []struct {
		desc    string
		run     func() error
		wantErr error
	}{
		{"domain on another app", func() error {
			if _, err := s.CreateDomain(ctx, core.Domain{AppID: a.ID, Hostname: "x.example.com"}); err != nil {
				return err
			}
			_, err := s.CreateDomain(ctx, core.Domain{AppID: b.ID, Hostname: "X.example.com"})
			return err
		}, core.ErrConflict},
		{"drain url twice", func() error {
			if _, err := s.CreateDrain(ctx, core.Drain{AppID: a.ID, URL: "syslog://h:1"}); err != nil {
				return err
			}
			_, err := s.CreateDrain(ctx, core.Drain{AppID: a.ID, URL: "syslog://h:1"})
			return err
		}, core.ErrConflict},
		{"drain url on another app is fine", func() error {
			_, err := s.CreateDrain(ctx, core.Drain{AppID: b.ID, URL: "syslog://h:1"})
			return err
		}, nil},
		{"add-on name", func() error { _, err := s.CreateAddon(ctx, core.Addon{AppID: b.ID, Name: "redis-1"}); return err }, core.ErrConflict},
		{"attachment name per app", func() error {
			if _, err := s.CreateAttachment(ctx, core.AddonAttachment{AppID: b.ID, AddonID: ad.ID, Name: "REDIS"}); err != nil {
				return err
			}
			_, err := s.CreateAttachment(ctx, core.AddonAttachment{AppID: b.ID, AddonID: ad.ID, Name: "REDIS"})
			return err
		}, core.ErrConflict},
		{"attachment to missing add-on", func() error {
			_, err := s.CreateAttachment(ctx, core.AddonAttachment{AppID: b.ID, AddonID: "nope", Name: "X"})
			return err
		}, core.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	// Pretend a newer paasd wrote the file.
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kSchemaVersion, []byte(strconv.Itoa(SchemaVersion+1)))
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("Open(newer schema) = %v, want ErrUnsupported", err)
	}
}

const childEnv = "PAASD_STORE_DURABILITY_CHILD"

// TestDurabilityChild is the child process of TestDurability: it writes as
// fast as it can and prints "ack <kind> <n>" after each acknowledged write.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("child process of TestDurability")
	}
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	u, err := s.GetUser(ctx, "d@example.com")
	if errors.Is(err, core.ErrNotFound) {
		u, err = s.CreateUser(ctx, core.User{Email: "d@example.com"})
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	a, err := s.GetApp(ctx, "durable")
	if errors.Is(err, core.ErrNotFound) {
		a, _, err = s.CreateApp(ctx, core.App{Name: "durable", OwnerID: u.ID}, core.Release{})
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	round := os.Getenv(childEnv + "_ROUND")
	for i := 0; ; i++ {
		key := fmt.Sprintf("R%s_%d", round, i)
		if i%3 == 2 {
			if _, _, err := s.CreateApp(ctx, core.App{Name: "a-" + strings.ToLower(key), OwnerID: u.ID}, core.Release{}); err != nil {
				fmt.Println("error", err)
				os.Exit(2)
			}
			fmt.Printf("ack app %s\n", "a-"+strings.ToLower(key))
			continue
		}
		r, err := s.UpdateConfig(ctx, a.ID, map[string]*string{key: str("v")}, core.Release{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Printf("ack config %s %d\n", key, r.Version)
	}
}

// TestDurability kills a writing child process with SIGKILL at random
// moments and checks that every write it acknowledged survived.
func TestDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: spawns child processes")
	}
	path := filepath.Join(t.TempDir(), FileName)
	type ack struct{ kind, key string }
	var acked []ack
	maxVersion := 0
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+path, fmt.Sprintf("%s_ROUND=%d", childEnv, round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rand.IntN(150)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 3 && f[0] == "ack" {
				acked = append(acked, ack{f[1], f[2]})
				if f[1] == "config" {
					v, _ := strconv.Atoi(f[3])
					maxVersion = max(maxVersion, v)
				}
				n++
				if n == killAfter {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
				}
			} else if len(f) > 0 && f[0] == "error" {
				t.Fatalf("child: %s", sc.Text())
			}
		}
		cmd.Wait()
		t.Logf("round %d: killed after %d acknowledged writes", round, n)
		if n < killAfter {
			t.Fatalf("child exited before it was killed (%d acks)", n)
		}
	}

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	a, err := s.GetApp(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.CurrentRelease(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range acked {
		switch k.kind {
		case "config":
			if cur.Config[k.key] != "v" {
				t.Errorf("acknowledged config var %s lost", k.key)
			}
		case "app":
			if _, err := s.GetApp(ctx, k.key); err != nil {
				t.Errorf("acknowledged app %s lost: %v", k.key, err)
			}
		}
	}
	list, _ := s.ListReleases(ctx, a.ID)
	for i, r := range list {
		if r.Version != i+1 {
			t.Fatalf("release versions skip: index %d has v%d", i, r.Version)
		}
	}
	if cur.Version < maxVersion {
		t.Fatalf("current release v%d is older than acknowledged v%d", cur.Version, maxVersion)
	}
}

func TestMigrateFromEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	// A bbolt file with no paasd schema at all: version 0.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	if _, err := s.CreateUser(context.Background(), core.User{Email: "u@example.com"}); err != nil {
		t.Fatalf("migrated store is not usable: %v", err)
	}
}

// Every lookup of something missing wraps core.ErrNotFound, as documented.
func TestNotFoundContract(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)
	tests := []struct {
		desc string
		run  func() error
	}{
		{"app", func() error { _, err := s.GetApp(ctx, "nope"); return err }},
		{"update app", func() error { _, err := s.UpdateApp(ctx, "nope", func(*core.App) error { return nil }); return err }},
		{"delete app", func() error { _, err := s.DeleteApp(ctx, "nope"); return err }},
		{"releases of a missing app", func() error { _, err := s.ListReleases(ctx, "nope"); return err }},
		{"append to a missing app", func() error { _, err := s.AppendRelease(ctx, "nope", core.Release{}); return err }},
		{"update release", func() error {
			_, err := s.UpdateRelease(ctx, a.ID, "nope", func(*core.Release) error { return nil })
			return err
		}},
		{"formation", func() error { _, err := s.GetFormation(ctx, a.ID, "web"); return err }},
		{"delete formation", func() error { return s.DeleteFormation(ctx, a.ID, "web") }},
		{"dyno", func() error { _, err := s.GetDyno(ctx, a.ID, "web.1"); return err }},
		{"put dyno on a missing app", func() error { _, err := s.PutDyno(ctx, core.Dyno{AppID: "nope", Name: "web.1"}); return err }},
		{"delete dyno", func() error { return s.DeleteDyno(ctx, a.ID, "web.1") }},
		{"build", func() error { _, err := s.GetBuild(ctx, a.ID, "nope"); return err }},
		{"update build", func() error {
			_, err := s.UpdateBuild(ctx, a.ID, "nope", func(*core.Build) error { return nil })
			return err
		}},
		{"slug", func() error { _, err := s.GetSlug(ctx, a.ID, "nope"); return err }},
		{"add-on", func() error { _, err := s.GetAddon(ctx, "nope"); return err }},
		{"add-on on a missing app", func() error { _, err := s.CreateAddon(ctx, core.Addon{AppID: "nope", Name: "x"}); return err }},
		{"delete add-on", func() error { _, err := s.DeleteAddon(ctx, "nope"); return err }},
		{"attachment", func() error { _, err := s.GetAttachment(ctx, "nope"); return err }},
		{"delete attachment", func() error { _, err := s.DeleteAttachment(ctx, "nope"); return err }},
		{"domain", func() error { _, err := s.GetDomain(ctx, a.ID, "x.example.com"); return err }},
		{"delete domain", func() error { _, err := s.DeleteDomain(ctx, a.ID, "x.example.com"); return err }},
		{"drain", func() error { _, err := s.GetDrain(ctx, a.ID, "d.nope"); return err }},
		{"delete drain", func() error { _, err := s.DeleteDrain(ctx, a.ID, "d.nope"); return err }},
		{"user", func() error { _, err := s.GetUser(ctx, "nobody@example.com"); return err }},
		{"token for a missing user", func() error {
			_, err := s.CreateToken(ctx, Token{UserID: "nope"}, "0123456789abcdef0123")
			return err
		}},
		{"delete token", func() error { return s.DeleteToken(ctx, "nope") }},
		{"collaborator", func() error { _, err := s.GetCollaborator(ctx, a.ID, "nope"); return err }},
		{"remove collaborator", func() error { _, err := s.RemoveCollaborator(ctx, a.ID, "nope"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestDynosBuildsSlugs(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)
	d, err := s.PutDyno(ctx, core.Dyno{AppID: a.ID, Name: "web.1", Type: "web", State: core.DynoStarting})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := s.PutDyno(ctx, core.Dyno{AppID: a.ID, Name: "web.1", Type: "web", State: core.DynoUp})
	if err != nil || d2.ID != d.ID || !d2.CreatedAt.Equal(d.CreatedAt) || d2.State != core.DynoUp {
		t.Fatalf("upsert kept id/created_at? %+v vs %+v, %v", d2, d, err)
	}
	if got, err := s.GetDyno(ctx, a.ID, d.ID); err != nil || got.Name != "web.1" {
		t.Fatalf("GetDyno by id = %+v, %v", got, err)
	}
	b, err := s.CreateBuild(ctx, core.Build{AppID: a.ID, UserID: u.ID})
	if err != nil || b.Status != core.BuildPending {
		t.Fatalf("CreateBuild = %+v, %v", b, err)
	}
	sl, err := s.CreateSlug(ctx, core.Slug{AppID: a.ID, ProcessTypes: map[string]string{"web": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err = s.UpdateBuild(ctx, a.ID, b.ID, func(b *core.Build) error { b.Status = core.BuildSucceeded; b.SlugID = sl.ID; return nil })
	if err != nil || b.Status != core.BuildSucceeded {
		t.Fatalf("UpdateBuild = %+v, %v", b, err)
	}
	r, err := s.UpdateConfig(ctx, a.ID, nil, core.Release{SlugID: sl.ID, Description: "Deploy"})
	if err != nil || r.SlugID != sl.ID {
		t.Fatalf("deploy release = %+v, %v", r, err)
	}
	r, err = s.UpdateConfig(ctx, a.ID, map[string]*string{"A": str("b")}, core.Release{})
	if err != nil || r.SlugID != sl.ID {
		t.Fatalf("config release lost the slug: %+v, %v", r, err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Apps != 1 || st.Releases != 3 || st.Dynos != 1 || st.Users != 1 {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
}

func TestSecondOpenerIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("second Open = %v, want ErrUnavailable", err)
	}
}
