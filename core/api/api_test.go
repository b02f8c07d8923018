package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/store"
)

// env is one API server over a fresh store, with three users.
type env struct {
	t     *testing.T
	st    *store.Bolt
	srv   *httptest.Server
	admin string // tokens
	alice string
	bob   string
	log   *recordLog
}

type recordLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordLog) LogAPI(_ context.Context, app core.App, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, app.Name+": "+line)
}

func (l *recordLog) has(line string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if x == line {
			return true
		}
	}
	return false
}

func newEnv(t *testing.T, opts api.Options) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, log: &recordLog{}}
	if opts.APILog == nil {
		opts.APILog = e.log
	}
	mk := func(email string, admin bool) string {
		u, err := st.CreateUser(context.Background(), core.User{Email: email, Admin: admin})
		if err != nil {
			t.Fatal(err)
		}
		secret := api.NewTokenSecret()
		if _, err := st.CreateToken(context.Background(), store.Token{UserID: u.ID}, secret); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	e.admin = mk("admin@paasd.local", true)
	e.alice = mk("alice@example.com", false)
	e.bob = mk("bob@example.com", false)
	e.srv = httptest.NewServer(api.New(st, opts))
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

func (r resp) errorID(t *testing.T) string {
	t.Helper()
	var e api.ErrorJSON
	r.json(t, &e)
	if e.Message == "" {
		t.Errorf("error %s has no message", r.body)
	}
	return e.ID
}

// do sends a request; body is JSON-encoded unless it is a string (sent raw).
func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, raw}
}

func (e *env) mustStatus(r resp, want int) resp {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

func (e *env) createApp(token, name string) map[string]any {
	e.t.Helper()
	return e.mustStatus(e.do("POST", "/apps", token, map[string]any{"name": name}), 201).obj(e.t)
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, api.Options{})
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		desc   string
		auth   string
		status int
	}{
		{"no credentials", "", 401},
		{"unknown bearer token", "Bearer HRKU-nope-nope-nope-nope", 401},
		{"bearer token", "Bearer " + e.alice, 200},
		{"basic with the token as password (git, netrc)", basic("alice@example.com", e.alice), 200},
		{"basic with an empty user", basic("", e.alice), 200},
		{"basic with a wrong password", basic("alice@example.com", "wrong-wrong-wrong"), 401},
		{"basic that is not base64", "Basic %%%", 401},
		{"unknown scheme", "Token " + e.alice, 401},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("GET", "/account", "", nil, "Authorization", tt.auth)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 401 && r.errorID(t) != "unauthorized" {
				t.Fatalf("error id: %s", r.body)
			}
		})
	}
}

func TestAccount(t *testing.T) {
	e := newEnv(t, api.Options{})
	acct := e.mustStatus(e.do("GET", "/account", e.alice, nil), 200).obj(t)
	for _, k := range []string{"id", "email", "created_at", "updated_at", "verified", "two_factor_authentication", "default_team", "federated"} {
		if _, ok := acct[k]; !ok {
			t.Errorf("account lacks %q: %v", k, acct)
		}
	}
	if acct["email"] != "alice@example.com" {
		t.Fatalf("email = %v", acct["email"])
	}
	t.Run("only admins create users", func(t *testing.T) {
		r := e.do("POST", "/users", e.alice, map[string]any{"email": "carol@example.com"})
		if r.status != 403 || r.errorID(t) != "forbidden" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("admin creates a user whose api_key works", func(t *testing.T) {
		var u struct {
			Email  string `json:"email"`
			APIKey string `json:"api_key"`
		}
		e.mustStatus(e.do("POST", "/users", e.admin, map[string]any{"email": "carol@example.com"}), 201).json(t, &u)
		got := e.mustStatus(e.do("GET", "/account", u.APIKey, nil), 200).obj(t)
		if got["email"] != "carol@example.com" {
			t.Fatalf("account = %v", got)
		}
	})
	t.Run("authorizations", func(t *testing.T) {
		var a struct {
			ID          string `json:"id"`
			AccessToken struct {
				Token string `json:"token"`
			} `json:"access_token"`
		}
		e.mustStatus(e.do("POST", "/oauth/authorizations", e.alice, map[string]any{"description": "ci"}), 201).json(t, &a)
		e.mustStatus(e.do("GET", "/account", a.AccessToken.Token, nil), 200)
		e.mustStatus(e.do("DELETE", "/oauth/authorizations/"+a.ID, e.alice, nil), 200)
		e.mustStatus(e.do("GET", "/account", a.AccessToken.Token, nil), 401)
	})
}

func TestApps(t *testing.T) {
	e := newEnv(t, api.Options{})
	app := e.createApp(e.alice, "alpha")
	for _, k := range []string{"id", "name", "owner", "stack", "build_stack", "region", "web_url", "git_url", "created_at", "updated_at", "released_at", "maintenance", "acm", "space", "team", "organization"} {
		if _, ok := app[k]; !ok {
			t.Errorf("app lacks %q", k)
		}
	}
	if app["owner"].(map[string]any)["email"] != "alice@example.com" || app["web_url"] != "http://alpha.localhost/" {
		t.Fatalf("app = %v", app)
	}
	id := app["id"].(string)

	tests := []struct {
		desc    string
		method  string
		path    string
		body    any
		status  int
		errorID string
	}{
		{"create without a name picks one", "POST", "/apps", nil, 201, ""},
		{"name taken", "POST", "/apps", map[string]any{"name": "alpha"}, 422, "invalid_params"},
		{"bad name", "POST", "/apps", map[string]any{"name": "Alpha_1"}, 422, "invalid_params"},
		{"name of the wrong type", "POST", "/apps", map[string]any{"name": 7}, 422, "invalid_params"},
		{"bad JSON", "POST", "/apps", `{"name":`, 400, "bad_request"},
		{"info by name", "GET", "/apps/alpha", nil, 200, ""},
		{"info by id", "GET", "/apps/" + id, nil, 200, ""},
		{"missing app", "GET", "/apps/nope", nil, 404, "not_found"},
		{"maintenance on", "PATCH", "/apps/alpha", map[string]any{"maintenance": true}, 200, ""},
		{"rename to a bad name", "PATCH", "/apps/alpha", map[string]any{"name": "-x"}, 422, "invalid_params"},
		{"rename", "PATCH", "/apps/alpha", map[string]any{"name": "beta"}, 200, ""},
		{"old name is gone", "GET", "/apps/alpha", nil, 404, "not_found"},
		{"unknown endpoint", "GET", "/nothing-here", nil, 404, "not_found"},
		{"unsupported API version", "GET", "/apps/beta", nil, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var hdr []string
			if tt.desc == "unsupported API version" {
				hdr = []string{"Accept", "application/vnd.heroku+json; version=2"}
			}
			r := e.do(tt.method, tt.path, e.alice, tt.body, hdr...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.errorID != "" && r.errorID(t) != tt.errorID {
				t.Fatalf("error id in %s, want %s", r.body, tt.errorID)
			}
		})
	}
	t.Run("rename moves the default domain", func(t *testing.T) {
		var ds []api.DomainJSON
		e.mustStatus(e.do("GET", "/apps/beta/domains", e.alice, nil), 200).json(t, &ds)
		if len(ds) != 1 || ds[0].Hostname != "beta.localhost" || ds[0].Kind != "heroku" {
			t.Fatalf("domains = %+v", ds)
		}
	})
	t.Run("name-type errors name the field", func(t *testing.T) {
		r := e.do("POST", "/apps", e.alice, map[string]any{"name": 7})
		if !strings.Contains(string(r.body), "name must be a string") {
			t.Fatalf("message does not name the field: %s", r.body)
		}
	})
	t.Run("delete", func(t *testing.T) {
		got := e.mustStatus(e.do("DELETE", "/apps/beta", e.alice, nil), 200).obj(t)
		if got["name"] != "beta" {
			t.Fatalf("deleted = %v", got)
		}
		e.mustStatus(e.do("GET", "/apps/beta", e.alice, nil), 404)
	})
}

func TestCrossTenant(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "alices")
	e.createApp(e.bob, "bobs")
	missing := e.do("GET", "/apps/no-such-app", e.bob, nil)

	for _, tt := range []struct {
		desc, method, path string
		body               any
	}{
		{"info", "GET", "/apps/alices", nil},
		{"update", "PATCH", "/apps/alices", map[string]any{"maintenance": true}},
		{"delete", "DELETE", "/apps/alices", nil},
		{"config vars", "GET", "/apps/alices/config-vars", nil},
		{"config set", "PATCH", "/apps/alices/config-vars", map[string]any{"X": "1"}},
		{"releases", "GET", "/apps/alices/releases", nil},
		{"formation", "GET", "/apps/alices/formation", nil},
		{"dynos", "GET", "/apps/alices/dynos", nil},
		{"domains", "POST", "/apps/alices/domains", map[string]any{"hostname": "steal.example.com"}},
		{"drains", "GET", "/apps/alices/log-drains", nil},
		{"collaborators", "POST", "/apps/alices/collaborators", map[string]any{"user": "bob@example.com"}},
	} {
		t.Run("bob cannot "+tt.desc, func(t *testing.T) {
			r := e.do(tt.method, tt.path, e.bob, tt.body)
			if r.status != 404 || r.errorID(t) != "not_found" {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if !bytes.Equal(r.body, missing.body) {
				t.Fatalf("answer differs from a missing app's (leaks existence): %s vs %s", r.body, missing.body)
			}
		})
	}
	t.Run("lists are per user", func(t *testing.T) {
		var apps []api.AppJSON
		e.mustStatus(e.do("GET", "/users/~/apps", e.bob, nil), 200).json(t, &apps)
		if len(apps) != 1 || apps[0].Name != "bobs" {
			t.Fatalf("bob sees %+v", apps)
		}
		e.mustStatus(e.do("GET", "/apps", e.bob, nil), 200).json(t, &apps)
		if len(apps) != 1 {
			t.Fatalf("bob's /apps = %d apps", len(apps))
		}
		e.mustStatus(e.do("GET", "/users/alice@example.com/apps", e.bob, nil), 404)
	})
	t.Run("admin sees all", func(t *testing.T) {
		e.mustStatus(e.do("GET", "/apps/alices", e.admin, nil), 200)
		var apps []api.AppJSON
		e.mustStatus(e.do("GET", "/apps", e.admin, nil), 200).json(t, &apps)
		if len(apps) != 2 {
			t.Fatalf("admin's /apps = %d apps", len(apps))
		}
	})
	t.Run("collaborators see the app but cannot delete it", func(t *testing.T) {
		e.mustStatus(e.do("POST", "/apps/alices/collaborators", e.alice, map[string]any{"user": "bob@example.com"}), 201)
		e.mustStatus(e.do("PATCH", "/apps/alices/config-vars", e.bob, map[string]any{"X": "1"}), 200)
		r := e.do("DELETE", "/apps/alices", e.bob, nil)
		if r.status != 403 || r.errorID(t) != "forbidden" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var apps []api.AppJSON
		e.mustStatus(e.do("GET", "/users/~/apps", e.bob, nil), 200).json(t, &apps)
		if len(apps) != 2 {
			t.Fatalf("bob sees %d apps", len(apps))
		}
	})
}

func TestConfigVarsAndReleases(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	var cfg map[string]string
	e.mustStatus(e.do("PATCH", "/apps/app/config-vars", e.alice, map[string]any{"FOO": "1", "BAR": "2"}), 200).json(t, &cfg)
	if cfg["FOO"] != "1" || cfg["BAR"] != "2" {
		t.Fatalf("config = %v", cfg)
	}
	cfg = nil
	e.mustStatus(e.do("PATCH", "/apps/app/config-vars", e.alice, map[string]any{"FOO": nil}), 200).json(t, &cfg)
	if _, ok := cfg["FOO"]; ok || cfg["BAR"] != "2" {
		t.Fatalf("after unset: %v", cfg)
	}
	for _, line := range []string{
		"app: Set BAR, FOO config vars by user alice@example.com",
		"app: Release v2 created by user alice@example.com",
		"app: Remove FOO config vars by user alice@example.com",
		"app: Release v3 created by user alice@example.com",
		"app: Release v1 created by user alice@example.com",
	} {
		if !e.log.has(line) {
			t.Errorf("no heroku[api] line %q in %q", line, e.log.lines)
		}
	}
	for _, tt := range []struct {
		desc    string
		body    any
		status  int
		errorID string
		mention string
	}{
		{"number value", `{"FOO": 1}`, 422, "invalid_params", "FOO must be a string"},
		{"not an object", `["FOO"]`, 422, "invalid_params", "expected an object, found array"},
		{"bad JSON", `{"FOO": "1"`, 400, "bad_request", "not valid JSON"},
		{"empty name", `{"": "x"}`, 422, "invalid_params", "empty"},
		{"name with =", `{"A=B": "x"}`, 422, "invalid_params", "A=B"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("PATCH", "/apps/app/config-vars", e.alice, tt.body)
			if r.status != tt.status || r.errorID(t) != tt.errorID || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s; want %d %s mentioning %q", r.status, r.body, tt.status, tt.errorID, tt.mention)
			}
		})
	}

	var rels []api.ReleaseJSON
	e.mustStatus(e.do("GET", "/apps/app/releases", e.alice, nil), 200).json(t, &rels)
	if len(rels) != 3 || rels[0].Description != "Initial release" || rels[1].Description != "Set BAR, FOO config vars" ||
		rels[2].Description != "Remove FOO config vars" || !rels[2].Current || rels[0].Current {
		t.Fatalf("releases = %+v", rels)
	}
	var rel api.ReleaseJSON
	e.mustStatus(e.do("GET", "/apps/app/releases/2", e.alice, nil), 200).json(t, &rel)
	if rel.Version != 2 || rel.User.Email != "alice@example.com" || rel.App.Name != "app" {
		t.Fatalf("release = %+v", rel)
	}
	e.mustStatus(e.do("GET", "/apps/app/releases/"+rel.ID, e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/app/releases/99", e.alice, nil), 404)

	t.Run("rollback", func(t *testing.T) {
		var rb api.ReleaseJSON
		e.mustStatus(e.do("POST", "/apps/app/releases", e.alice, map[string]any{"release": rel.ID}), 201).json(t, &rb)
		if rb.Version != 4 || rb.Description != "Rollback to v2" || !rb.Current {
			t.Fatalf("rollback = %+v", rb)
		}
		cfg = nil
		e.mustStatus(e.do("GET", "/apps/app/config-vars", e.alice, nil), 200).json(t, &cfg)
		if cfg["FOO"] != "1" {
			t.Fatalf("config after rollback = %v", cfg)
		}
		cfg = nil
		e.mustStatus(e.do("GET", "/apps/app/releases/3/config-vars", e.alice, nil), 200).json(t, &cfg)
		if _, ok := cfg["FOO"]; ok {
			t.Fatalf("v3 config = %v", cfg)
		}
		r := e.do("POST", "/apps/app/releases", e.alice, map[string]any{"release": "nope"})
		if r.status != 404 {
			t.Fatalf("rollback to a missing release: %d %s", r.status, r.body)
		}
	})
	t.Run("deploy a slug", func(t *testing.T) {
		r := e.do("POST", "/apps/app/slugs", e.alice, map[string]any{"commit": "0123456789abcdef"})
		if r.status != 422 || !strings.Contains(string(r.body), "process_types") {
			t.Fatalf("slug without process_types: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/apps/app/slugs", e.alice, map[string]any{"process_types": map[string]string{"web": "x"}, "checksum": "md5:1"})
		if r.status != 422 || !strings.Contains(string(r.body), "checksum") {
			t.Fatalf("bad checksum: %d %s", r.status, r.body)
		}
		var sl api.SlugJSON
		e.mustStatus(e.do("POST", "/apps/app/slugs", e.alice, map[string]any{
			"process_types": map[string]string{"web": "./server", "worker": "./work"}, "commit": "0123456789abcdef"}), 201).json(t, &sl)
		if sl.Blob.Method != "put" || sl.ProcessTypes["web"] != "./server" {
			t.Fatalf("slug = %+v", sl)
		}
		e.mustStatus(e.do("GET", "/apps/app/slugs/"+sl.ID, e.alice, nil), 200)
		var dep api.ReleaseJSON
		e.mustStatus(e.do("POST", "/apps/app/releases", e.alice, map[string]any{"slug": sl.ID}), 201).json(t, &dep)
		if dep.Slug == nil || dep.Slug.ID != sl.ID || dep.Description != "Deploy 01234567" {
			t.Fatalf("deploy = %+v", dep)
		}
		var fs []api.FormationJSON
		e.mustStatus(e.do("GET", "/apps/app/formation", e.alice, nil, "Range", "type .."), 200).json(t, &fs)
		if len(fs) != 2 || fs[0].Type != "web" || fs[0].Quantity != 1 || fs[1].Type != "worker" || fs[1].Quantity != 0 || fs[0].Command != "./server" {
			t.Fatalf("formation = %+v", fs)
		}
	})
}

// Concurrent config:set through the API: every change lands, each as its
// own release.
func TestConcurrentConfigSet(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.do("PATCH", "/apps/app/config-vars", e.alice, map[string]any{fmt.Sprintf("K%d", i): "v"})
			if r.status != 200 {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	var cfg map[string]string
	e.mustStatus(e.do("GET", "/apps/app/config-vars", e.alice, nil), 200).json(t, &cfg)
	if len(cfg) != n {
		t.Fatalf("%d vars, want %d", len(cfg), n)
	}
	var rels []api.ReleaseJSON
	e.mustStatus(e.do("GET", "/apps/app/releases", e.alice, nil), 200).json(t, &rels)
	if len(rels) != n+1 || rels[n].Version != n+1 {
		t.Fatalf("%d releases", len(rels))
	}
}

func TestPagination(t *testing.T) {
	e := newEnv(t, api.Options{})
	names := []string{"app-a", "app-b", "app-c", "app-d", "app-e"}
	for _, n := range names {
		e.createApp(e.alice, n)
	}
	follow := func(t *testing.T, rng string) ([]string, int) {
		var got []string
		pages := 0
		for {
			r := e.do("GET", "/apps", e.alice, nil, "Range", rng)
			pages++
			var apps []api.AppJSON
			r.json(t, &apps)
			for _, a := range apps {
				got = append(got, a.Name)
			}
			if r.status == 200 {
				if r.header.Get("Next-Range") != "" {
					t.Fatalf("200 with Next-Range %q", r.header.Get("Next-Range"))
				}
				return got, pages
			}
			if r.status != 206 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			rng = r.header.Get("Next-Range")
			if rng == "" {
				t.Fatal("206 without Next-Range")
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
	}
	tests := []struct {
		desc      string
		rng       string
		want      string
		wantPages int
	}{
		{"by name, 2 per page", "name ..; max=2", "app-a,app-b,app-c,app-d,app-e", 3},
		{"descending", "name ..; max=2, order=desc", "app-e,app-d,app-c,app-b,app-a", 3},
		{"descending, other separator", "name ..; order=desc; max=3", "app-e,app-d,app-c,app-b,app-a", 2},
		{"from a start", "name app-c..; max=10", "app-c,app-d,app-e", 1},
		{"exclusive start", "name ]app-c..", "app-d,app-e", 1},
		{"bounded", "name app-b..app-d", "app-b,app-c,app-d", 1},
		{"everything fits", "name ..; max=5", "app-a,app-b,app-c,app-d,app-e", 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, pages := follow(t, tt.rng)
			if strings.Join(got, ",") != tt.want || pages != tt.wantPages {
				t.Fatalf("got %v in %d pages, want %s in %d", got, pages, tt.want, tt.wantPages)
			}
		})
	}
	t.Run("Next-Range format", func(t *testing.T) {
		r := e.mustStatus(e.do("GET", "/apps", e.alice, nil, "Range", "name ..; max=2"), 206)
		if got := r.header.Get("Next-Range"); got != "name ]app-b..; max=2" {
			t.Fatalf("Next-Range = %q", got)
		}
	})
	t.Run("default page is 200, and max is capped at 200", func(t *testing.T) {
		var rels []api.ReleaseJSON
		for range 205 {
			e.mustStatus(e.do("PATCH", "/apps/app-a/config-vars", e.alice, map[string]any{"X": "y"}), 200)
		}
		r := e.mustStatus(e.do("GET", "/apps/app-a/releases", e.alice, nil), 206)
		r.json(t, &rels)
		if len(rels) != 200 || r.header.Get("Next-Range") != "version ]200..; max=200" {
			t.Fatalf("%d releases, Next-Range %q", len(rels), r.header.Get("Next-Range"))
		}
		r = e.mustStatus(e.do("GET", "/apps/app-a/releases", e.alice, nil, "Range", "version ..; max=1000"), 206)
		r.json(t, &rels)
		if len(rels) != 200 {
			t.Fatalf("max=1000 gave %d", len(rels))
		}
		r = e.mustStatus(e.do("GET", "/apps/app-a/releases", e.alice, nil, "Range", "version ..; max=15, order=desc"), 206)
		r.json(t, &rels)
		if len(rels) != 15 || rels[0].Version != 206 || r.header.Get("Next-Range") != "version ]192..; max=15, order=desc" {
			t.Fatalf("desc page: v%d.., Next-Range %q", rels[0].Version, r.header.Get("Next-Range"))
		}
	})
	for _, bad := range []string{"size ..", "name ..; max=0", "name ..; max=x", "name ..; order=up", "name ..; page=2", "name a-b"} {
		t.Run("bad range "+bad, func(t *testing.T) {
			r := e.do("GET", "/apps", e.alice, nil, "Range", bad)
			if r.status != 416 || r.errorID(t) != "requested_range_not_satisfiable" {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}

func TestFormation(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	var sl api.SlugJSON
	e.mustStatus(e.do("POST", "/apps/app/slugs", e.alice, map[string]any{"process_types": map[string]string{"web": "./web", "worker": "./w"}}), 201).json(t, &sl)
	e.mustStatus(e.do("POST", "/apps/app/releases", e.alice, map[string]any{"slug": sl.ID}), 201)
	tests := []struct {
		desc    string
		method  string
		path    string
		body    any
		status  int
		mention string
	}{
		{"info", "GET", "/apps/app/formation/web", nil, 200, `"type":"web"`},
		{"info of a missing type", "GET", "/apps/app/formation/clock", nil, 404, "process type"},
		{"scale one (quantity as a string, as the CLI sends)", "PATCH", "/apps/app/formation/web", map[string]any{"quantity": "3"}, 200, `"quantity":3`},
		{"resize", "PATCH", "/apps/app/formation/web", map[string]any{"size": "Standard-2X"}, 200, `"size":"standard-2x"`},
		{"batch", "PATCH", "/apps/app/formation", map[string]any{"updates": []any{map[string]any{"type": "web", "quantity": 2}, map[string]any{"type": "worker", "quantity": 1}}}, 200, `"quantity":1`},
		{"batch with an unknown type changes nothing", "PATCH", "/apps/app/formation", map[string]any{"updates": []any{map[string]any{"type": "web", "quantity": 9}, map[string]any{"type": "clock", "quantity": 1}}}, 404, "clock"},
		{"bad size names the field", "PATCH", "/apps/app/formation", map[string]any{"updates": []any{map[string]any{"type": "web", "size": "huge"}}}, 422, "updates[0].size"},
		{"negative quantity", "PATCH", "/apps/app/formation/web", map[string]any{"quantity": -1}, 422, "quantity"},
		{"quantity not a number", "PATCH", "/apps/app/formation/web", map[string]any{"quantity": "lots"}, 422, "quantity"},
		{"empty batch", "PATCH", "/apps/app/formation", map[string]any{"updates": []any{}}, 422, "updates"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do(tt.method, tt.path, e.alice, tt.body)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s; want %d mentioning %q", r.status, r.body, tt.status, tt.mention)
			}
		})
	}
	var f api.FormationJSON
	e.mustStatus(e.do("GET", "/apps/app/formation/web", e.alice, nil), 200).json(t, &f)
	if f.Quantity != 2 {
		t.Fatalf("web quantity %d after a failed batch, want 2", f.Quantity)
	}
	if !e.log.has("app: Scaled to web@2:standard-2x worker@1:basic by user alice@example.com") {
		t.Fatalf("no scale line in %q", e.log.lines)
	}
}

// fakeDynos records what the API asks of the dyno manager.
type fakeDynos struct {
	mu    sync.Mutex
	calls []string
	st    store.Store
}

func (f *fakeDynos) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeDynos) Converge(_ context.Context, appID string) error { f.record("converge"); return nil }
func (f *fakeDynos) Run(ctx context.Context, app core.App, req api.RunRequest) (core.Dyno, error) {
	f.record("run " + req.Command)
	return f.st.PutDyno(ctx, core.Dyno{AppID: app.ID, Name: "run.1234", Type: "run", Command: req.Command, State: core.DynoStarting})
}
func (f *fakeDynos) Restart(_ context.Context, _ core.App, target string) error {
	f.record("restart " + target)
	return nil
}
func (f *fakeDynos) Stop(_ context.Context, _ core.App, target string) error {
	f.record("stop " + target)
	return nil
}

func TestDynos(t *testing.T) {
	t.Run("without a dyno manager one-off dynos are unavailable", func(t *testing.T) {
		e := newEnv(t, api.Options{})
		e.createApp(e.alice, "app")
		r := e.do("POST", "/apps/app/dynos", e.alice, map[string]any{"command": "bash"})
		if r.status != 503 || r.errorID(t) != "unavailable" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		e.mustStatus(e.do("GET", "/apps/app/dynos", e.alice, nil), 200)
	})
	fd := &fakeDynos{}
	e := newEnv(t, api.Options{Dynos: fd})
	fd.st = e.st
	e.createApp(e.alice, "app")
	e.mustStatus(e.do("POST", "/apps/app/dynos", e.alice, map[string]any{}), 422)
	e.mustStatus(e.do("POST", "/apps/app/dynos", e.alice, map[string]any{"command": "bash", "size": "nano"}), 422)
	var d api.DynoJSON
	e.mustStatus(e.do("POST", "/apps/app/dynos", e.alice, map[string]any{"command": "bash", "attach": true}), 201).json(t, &d)
	if d.Name != "run.1234" || d.State != "starting" || d.App.Name != "app" {
		t.Fatalf("dyno = %+v", d)
	}
	var ds []api.DynoJSON
	e.mustStatus(e.do("GET", "/apps/app/dynos", e.alice, nil), 200).json(t, &ds)
	if len(ds) != 1 {
		t.Fatalf("dynos = %+v", ds)
	}
	e.mustStatus(e.do("GET", "/apps/app/dynos/run.1234", e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/app/dynos/"+d.ID, e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/app/dynos/web.9", e.alice, nil), 404)
	e.mustStatus(e.do("DELETE", "/apps/app/dynos", e.alice, nil), 202)
	e.mustStatus(e.do("DELETE", "/apps/app/dynos/web.1", e.alice, nil), 202)
	e.mustStatus(e.do("POST", "/apps/app/dynos/web.1/actions/stop", e.alice, nil), 202)
	e.mustStatus(e.do("PATCH", "/apps/app/config-vars", e.alice, map[string]any{"A": "b"}), 200)
	want := "run bash,restart ,restart web.1,stop web.1,converge"
	if got := strings.Join(fd.calls, ","); got != want {
		t.Fatalf("dyno manager calls %q, want %q", got, want)
	}
}

type fakeBuilder struct{ builds []core.Build }

func (f *fakeBuilder) Build(_ context.Context, _ core.App, b core.Build) error {
	f.builds = append(f.builds, b)
	return nil
}

func TestBuilds(t *testing.T) {
	fb := &fakeBuilder{}
	e := newEnv(t, api.Options{Builder: fb})
	e.createApp(e.alice, "app")
	for _, tt := range []struct {
		desc    string
		body    any
		mention string
	}{
		{"no source", map[string]any{}, "source_blob.url"},
		{"relative source", map[string]any{"source_blob": map[string]any{"url": "src.tgz"}}, "source_blob.url"},
		{"buildpack without url or name", map[string]any{"source_blob": map[string]any{"url": "https://x/src.tgz"}, "buildpacks": []any{map[string]any{}}}, "buildpacks[0]"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("POST", "/apps/app/builds", e.alice, tt.body)
			if r.status != 422 || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	var b api.BuildJSON
	e.mustStatus(e.do("POST", "/apps/app/builds", e.alice, map[string]any{
		"source_blob": map[string]any{"url": "https://example.com/src.tgz"},
		"buildpacks":  []any{map[string]any{"url": "builtin:go"}}}), 201).json(t, &b)
	if b.Status != "pending" || b.User.Email != "alice@example.com" || len(fb.builds) != 1 || fb.builds[0].ID != b.ID || b.Buildpacks[0].URL != "builtin:go" {
		t.Fatalf("build = %+v, builder saw %+v", b, fb.builds)
	}
	e.mustStatus(e.do("GET", "/apps/app/builds/"+b.ID, e.alice, nil), 200)
	var bs []api.BuildJSON
	e.mustStatus(e.do("GET", "/apps/app/builds", e.alice, nil), 200).json(t, &bs)
	if len(bs) != 1 {
		t.Fatalf("builds = %+v", bs)
	}
}

// fakeAddons provisions "heroku-postgresql" only.
type fakeAddons struct{ deprovisioned []string }

func (f *fakeAddons) Provision(_ context.Context, app core.App, req api.AddonRequest) (api.Provisioned, error) {
	if len(req.Config) > 0 && (req.Config["fork"] != "true" || req.Config["version"] != "16") {
		return api.Provisioned{}, fmt.Errorf("config %v: %w", req.Config, core.ErrInvalid)
	}
	if !strings.HasPrefix(req.Plan, "heroku-postgresql") {
		return api.Provisioned{}, fmt.Errorf("couldn't find either the add-on service or the add-on plan: %w", core.ErrNotFound)
	}
	return api.Provisioned{
		Addon:  core.Addon{Broker: "builtin:postgres", Service: "heroku-postgresql", Plan: "essential-0", ServiceID: "svc", PlanID: "plan"},
		Config: map[string]string{"DATABASE_URL": "postgres://u:p@127.0.0.1/" + app.Name}, Message: "Database has been created",
	}, nil
}

func (f *fakeAddons) Deprovision(_ context.Context, _ core.App, a core.Addon) error {
	f.deprovisioned = append(f.deprovisioned, a.Name)
	return nil
}

func TestAddons(t *testing.T) {
	t.Run("without brokers no plan is found", func(t *testing.T) {
		e := newEnv(t, api.Options{})
		e.createApp(e.alice, "app")
		r := e.do("POST", "/apps/app/addons", e.alice, map[string]any{"plan": "heroku-postgresql"})
		if r.status != 404 || r.errorID(t) != "not_found" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		e.mustStatus(e.do("GET", "/apps/app/addons", e.alice, nil), 200)
	})
	fa := &fakeAddons{}
	e := newEnv(t, api.Options{Addons: fa})
	e.createApp(e.alice, "app")
	e.createApp(e.alice, "other")
	e.createApp(e.bob, "bobs")
	e.mustStatus(e.do("POST", "/apps/app/addons", e.alice, map[string]any{}), 422)
	e.mustStatus(e.do("POST", "/apps/app/addons", e.alice, map[string]any{"plan": "heroku-redis"}), 404)
	var ad api.AddonJSON
	// The Heroku CLI sends the plan as {"name": …} and flags as config.
	e.mustStatus(e.do("POST", "/apps/app/addons", e.alice, map[string]any{"plan": map[string]any{"name": "heroku-postgresql:essential-0"},
		"name": "db-one", "config": map[string]any{"fork": true, "version": "16"}, "attachment": map[string]any{}}), 201).json(t, &ad)
	if ad.Name != "db-one" || ad.Plan.Name != "heroku-postgresql:essential-0" || ad.State != "provisioned" || len(ad.ConfigVars) != 1 || ad.ConfigVars[0] != "DATABASE_URL" {
		t.Fatalf("add-on = %+v", ad)
	}
	var cfg map[string]string
	e.mustStatus(e.do("GET", "/apps/app/config-vars", e.alice, nil), 200).json(t, &cfg)
	if cfg["DATABASE_URL"] == "" {
		t.Fatalf("config = %v", cfg)
	}
	var rels []api.ReleaseJSON
	e.mustStatus(e.do("GET", "/apps/app/releases", e.alice, nil), 200).json(t, &rels)
	last := rels[len(rels)-1]
	if last.Description != "Attach DATABASE (@ref:db-one)" || len(last.AddonPlanNames) != 1 {
		t.Fatalf("release = %+v", last)
	}
	e.mustStatus(e.do("GET", "/addons/db-one", e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/app/addons/"+ad.ID, e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/other/addons/db-one", e.alice, nil), 404)
	e.mustStatus(e.do("GET", "/addons/db-one", e.bob, nil), 404)
	var all []api.AddonJSON
	e.mustStatus(e.do("GET", "/addons", e.bob, nil), 200).json(t, &all)
	if len(all) != 0 {
		t.Fatalf("bob sees %d add-ons", len(all))
	}
	e.mustStatus(e.do("POST", "/apps/app/addons", e.alice, map[string]any{"plan": "heroku-postgresql", "name": "db-one"}), 422)

	t.Run("attach to another app", func(t *testing.T) {
		r := e.do("POST", "/addon-attachments", e.bob, map[string]any{"addon": "db-one", "app": "bobs"})
		if r.status != 404 {
			t.Fatalf("bob attached alice's add-on: %d %s", r.status, r.body)
		}
		var at api.AttachmentJSON
		e.mustStatus(e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": "db-one", "app": "other", "name": "SHARED_DB"}), 201).json(t, &at)
		if at.Name != "SHARED_DB" || at.App.Name != "other" || at.Addon.App.Name != "app" {
			t.Fatalf("attachment = %+v", at)
		}
		e.mustStatus(e.do("GET", "/apps/other/config-vars", e.alice, nil), 200).json(t, &cfg)
		if !strings.HasPrefix(cfg["SHARED_DB_URL"], "postgres://") {
			t.Fatalf("other's config = %v", cfg)
		}
		var ats []api.AttachmentJSON
		e.mustStatus(e.do("GET", "/addons/db-one/addon-attachments", e.alice, nil), 200).json(t, &ats)
		if len(ats) != 2 {
			t.Fatalf("attachments = %+v", ats)
		}
		e.mustStatus(e.do("GET", "/apps/other/addon-attachments/SHARED_DB", e.alice, nil), 200)
		e.mustStatus(e.do("GET", "/addon-attachments/"+at.ID, e.bob, nil), 404)
		e.mustStatus(e.do("DELETE", "/addon-attachments/"+at.ID, e.alice, nil), 200)
		cfg = nil
		e.mustStatus(e.do("GET", "/apps/other/config-vars", e.alice, nil), 200).json(t, &cfg)
		if _, ok := cfg["SHARED_DB_URL"]; ok {
			t.Fatalf("detached var remains: %v", cfg)
		}
	})
	t.Run("deleting the owning app detaches it elsewhere", func(t *testing.T) {
		e.createApp(e.alice, "owner2")
		e.createApp(e.alice, "consumer")
		e.mustStatus(e.do("POST", "/apps/owner2/addons", e.alice, map[string]any{"plan": "heroku-postgresql", "name": "db-two"}), 201)
		e.mustStatus(e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": "db-two", "app": "consumer"}), 201)
		cfg = nil
		e.mustStatus(e.do("GET", "/apps/consumer/config-vars", e.alice, nil), 200).json(t, &cfg)
		if cfg["DATABASE_URL"] == "" {
			t.Fatalf("consumer config = %v", cfg)
		}
		e.mustStatus(e.do("DELETE", "/apps/owner2", e.alice, nil), 200)
		cfg = nil
		e.mustStatus(e.do("GET", "/apps/consumer/config-vars", e.alice, nil), 200).json(t, &cfg)
		if len(cfg) != 0 {
			t.Fatalf("consumer config after the owning app was deleted = %v", cfg)
		}
		var ats []api.AttachmentJSON
		e.mustStatus(e.do("GET", "/apps/consumer/addon-attachments", e.alice, nil), 200).json(t, &ats)
		if len(ats) != 0 {
			t.Fatalf("attachments remain: %+v", ats)
		}
	})
	t.Run("destroy", func(t *testing.T) {
		got := e.mustStatus(e.do("DELETE", "/apps/app/addons/db-one", e.alice, nil), 200).obj(t)
		if got["state"] != "deprovisioned" || fa.deprovisioned[len(fa.deprovisioned)-1] != "db-one" {
			t.Fatalf("destroy = %v, deprovisioned %v", got, fa.deprovisioned)
		}
		cfg = nil
		e.mustStatus(e.do("GET", "/apps/app/config-vars", e.alice, nil), 200).json(t, &cfg)
		if _, ok := cfg["DATABASE_URL"]; ok {
			t.Fatalf("DATABASE_URL remains: %v", cfg)
		}
	})
}

type fakeLogs struct{ reqs []api.LogSessionRequest }

func (f *fakeLogs) NewLogSession(_ context.Context, app core.App, req api.LogSessionRequest) (string, error) {
	f.reqs = append(f.reqs, req)
	return "http://127.0.0.1:5001/sessions/" + app.Name, nil
}

func TestLogDrainsAndSessions(t *testing.T) {
	fl := &fakeLogs{}
	e := newEnv(t, api.Options{LogSessions: fl})
	e.createApp(e.alice, "app")
	for _, tt := range []struct {
		desc, url string
		status    int
	}{
		{"syslog", "syslog://logs.example.com:514", 201},
		{"syslog+tls", "syslog+tls://logs.example.com:6514", 201},
		{"https", "https://user:pass@logs.example.com/drain", 201},
		{"duplicate", "syslog://logs.example.com:514", 422},
		{"syslog without a port", "syslog://logs.example.com", 422},
		{"ftp", "ftp://logs.example.com/", 422},
		{"not a URL", "::", 422},
		{"empty", "", 422},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("POST", "/apps/app/log-drains", e.alice, map[string]any{"url": tt.url})
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	var ds []api.DrainJSON
	e.mustStatus(e.do("GET", "/apps/app/log-drains", e.alice, nil), 200).json(t, &ds)
	if len(ds) != 3 || !strings.HasPrefix(ds[0].Token, "d.") {
		t.Fatalf("drains = %+v", ds)
	}
	e.mustStatus(e.do("GET", "/apps/app/log-drains/"+ds[0].Token, e.alice, nil), 200)
	e.mustStatus(e.do("DELETE", "/apps/app/log-drains/"+ds[0].ID, e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/app/log-drains/"+ds[0].ID, e.alice, nil), 404)

	var ls api.LogSessionJSON
	e.mustStatus(e.do("POST", "/apps/app/log-sessions", e.alice, map[string]any{"tail": true, "lines": 100, "source": "app", "dyno": "web.1"}), 201).json(t, &ls)
	if ls.LogplexURL != "http://127.0.0.1:5001/sessions/app" || len(fl.reqs) != 1 || !fl.reqs[0].Tail || fl.reqs[0].Lines != 100 {
		t.Fatalf("session = %+v, reqs %+v", ls, fl.reqs)
	}
	e.mustStatus(e.do("POST", "/apps/app/log-sessions", e.alice, map[string]any{"lines": 5000}), 422)
	e.mustStatus(e.do("POST", "/apps/app/log-sessions", e.alice, map[string]any{"source": "kernel"}), 422)

	t.Run("without Logplex", func(t *testing.T) {
		e := newEnv(t, api.Options{})
		e.createApp(e.alice, "app")
		e.mustStatus(e.do("POST", "/apps/app/log-sessions", e.alice, nil), 503)
	})
}

func TestDomains(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	e.createApp(e.bob, "bobs")
	for _, tt := range []struct {
		desc, host string
		token      string
		status     int
	}{
		{"custom", "www.example.com", e.alice, 201},
		{"wildcard", "*.example.org", e.alice, 201},
		{"upper case is folded", "API.Example.com", e.alice, 201},
		{"taken by this app", "www.example.com", e.alice, 422},
		{"taken by another app", "www.example.com", e.bob, 422},
		{"bad label", "-bad-.example.com", e.alice, 422},
		{"single label", "localhost", e.alice, 422},
		{"space", "a b.example.com", e.alice, 422},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			app := "app"
			if tt.token == e.bob {
				app = "bobs"
			}
			r := e.do("POST", "/apps/"+app+"/domains", tt.token, map[string]any{"hostname": tt.host, "sni_endpoint": nil})
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	var ds []api.DomainJSON
	e.mustStatus(e.do("GET", "/apps/app/domains", e.alice, nil, "Range", "hostname .."), 200).json(t, &ds)
	if len(ds) != 4 || ds[0].Hostname != "*.example.org" || ds[1].Hostname != "api.example.com" || ds[0].CNAME == nil || *ds[0].CNAME != "app.localhost" {
		t.Fatalf("domains = %+v", ds)
	}
	r := e.do("DELETE", "/apps/app/domains/app.localhost", e.alice, nil)
	if r.status != 422 {
		t.Fatalf("deleting the default domain: %d %s", r.status, r.body)
	}
	e.mustStatus(e.do("DELETE", "/apps/app/domains/www.example.com", e.alice, nil), 200)
	e.mustStatus(e.do("POST", "/apps/bobs/domains", e.bob, map[string]any{"hostname": "www.example.com"}), 201)
}

func TestCollaborators(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	for _, tt := range []struct {
		desc   string
		token  string
		user   string
		status int
	}{
		{"add by email", e.alice, "bob@example.com", 201},
		{"add twice", e.alice, "bob@example.com", 422},
		{"add the owner", e.alice, "alice@example.com", 422},
		{"unknown user", e.alice, "nobody@example.com", 404},
		{"no user", e.alice, "", 422},
		{"a collaborator cannot add others", e.bob, "admin@paasd.local", 403},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("POST", "/apps/app/collaborators", tt.token, map[string]any{"user": tt.user})
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	var cs []api.CollaboratorJSON
	e.mustStatus(e.do("GET", "/apps/app/collaborators", e.alice, nil, "Range", "email .."), 200).json(t, &cs)
	if len(cs) != 2 || cs[0].User.Email != "alice@example.com" || cs[0].Role != "owner" || cs[1].Role != "collaborator" {
		t.Fatalf("collaborators = %+v", cs)
	}
	e.mustStatus(e.do("GET", "/apps/app/collaborators/bob@example.com", e.alice, nil), 200)
	e.mustStatus(e.do("DELETE", "/apps/app/collaborators/bob@example.com", e.bob, nil), 200) // leave
	e.mustStatus(e.do("GET", "/apps/app", e.bob, nil), 404)
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, api.Options{RateLimit: 3})
	for i := range 3 {
		r := e.mustStatus(e.do("GET", "/account", e.alice, nil), 200)
		if got := r.header.Get("RateLimit-Remaining"); got != fmt.Sprint(2-i) {
			t.Fatalf("RateLimit-Remaining = %q", got)
		}
	}
	r := e.do("GET", "/account", e.alice, nil)
	if r.status != 429 || r.errorID(t) != "rate_limit" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.mustStatus(e.do("GET", "/account", e.bob, nil), 200) // per user
}

func TestRequestCounts(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := api.New(st, api.Options{})
	for range 2 {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/account", nil))
	}
	if got := s.RequestCounts()[401]; got != 2 {
		t.Fatalf("401 count = %d", got)
	}
}

// TestJSONShapes checks every resource carries the attributes of Heroku's
// Platform API schema (as the Heroku CLI's @heroku-cli/schema types list
// them), so that clients written against Heroku find them.
func TestJSONShapes(t *testing.T) {
	fd := &fakeDynos{}
	e := newEnv(t, api.Options{Dynos: fd, Addons: &fakeAddons{}, LogSessions: &fakeLogs{}, Builder: &fakeBuilder{}})
	fd.st = e.st
	e.createApp(e.alice, "app")
	slug := e.mustStatus(e.do("POST", "/apps/app/slugs", e.alice, map[string]any{"process_types": map[string]string{"web": "./web"}}), 201).obj(t)
	release := e.mustStatus(e.do("POST", "/apps/app/releases", e.alice, map[string]any{"slug": slug["id"]}), 201).obj(t)
	addon := e.mustStatus(e.do("POST", "/apps/app/addons", e.alice, map[string]any{"plan": "heroku-postgresql"}), 201).obj(t)
	var ats []map[string]any
	e.mustStatus(e.do("GET", "/apps/app/addon-attachments", e.alice, nil), 200).json(t, &ats)
	var fs []map[string]any
	e.mustStatus(e.do("GET", "/apps/app/formation", e.alice, nil), 200).json(t, &fs)
	e.mustStatus(e.do("POST", "/apps/app/collaborators", e.alice, map[string]any{"user": "bob@example.com"}), 201)
	var cs []map[string]any
	e.mustStatus(e.do("GET", "/apps/app/collaborators", e.alice, nil), 200).json(t, &cs)

	shapes := []struct {
		desc string
		obj  map[string]any
		keys string
	}{
		{"release", release, "addon_plan_names app created_at description id updated_at slug status user version current output_stream_url"},
		{"formation", fs[0], "app command created_at id quantity size type updated_at"},
		{"dyno", e.mustStatus(e.do("POST", "/apps/app/dynos", e.alice, map[string]any{"command": "bash"}), 201).obj(t),
			"attach_url command created_at id name release app size state type updated_at"},
		{"build", e.mustStatus(e.do("POST", "/apps/app/builds", e.alice, map[string]any{"source_blob": map[string]any{"url": "https://x/s.tgz"}}), 201).obj(t),
			"app buildpacks created_at id output_stream_url source_blob release slug stack status updated_at user"},
		{"slug", slug, "blob buildpack_provided_description checksum commit commit_description created_at id process_types size stack updated_at"},
		{"add-on", addon, "actions addon_service billing_entity app billed_price config_vars created_at id name plan provider_id state updated_at web_url"},
		{"add-on attachment", ats[0], "addon app created_at id name namespace updated_at web_url log_input_url"},
		{"log drain", e.mustStatus(e.do("POST", "/apps/app/log-drains", e.alice, map[string]any{"url": "syslog://h:514"}), 201).obj(t),
			"addon created_at id token updated_at url"},
		{"log session", e.mustStatus(e.do("POST", "/apps/app/log-sessions", e.alice, nil), 201).obj(t), "created_at id logplex_url updated_at"},
		{"domain", e.mustStatus(e.do("POST", "/apps/app/domains", e.alice, map[string]any{"hostname": "www.example.com"}), 201).obj(t),
			"acm_status acm_status_reason app cname created_at hostname id kind updated_at status"},
		{"collaborator", cs[1], "app created_at id permissions role updated_at user"},
	}
	for _, sh := range shapes {
		t.Run(sh.desc, func(t *testing.T) {
			for _, k := range strings.Fields(sh.keys) {
				if _, ok := sh.obj[k]; !ok {
					t.Errorf("%s lacks %q: %v", sh.desc, k, sh.obj)
				}
			}
			if id, _ := sh.obj["id"].(string); len(id) != 36 {
				t.Errorf("%s id %q is not a UUID", sh.desc, id)
			}
		})
	}
}
