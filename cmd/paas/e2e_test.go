package main_test

// End-to-end tests: the built paas binary against a real paasd (core/daemon,
// in-process on 127.0.0.1:0 with a temporary data dir and its bbolt store).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/runtimes/runc"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core/daemon"
	"github.com/paasd/paasd/internal/testenv"
)

var paasBin string

func TestMain(m *testing.M) {
	// paasd runs in this test binary: it may be re-executed as a runc
	// container's init or as a git push's pre-receive hook.
	runc.Init()
	build.MaybeRunHook()
	dir, err := os.MkdirTemp("", "paas-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	paasBin = filepath.Join(dir, "paas")
	if out, err := exec.Command("go", "build", "-o", paasBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects paasd's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// platform is a running paasd and a user environment for paas.
type platform struct {
	t     testing.TB
	url   string
	token string
	home  string
	dir   string // working directory for paas (a git repository)
	data  string // paasd's data dir
	env   []string
}

func startPaasd(t testing.TB, extra ...string) *platform {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		args := append([]string{"--data", data, "--api-addr", "127.0.0.1:0", "--router-addr", "127.0.0.1:0", "--runtime", "builtin:process"}, extra...)
		done <- daemon.Run(ctx, args, io.Discard, logs,
			daemon.Options{Ready: func(addr string) { ready <- addr }})
	}()
	p := &platform{t: t, home: t.TempDir(), dir: t.TempDir(), data: data}
	select {
	case addr := <-ready:
		p.url = "http://" + addr
	case code := <-done:
		t.Fatalf("paasd exited with %d: %s", code, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("paasd did not start: %s", logs.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Errorf("paasd did not stop")
		}
	})
	tok, err := os.ReadFile(filepath.Join(data, daemon.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	p.token = strings.TrimSpace(string(tok))
	p.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.home, "TZ=UTC", "PAAS_API_URL=" + p.url, "PAAS_API_KEY=" + p.token,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com"}
	return p
}

// result is one paas run.
type result struct {
	out, err string
	code     int
}

// run runs the paas binary with args (and stdin, when given).
func (p *platform) run(stdin string, env []string, args ...string) result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, paasBin, args...)
	cmd.Dir = p.dir
	cmd.Env = append(append([]string{}, p.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("paas %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs paas and fails the test unless it exits 0.
func (p *platform) ok(args ...string) result {
	p.t.Helper()
	r := p.run("", nil, args...)
	if r.code != 0 {
		p.t.Fatalf("paas %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

// fails runs paas and fails the test unless it exits with code.
func (p *platform) fails(code int, args ...string) result {
	p.t.Helper()
	r := p.run("", nil, args...)
	if r.code != code {
		p.t.Fatalf("paas %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	return r
}

// api calls the Platform API directly (test setup only).
func (p *platform) api(method, path string, body any, out any) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode > 299 {
		p.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *platform) gitInit() {
	p.t.Helper()
	testenv.NeedCommand(p.t, "git")
	cmd := exec.Command("git", "init", "-q", p.dir)
	cmd.Env = p.env
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("git init: %v %s", err, out)
	}
}

func (p *platform) gitRemotes() string {
	p.t.Helper()
	cmd := exec.Command("git", "remote", "-v")
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git remote: %v %s", err, out)
	}
	return string(out)
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func TestAppsLifecycle(t *testing.T) {
	p := startPaasd(t)
	p.gitInit()

	r := p.ok("apps:create", "myapp")
	contains(t, "apps:create stderr", r.err, "Creating ⬢ myapp... done")
	contains(t, "apps:create stdout", r.out, p.url+"/myapp.git", " | ")
	contains(t, "git remotes", p.gitRemotes(), "paas\t"+p.url+"/myapp.git")

	// Inside the repository the app comes from the paas remote.
	r = p.ok("apps:info")
	contains(t, "apps:info", r.out, "=== myapp\n", "Git URL:", p.url+"/myapp.git", "Owner:       admin@paasd.local", "Stack:")
	r = p.ok("apps:info", "--json")
	var info map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.out), &info); err != nil {
		t.Fatalf("apps:info --json: %v\n%s", err, r.out)
	}
	for _, k := range []string{"app", "addons", "collaborators", "dynos", "formation", "domains"} {
		if _, ok := info[k]; !ok {
			t.Fatalf("apps:info --json has no %q: %s", k, r.out)
		}
	}

	if r = p.ok("open", "/health"); !regexp.MustCompile(`^http://myapp\.localhost:[0-9]+/health\n$`).MatchString(r.out) {
		t.Fatalf("open = %q", r.out)
	}
	r = p.ok("apps")
	if r.out != "=== admin@paasd.local Apps\nmyapp\n" {
		t.Fatalf("apps = %q", r.out)
	}
	r = p.ok("apps", "--json")
	var apps []map[string]any
	if err := json.Unmarshal([]byte(r.out), &apps); err != nil || len(apps) != 1 || apps[0]["name"] != "myapp" {
		t.Fatalf("apps --json: %v %s", err, r.out)
	}

	r = p.ok("apps:rename", "newname")
	contains(t, "apps:rename stderr", r.err, "Renaming myapp to newname... done", "Git remote paas updated")
	contains(t, "git remotes after rename", p.gitRemotes(), p.url+"/newname.git")

	// A name that is taken: the API's message, Heroku style.
	p.ok("create", "other", "--no-remote")
	r = p.fails(1, "apps:rename", "other")
	contains(t, "rename to a taken name", r.err, " ▸    ")

	// git:remote adds a remote; -r picks the app from it.
	r = p.ok("git:remote", "-a", "other", "-r", "staging")
	if r.out != "set git remote staging to "+p.url+"/other.git\n" {
		t.Fatalf("git:remote = %q", r.out)
	}
	if r = p.ok("apps:info", "-r", "staging"); !strings.HasPrefix(r.out, "=== other\n") {
		t.Fatalf("apps:info -r staging = %q", r.out)
	}
	r = p.fails(1, "apps:info", "-r", "nosuch")
	contains(t, "unknown remote", r.err, `there is no git remote named "nosuch"`)

	// destroy asks; a wrong answer aborts and keeps the app.
	r = p.run("nope\n", nil, "apps:destroy")
	if r.code != 1 {
		t.Fatalf("apps:destroy with a wrong confirmation exited %d", r.code)
	}
	contains(t, "destroy prompt", r.err, "WARNING: This will delete ⬢ newname including all add-ons.", "Confirmation did not match newname. Aborted.")
	p.ok("apps:info", "-a", "newname")
	r = p.run("newname\n", nil, "apps:destroy")
	contains(t, "destroy by prompt", r.err, "Destroying ⬢ newname (including all add-ons)... done")
	if strings.Contains(p.gitRemotes(), "newname") {
		t.Fatalf("the destroyed app's remote is still there: %s", p.gitRemotes())
	}
	p.ok("destroy", "other", "--confirm", "other")
	r = p.ok("apps")
	contains(t, "apps after destroy", r.out, "You have no apps.")
}

func TestDidYouMean(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "myapp")
	r := p.fails(1, "config", "-a", "myap")
	if r.err != " ▸    Couldn't find that app.\n ▸    did you mean 'myapp'?\n" {
		t.Fatalf("stderr = %q", r.err)
	}
	r = p.fails(1, "config", "-a", "zzzzzzzzzz")
	if r.err != " ▸    Couldn't find that app.\n" {
		t.Fatalf("stderr = %q", r.err)
	}
	// No app anywhere: a clear error.
	r = p.fails(1, "config")
	contains(t, "no app", r.err, "No app specified.")
	// Usage errors exit 2.
	r = p.fails(2, "config:set", "-a", "myapp", "NOEQUALS")
	contains(t, "bad config:set", r.err, "NOEQUALS is invalid. Must be in the format FOO=bar.")
	p.fails(2, "ps:scale", "-a", "myapp", "web=-2")
	p.fails(2, "no-such-command")
	p.fails(2, "apps", "--no-such-flag")
}

func TestConfigReleasesRollback(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "cfg")
	r := p.ok("config:set", "-a", "cfg", "FOO=bar", "URL=postgres://u:p@h/db?x=1")
	contains(t, "config:set stderr", r.err, "Setting FOO, URL and restarting ⬢ cfg... done, v2")
	if r.out != "FOO: bar\nURL: postgres://u:p@h/db?x=1\n" {
		t.Fatalf("config:set stdout = %q", r.out)
	}
	if r = p.ok("config:get", "-a", "cfg", "URL"); r.out != "postgres://u:p@h/db?x=1\n" {
		t.Fatalf("config:get = %q", r.out)
	}
	if r = p.ok("config", "-a", "cfg"); r.out != "=== cfg Config Vars\nFOO: bar\nURL: postgres://u:p@h/db?x=1\n" {
		t.Fatalf("config = %q", r.out)
	}
	if r = p.ok("config", "-a", "cfg", "--shell"); r.out != "FOO=bar\nURL='postgres://u:p@h/db?x=1'\n" {
		t.Fatalf("config --shell = %q", r.out)
	}
	r = p.ok("config", "-a", "cfg", "--json")
	var vars map[string]string
	if err := json.Unmarshal([]byte(r.out), &vars); err != nil || vars["FOO"] != "bar" {
		t.Fatalf("config --json = %v %q", err, r.out)
	}
	r = p.ok("config:unset", "-a", "cfg", "FOO")
	contains(t, "config:unset", r.err, "Unsetting FOO and restarting ⬢ cfg... done, v3")
	if r = p.ok("config:get", "-a", "cfg", "FOO"); r.out != "\n" {
		t.Fatalf("config:get after unset = %q", r.out)
	}

	r = p.ok("releases", "-a", "cfg")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 4 || lines[0] != "=== cfg Releases - Current: v3" {
		t.Fatalf("releases = %q", r.out)
	}
	re := regexp.MustCompile(`^v2  Set FOO, URL config vars  admin@paasd\.local  \d{4}/\d\d/\d\d \d\d:\d\d:\d\d$`)
	if !re.MatchString(lines[2]) {
		t.Fatalf("releases line %q does not match %s", lines[2], re)
	}
	r = p.ok("releases", "-a", "cfg", "--json", "-n", "2")
	var rels []map[string]any
	if err := json.Unmarshal([]byte(r.out), &rels); err != nil || len(rels) != 2 || rels[0]["version"] != float64(3) {
		t.Fatalf("releases --json = %v %q", err, r.out)
	}
	r = p.ok("releases:info", "-a", "cfg", "v2")
	contains(t, "releases:info", r.out, "=== Release v2\n", "Change:  Set FOO, URL config vars", "=== v2 Config vars\nFOO: bar\n")

	r = p.ok("rollback", "-a", "cfg")
	contains(t, "rollback", r.err, "Rolling back ⬢ cfg to v2... done, v4", "To undo, run: paas rollback v3")
	if r = p.ok("config:get", "-a", "cfg", "FOO"); r.out != "bar\n" {
		t.Fatalf("config:get after rollback = %q", r.out)
	}
	r = p.ok("releases:rollback", "-a", "cfg", "v1")
	contains(t, "rollback v1", r.err, "to v1... done, v5")
	r = p.fails(1, "releases:info", "-a", "cfg", "v99")
	contains(t, "unknown release", r.err, " ▸    ")

	// heroku[api] lines reach paas logs through a log session.
	r = p.ok("logs", "-a", "cfg")
	contains(t, "logs", r.out, "heroku[api]: Set FOO, URL config vars by user admin@paasd.local", "heroku[api]: Rollback to v2")
}

func TestFormationDomainsDrainsMaintenance(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "web1")
	r := p.fails(1, "ps:scale", "-a", "web1")
	contains(t, "ps:scale without process types", r.err, "No process types on ⬢ web1.")

	// A slug with process types and a release that deploys it.
	var slug struct{ ID string }
	p.api("POST", "/apps/web1/slugs", map[string]any{"process_types": map[string]string{"web": "npm start", "worker": "node worker.js"}}, &slug)
	p.api("POST", "/apps/web1/releases", map[string]string{"slug": slug.ID}, nil)

	if r = p.ok("ps:scale", "-a", "web1"); r.out != "web=1:Basic worker=0:Basic\n" {
		t.Fatalf("ps:scale = %q", r.out)
	}
	r = p.ok("ps:scale", "-a", "web1", "web=2", "worker=1:standard-2x")
	contains(t, "ps:scale", r.err, "Scaling dynos... done, now running web at 2:Basic, worker at 1:Standard-2X")
	r = p.ok("scale", "-a", "web1", "web+1")
	contains(t, "scale web+1", r.err, "now running web at 3:Basic")
	r = p.ok("ps:type", "-a", "web1", "web=performance-m")
	if !strings.HasSuffix(r.out, "=== Process Types\nType    Size           Qty\n──────  ─────────────  ───\nweb     Performance-M  3\nworker  Standard-2X    1\n") {
		t.Fatalf("ps:type = %q", r.out)
	}
	r = p.ok("ps:scale", "-a", "web1", "--json")
	var form []map[string]any
	if err := json.Unmarshal([]byte(r.out), &form); err != nil || len(form) != 2 {
		t.Fatalf("ps:scale --json = %v %q", err, r.out)
	}
	r = p.fails(1, "ps:scale", "-a", "web1", "web=2:huge")
	contains(t, "bad size", r.err, "huge")
	// paasd's dyno manager starts the formation (the slug has no blob, so
	// the dynos crash and restart: ps shows whatever state they are in).
	header := regexp.MustCompile(`(?m)^=== web \([A-Za-z0-9-]+\): npm start \(\d+\)$`)
	line := regexp.MustCompile(`(?m)^web\.1: [a-z]+ \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \(~ \d+[smhd] ago\)$`)
	deadline := time.Now().Add(60 * time.Second)
	for r = p.ok("ps", "-a", "web1"); !header.MatchString(r.out) || !line.MatchString(r.out); r = p.ok("ps", "-a", "web1") {
		if time.Now().After(deadline) {
			t.Fatalf("ps never showed web.1:\n%s", r.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r = p.ok("ps", "-a", "web1", "worker"); strings.Contains(r.out, "web.1") || !strings.Contains(r.out, "worker.1:") {
		t.Fatalf("ps worker = %q", r.out)
	}
	r = p.ok("ps", "-a", "web1", "--json")
	var dynos []struct{ Name, Type, State string }
	if err := json.Unmarshal([]byte(r.out), &dynos); err != nil || len(dynos) < 2 {
		t.Fatalf("ps --json = %v %q", err, r.out)
	}
	r = p.ok("ps:restart", "-a", "web1")
	contains(t, "ps:restart", r.err, "Restarting dynos on ⬢ web1... done")
	r = p.ok("restart", "-a", "web1", "web")
	contains(t, "restart web", r.err, "Restarting web dynos on ⬢ web1... done")
	r = p.ok("ps:stop", "-a", "web1", "web.1")
	contains(t, "ps:stop", r.err, "Stopping web.1 dyno on ⬢ web1... done")
	p.fails(2, "ps:stop", "-a", "web1")
	// web1's slug has no tarball, so its one-off dyno starts in an empty
	// /app; its exit code is passed on (TestRunInRealDyno runs a real slug).
	r = p.fails(4, "run", "-a", "web1", "--", "exit", "4")
	contains(t, "run", r.err, "Running `exit 4` on ⬢ web1... ")
	// Piped input ends as a terminal's ^D: the shell exits.
	r = p.run("echo piped; exit 5\n", nil, "run", "-a", "web1", "bash")
	if r.code != 5 || !strings.Contains(r.out, "piped") {
		t.Fatalf("paas run bash < script: exit %d, out %q", r.code, r.out)
	}
	r = p.run("", nil, "run", "-a", "web1", "--", "cat")
	if r.code != 0 {
		t.Fatalf("paas run cat < /dev/null: exit %d, out %q, err %q", r.code, r.out, r.err)
	}

	r = p.ok("domains:add", "-a", "web1", "www.example.com")
	contains(t, "domains:add", r.err, "Adding www.example.com to ⬢ web1... done", "DNS Target")
	r = p.ok("domains", "-a", "web1")
	contains(t, "domains", r.out, "=== web1 Heroku Domain\nweb1.localhost\n", "=== web1 Custom Domains\n", "Domain Name      DNS Record Type  DNS Target", "www.example.com  CNAME")
	r = p.ok("domains", "-a", "web1", "--json")
	var doms []struct{ Hostname, Kind string }
	if err := json.Unmarshal([]byte(r.out), &doms); err != nil || len(doms) != 2 {
		t.Fatalf("domains --json = %v %q", err, r.out)
	}
	r = p.ok("domains:remove", "-a", "web1", "www.example.com")
	contains(t, "domains:remove", r.err, "Removing www.example.com from ⬢ web1... done")
	if r = p.ok("domains", "-a", "web1"); strings.Contains(r.out, "www.example.com") {
		t.Fatalf("domain not removed: %q", r.out)
	}
	p.fails(1, "domains:add", "-a", "web1", "not a host")

	if r = p.ok("drains", "-a", "web1"); r.out != "⬢ web1 has no drains.\n" {
		t.Fatalf("drains = %q", r.out)
	}
	r = p.ok("drains:add", "-a", "web1", "syslog://127.0.0.1:6514")
	if r.out != "Successfully added drain syslog://127.0.0.1:6514\n" {
		t.Fatalf("drains:add = %q", r.out)
	}
	p.ok("drains:add", "-a", "web1", "https://user:pw@logs.example.com/drain")
	r = p.ok("drains", "-a", "web1")
	if !regexp.MustCompile(`(?m)^=== Drains\n(.+ \(d\.[0-9a-f-]{36}\)\n){2}$`).MatchString(r.out) {
		t.Fatalf("drains = %q", r.out)
	}
	r = p.ok("drains", "-a", "web1", "--json")
	var drains []struct{ URL, Token string }
	if err := json.Unmarshal([]byte(r.out), &drains); err != nil || len(drains) != 2 {
		t.Fatalf("drains --json = %v %q", err, r.out)
	}
	p.ok("drains:remove", "-a", "web1", "syslog://127.0.0.1:6514")
	var tok string
	for _, d := range drains {
		if strings.HasPrefix(d.URL, "https://") {
			tok = d.Token
		}
	}
	r = p.ok("drains:remove", "-a", "web1", tok)
	contains(t, "drains:remove by token", r.out, "Successfully removed drain https://")
	if r = p.ok("drains", "-a", "web1"); r.out != "⬢ web1 has no drains.\n" {
		t.Fatalf("drains after remove = %q", r.out)
	}

	// No add-on service is configured in this paasd: an empty list, and a
	// clear error for a service it does not know.
	if r = p.ok("addons", "-a", "web1"); r.out != "No add-ons for app web1.\n" {
		t.Fatalf("addons = %q", r.out)
	}
	if r = p.ok("addons", "-a", "web1", "--json"); strings.TrimSpace(r.out) != "[]" {
		t.Fatalf("addons --json = %q", r.out)
	}
	r = p.fails(1, "addons:create", "-a", "web1", "heroku-postgresql:essential-0")
	contains(t, "addons:create", r.err, "Creating heroku-postgresql:essential-0 on ⬢ web1... !", " ▸    ")

	if r = p.ok("maintenance", "-a", "web1"); r.out != "off\n" {
		t.Fatalf("maintenance = %q", r.out)
	}
	r = p.ok("maintenance:on", "-a", "web1")
	contains(t, "maintenance:on", r.err, "Enabling maintenance mode for ⬢ web1... done")
	if r = p.ok("maintenance", "-a", "web1"); r.out != "on\n" {
		t.Fatalf("maintenance after on = %q", r.out)
	}
	p.ok("maintenance:off", "-a", "web1")
	if r = p.ok("maintenance", "-a", "web1", "--json"); !strings.Contains(r.out, `"maintenance": false`) {
		t.Fatalf("maintenance --json = %q", r.out)
	}
}

func TestLoginNetrc(t *testing.T) {
	p := startPaasd(t)
	// Log in without PAAS_API_KEY: the token goes to ~/.netrc, mode 0600.
	p.env = slicesWithout(p.env, "PAAS_API_KEY=")
	netrcPath := filepath.Join(p.home, ".netrc")
	os.WriteFile(netrcPath, []byte("machine github.com login me password ghp\n"), 0o644)

	r := p.run("", nil, "apps")
	if r.code != 1 || !strings.Contains(r.err, "not logged in") {
		t.Fatalf("apps before login: %d %q", r.code, r.err)
	}
	r = p.run("admin@paasd.local\nwrong-token\n", nil, "login")
	if r.code != 1 || !strings.Contains(r.err, "login failed") {
		t.Fatalf("login with a bad token: %d %q", r.code, r.err)
	}
	r = p.run("admin@paasd.local\n"+p.token+"\n", nil, "login")
	if r.code != 0 || r.out != "Logged in as admin@paasd.local\n" {
		t.Fatalf("login: %d %q %q", r.code, r.out, r.err)
	}
	fi, err := os.Stat(netrcPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("~/.netrc: %v mode %v", err, fi.Mode())
	}
	data, _ := os.ReadFile(netrcPath)
	contains(t, "~/.netrc", string(data), "machine github.com login me password ghp\n", "machine 127.0.0.1\n  login admin@paasd.local\n  password "+p.token+"\n")

	if r = p.ok("auth:token"); r.out != p.token+"\n" {
		t.Fatalf("auth:token = %q", r.out)
	}
	if r = p.ok("whoami"); r.out != "admin@paasd.local\n" {
		t.Fatalf("whoami = %q", r.out)
	}
	p.ok("apps:create", "vianetrc")

	// A second token for CI: it works, it is listed, and revoking it ends it.
	r = p.ok("authorizations:create", "-d", "ci", "--short")
	ci := strings.TrimSpace(r.out)
	if !strings.HasPrefix(ci, "HRKU-") {
		t.Fatalf("authorizations:create --short = %q", r.out)
	}
	if r = p.run("", []string{"PAAS_API_KEY=" + ci}, "apps"); r.code != 0 || !strings.Contains(r.out, "vianetrc") {
		t.Fatalf("apps with the new token: %d %q %q", r.code, r.out, r.err)
	}
	r = p.ok("authorizations")
	m := regexp.MustCompile(`(?m)^ci +([0-9a-f-]{36}) +global$`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("authorizations = %q", r.out)
	}
	r = p.ok("authorizations:revoke", m[1])
	contains(t, "authorizations:revoke", r.err, "Revoking OAuth Authorization "+m[1]+"... done")
	if r = p.run("", []string{"PAAS_API_KEY=" + ci}, "apps"); r.code != 1 || !strings.Contains(r.err, "Invalid credentials") {
		t.Fatalf("apps with the revoked token: %d %q", r.code, r.err)
	}
	r = p.ok("logout")
	contains(t, "logout", r.err, "Logging out... done")
	data, _ = os.ReadFile(netrcPath)
	if strings.Contains(string(data), p.token) || !strings.Contains(string(data), "github.com") {
		t.Fatalf("~/.netrc after logout: %q", data)
	}
	p.fails(1, "apps")
}

func TestCompletionAndConformance(t *testing.T) {
	p := startPaasd(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := p.ok("completion", sh)
		if !strings.Contains(r.out, "paas") {
			t.Fatalf("completion %s: %q", sh, r.out[:min(len(r.out), 200)])
		}
	}
	p.ok("apps:create", "compl")
	r := p.ok("__complete", "config", "-a", "")
	contains(t, "app name completion", r.out, "compl\n")
	// conformance is passed through to conformance/cli: a usage error exits 2.
	r = p.fails(2, "conformance", "nosuchcontract")
	if r.err == "" {
		t.Fatal("conformance printed no usage error")
	}
}

func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

func TestLogsTail(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "tail")
	cmd := exec.Command(paasBin, "logs", "--tail", "-a", "tail", "-s", "heroku")
	cmd.Env = p.env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The session streams lines logged after it opened: keep changing
	// config until one shows up (the first change may precede the session).
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; !strings.Contains(out.String(), "Set TAILED config vars"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("logs --tail never showed the change:\n%s", out.String())
		}
		p.ok("config:set", "-a", "tail", fmt.Sprintf("TAILED=%d", i))
		time.Sleep(100 * time.Millisecond)
	}
	if cmd.ProcessState != nil {
		t.Fatal("logs --tail exited")
	}
}

func TestAccess(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "shared")
	var friend struct {
		APIKey string `json:"api_key"`
	}
	p.api("POST", "/users", map[string]any{"email": "friend@example.com"}, &friend)
	r := p.ok("access:add", "-a", "shared", "friend@example.com")
	contains(t, "access:add", r.err, "Adding friend@example.com access to the app shared... done")
	r = p.ok("access", "-a", "shared")
	if !regexp.MustCompile(`^=== shared Access List\nadmin@paasd\.local +owner\nfriend@example\.com +\w+\n$`).MatchString(r.out) {
		t.Fatalf("access = %q", r.out)
	}
	// The collaborator sees the app; removing access hides it again.
	asFriend := []string{"PAAS_API_KEY=" + friend.APIKey}
	if r = p.run("", asFriend, "apps"); r.code != 0 || r.out != "=== friend@example.com Apps\nshared\n" {
		t.Fatalf("apps as the collaborator: %d %q %q", r.code, r.out, r.err)
	}
	r = p.ok("access:remove", "-a", "shared", "friend@example.com")
	contains(t, "access:remove", r.err, "Removing friend@example.com access from the app shared... done")
	if r = p.run("", asFriend, "config", "-a", "shared"); r.code != 1 || !strings.Contains(r.err, "Couldn't find that app.") {
		t.Fatalf("config as a former collaborator: %d %q", r.code, r.err)
	}
	r = p.fails(1, "access:add", "-a", "shared", "nobody@example.com")
	contains(t, "unknown user", r.err, " ▸    ")
}
