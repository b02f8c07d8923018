package build_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/core/dynos"
	"github.com/paasd/paasd/core/store"
)

// TestDeployer deploys through the real store, a real dyno manager over the
// process runtime and the git server: a push creates a build, a slug and a
// release with the current config vars; the release phase runs on the new
// release; a failing release command fails the push and leaves the
// previous release current; the API's builds go through FetchSource.
func TestDeployer(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "paasd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	u, err := st.CreateUser(ctx, core.User{Email: "dev@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := st.CreateApp(ctx, core.App{Name: "deployed", OwnerID: u.ID}, core.Release{Description: "Initial release"})
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "released")
	greeting := "hello"
	if _, err := st.UpdateConfig(ctx, app.ID, map[string]*string{"GREETING": &greeting, "MARKER": &marker}, core.Release{Description: "Set config"}); err != nil {
		t.Fatal(err)
	}

	rt := newRuntime(t, processRT)
	mgr := dynos.New(rt, dynos.Options{CycleEvery: -1})
	t.Cleanup(mgr.Close)
	data := t.TempDir()
	p := fixturePipeline(t)
	var mu sync.Mutex
	converged := 0
	d := &build.Deployer{Pipeline: p, Store: st, Runner: mgr, Converge: func(context.Context, string) error {
		mu.Lock()
		converged++
		mu.Unlock()
		return nil
	}}
	gs, err := build.NewGitServer(build.GitOptions{
		ReposDir: filepath.Join(data, "repos"),
		Authenticate: func(ctx context.Context, appName, token string) (string, error) {
			if token != testToken {
				return "", fmt.Errorf("bad token: %w", core.ErrInvalid)
			}
			return u.ID, nil
		},
		Deploy: d.GitDeploy,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gs)
	t.Cleanup(func() { srv.Close(); _ = gs.Close() })
	e := &gitEnv{url: srv.URL}

	// A release command that succeeds: the release becomes current.
	wc := workingCopy(t, "../../../core/build/testdata/apps/release-ok")
	out, err := gitRun(t, wc, "push", e.remote("deployed", testToken), "main")
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	for _, want := range []string{"Running release command", "Release command succeeded", "Released v3"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the release command did not run with the release's config: %v", err)
	}
	cur, err := st.CurrentRelease(ctx, app.ID)
	if err != nil || cur.Version != 3 || cur.Status != core.ReleaseSucceeded || cur.SlugID == "" || cur.Config["GREETING"] != "hello" {
		t.Fatalf("current release = %+v, %v", cur, err)
	}
	if !strings.HasPrefix(cur.Description, "Deploy ") || cur.UserEmail != "dev@example.com" {
		t.Errorf("release description %q, email %q", cur.Description, cur.UserEmail)
	}
	builds, _ := st.ListBuilds(ctx, app.ID)
	if len(builds) != 1 || builds[0].Status != core.BuildSucceeded || builds[0].ReleaseID != cur.ID || builds[0].SlugID != cur.SlugID {
		t.Errorf("builds = %+v", builds)
	}
	mu.Lock()
	if converged != 1 {
		t.Errorf("converged %d times, want 1", converged)
	}
	mu.Unlock()

	// A release command that fails: the push is rejected, v4 is failed,
	// v3 stays current.
	bad := workingCopy(t, "../../../core/build/testdata/apps/release-fail")
	out, err = gitRun(t, bad, "push", "--force", e.remote("deployed", testToken), "main")
	if err == nil || !strings.Contains(out, "Release command failed (exit status 2)") || !strings.Contains(out, "pre-receive hook declined") {
		t.Fatalf("push with a failing release command: %v\n%s", err, out)
	}
	v4, err := st.GetRelease(ctx, app.ID, "v4")
	if err != nil || v4.Status != core.ReleaseFailed {
		t.Fatalf("v4 = %+v, %v", v4, err)
	}
	if cur, _ := st.CurrentRelease(ctx, app.ID); cur.Version != 3 {
		t.Fatalf("current release is v%d after a failed release phase, want v3", cur.Version)
	}

	// POST /apps/{app}/builds: a source_blob URL, built in the background.
	tarball := tarOf(t, tarEntry{name: "chain.txt", body: "hi"}, tarEntry{name: "Procfile", body: "web: bin/web\n"})
	blob := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(tarball) }))
	t.Cleanup(blob.Close)
	b, err := st.CreateBuild(ctx, core.Build{AppID: app.ID, UserID: u.ID, SourceURL: blob.URL + "/src.tgz"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Build(ctx, app, b); err != nil {
		t.Fatal(err)
	}
	waitDone := make(chan struct{})
	go func() { d.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(2 * time.Minute):
		t.Fatal("API build did not finish")
	}
	b, err = st.GetBuild(ctx, app.ID, b.ID)
	if err != nil || b.Status != core.BuildSucceeded {
		t.Fatalf("API build = %+v, %v", b, err)
	}
	if cur, _ := st.CurrentRelease(ctx, app.ID); cur.Version != 5 || cur.ID != b.ReleaseID {
		t.Fatalf("current release v%d (%s), want v5 (%s)", cur.Version, cur.ID, b.ReleaseID)
	}
}
