package build_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/internal/testenv"
)

const testToken = "test-token-123"

// gitEnv is a deploy target: a GitServer over a pipeline, remembering the
// last slug built per app.
type gitEnv struct {
	url  string
	p    *build.Pipeline
	mu   sync.Mutex
	last map[string]build.Result
}

func newGitEnv(t testing.TB, p *build.Pipeline, dataDir string, maxPush int64) *gitEnv {
	t.Helper()
	e := &gitEnv{p: p, last: map[string]build.Result{}}
	// Serve the repositories through a symbolic link, as a data dir may be.
	if err := os.MkdirAll(filepath.Join(dataDir, "real-repos"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real-repos", filepath.Join(dataDir, "repos")); err != nil {
		t.Fatal(err)
	}
	gs, err := build.NewGitServer(build.GitOptions{
		ReposDir:     filepath.Join(dataDir, "repos"),
		MaxPushBytes: maxPush,
		Authenticate: func(_ context.Context, app, token string) (string, error) {
			switch {
			case token != testToken:
				return "", fmt.Errorf("bad token: %w", core.ErrInvalid)
			case app == "nobody-app":
				return "", fmt.Errorf("app %s: %w", app, core.ErrNotFound)
			}
			return "user-1", nil
		},
		Deploy: func(ctx context.Context, push build.Push) error {
			res, err := p.Build(ctx, build.Request{App: push.App, Source: push.Source, Output: push.Output, Commit: push.NewRev,
				Config: map[string]string{"SECRET_VAR": "not-exported"}})
			if err != nil {
				return err
			}
			fmt.Fprintf(push.Output, "-----> Launching...\n       Released v1\n")
			e.mu.Lock()
			e.last[push.App] = res
			e.mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gs)
	t.Cleanup(func() {
		srv.Close()
		_ = gs.Close()
	})
	e.url = srv.URL
	return e
}

func (e *gitEnv) result(app string) (build.Result, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.last[app]
	return r, ok
}

// gitRun runs git in dir with a clean configuration.
func gitRun(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// workingCopy copies sample into a new git repository with one commit on
// main.
func workingCopy(t testing.TB, sample string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join(samples, sample)+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy sample: %s", out)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "deploy"}} {
		if out, err := gitRun(t, dir, args...); err != nil {
			t.Fatalf("git %v: %s", args, out)
		}
	}
	return dir
}

func (e *gitEnv) remote(app, token string) string {
	return strings.Replace(e.url, "http://", "http://anything:"+token+"@", 1) + "/" + app + ".git"
}

// TestGitPushSamples pushes every sample app with the real git client to a
// GitServer, builds it in build dynos, starts its web process from the
// slug with the same runtime and expects HTTP 200.
func TestGitPushSamples(t *testing.T) {
	testenv.Short(t, "builds every sample app in build dynos")
	testenv.NeedCommand(t, "git")
	for _, kind := range []runtimeKind{processRT, runcRT} {
		t.Run(string(kind), func(t *testing.T) {
			rt := newRuntime(t, kind)
			data := t.TempDir()
			p := newPipeline(t, rt, data)
			e := newGitEnv(t, p, data, 0)
			tests := []struct {
				desc, sample, wantType, wantBody, wantOut string
				// app overrides the app pushed to (default sample-SAMPLE).
				app string
			}{
				{desc: "go module", sample: "go", wantType: "bin/hello", wantBody: "hello from go", wantOut: "Go app detected"},
				{desc: "go module with a dependency from the module proxy, force-pushed over the go app (warm cache)", sample: "go-deps",
					app: "sample-go", wantType: "bin/withdeps", wantBody: "hello from go with deps", wantOut: "Go app detected"},
				{desc: "node app", sample: "nodejs", wantType: "npm start", wantBody: "hello from node", wantOut: "Node.js app detected"},
				{desc: "python stdlib app", sample: "python", wantType: "app.py", wantBody: "hello from python", wantOut: "Python app detected"},
				{desc: "static site", sample: "static", wantType: "http.server", wantBody: "hello from static", wantOut: "Static HTML app detected"},
				{desc: "procfile app", sample: "procfile", wantType: "bin/serve", wantBody: "hello from procfile", wantOut: "Procfile app detected"},
			}
			for _, tc := range tests {
				t.Run(tc.desc, func(t *testing.T) {
					needTools(t, tc.sample)
					app := "sample-" + tc.sample
					if tc.app != "" {
						app = tc.app
					}
					wc := workingCopy(t, tc.sample)
					out, err := gitRun(t, wc, "push", "--force", e.remote(app, testToken), "main")
					if err != nil {
						t.Fatalf("git push: %v\n%s", err, out)
					}
					for _, want := range []string{"remote: -----> Building on the heroku-24 stack", "remote: -----> " + tc.wantOut, "Released v1", "main -> main"} {
						if !strings.Contains(out, want) {
							t.Errorf("push output lacks %q:\n%s", want, out)
						}
					}
					res, ok := e.result(app)
					if !ok {
						t.Fatalf("no build result for %s", app)
					}
					web := res.Slug.ProcessTypes["web"]
					if !strings.Contains(web, tc.wantType) {
						t.Fatalf("web = %q, want it to contain %q (types %v)", web, tc.wantType, res.Slug.ProcessTypes)
					}
					head, _ := gitRun(t, wc, "rev-parse", "HEAD")
					if res.Slug.Commit != strings.TrimSpace(head) {
						t.Errorf("slug commit %q, want %q", res.Slug.Commit, head)
					}
					addr := startWeb(t, rt, res.SlugPath, web)
					if body := get(t, rt, "http://"+addr+"/"); !strings.Contains(body, tc.wantBody) {
						t.Fatalf("body = %q, want %q", body, tc.wantBody)
					}
				})
			}
			t.Run("compile error rejects the push", func(t *testing.T) {
				needTools(t, "broken-go")
				wc := workingCopy(t, "broken-go")
				out, err := gitRun(t, wc, "push", e.remote("broken", testToken), "main")
				if err == nil {
					t.Fatalf("push of a broken app succeeded:\n%s", out)
				}
				for _, want := range []string{"remote: ", "undefined: undefinedFunction", "failed to compile", "[remote rejected] main -> main (pre-receive hook declined)"} {
					if !strings.Contains(out, want) {
						t.Errorf("push output lacks %q:\n%s", want, out)
					}
				}
				if out, err := gitRun(t, wc, "ls-remote", e.remote("broken", testToken)); err != nil || strings.Contains(out, "refs/heads/main") {
					t.Errorf("rejected push moved main: %v %s", err, out)
				}
			})
		})
	}
}

// TestGitPushRules checks authentication, branch rules and the push size
// limit with the real git client (no build dynos needed: pushes are
// rejected before any build, or built by the procfile buildpack).
func TestGitPushRules(t *testing.T) {
	testenv.NeedCommand(t, "git")
	testenv.NeedCommand(t, "python3")
	rt := newRuntime(t, processRT)
	data := t.TempDir()
	p := newPipeline(t, rt, data)
	e := newGitEnv(t, p, data, 2<<20)
	wc := workingCopy(t, "procfile")
	tests := []struct {
		desc   string
		args   []string
		wantOK bool
		want   string
	}{
		{desc: "bad token", args: []string{"push", e.remote("rules-app", "wrong"), "main"}, want: "Authentication failed"},
		{desc: "unknown app", args: []string{"push", e.remote("nobody-app", testToken), "main"}, want: "not found"},
		{desc: "other branch", args: []string{"push", e.remote("rules-app", testToken), "main:feature"},
			want: "only main or master deploy"},
		{desc: "main deploys", args: []string{"push", e.remote("rules-app", testToken), "main"}, wantOK: true, want: "Released v1"},
		{desc: "master deploys", args: []string{"push", e.remote("rules-master", testToken), "main:master"}, wantOK: true, want: "main -> master"},
		{desc: "clone back", args: []string{"ls-remote", e.remote("rules-app", testToken)}, wantOK: true, want: "refs/heads/main"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			out, err := gitRun(t, wc, tc.args...)
			if (err == nil) != tc.wantOK {
				t.Fatalf("git %v: err = %v, want ok=%v\n%s", tc.args, err, tc.wantOK, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("git output lacks %q:\n%s", tc.want, out)
			}
		})
	}
	bigCopy := func(t *testing.T, size int) string {
		big := workingCopy(t, "procfile")
		blob := make([]byte, size)
		_, _ = rand.Read(blob) // incompressible
		if err := os.WriteFile(filepath.Join(big, "blob.bin"), blob, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "big"}} {
			if out, err := gitRun(t, big, args...); err != nil {
				t.Fatal(out)
			}
		}
		return big
	}
	t.Run("push over git's post buffer (chunked) under the limit", func(t *testing.T) {
		out, err := gitRun(t, bigCopy(t, 1500<<10), "push", e.remote("rules-chunked", testToken), "main")
		if err != nil || !strings.Contains(out, "Released v1") {
			t.Fatalf("push of 1.5 MB: %v\n%s", err, out)
		}
	})
	t.Run("push over the size limit", func(t *testing.T) {
		out, err := gitRun(t, bigCopy(t, 3<<20), "push", e.remote("rules-big", testToken), "main")
		if err == nil {
			t.Fatalf("push over the limit succeeded:\n%s", out)
		}
		if !strings.Contains(out, "pack exceeds maximum allowed size") {
			t.Fatalf("push output does not name the size limit:\n%s", out)
		}
	})
}

// TestBuildRejectsTarSlip builds from source tarballs that try to write
// outside the build dir; each is refused before any buildpack runs.
func TestBuildRejectsTarSlip(t *testing.T) {
	rt := newRuntime(t, processRT)
	p := newPipeline(t, rt, t.TempDir())
	outside := filepath.Join(t.TempDir(), "pwned")
	tests := []struct {
		desc string
		tar  []byte
	}{
		{desc: "dot-dot entry", tar: tarOf(t, tarEntry{name: "../../../../pwned", body: "x"})},
		{desc: "absolute entry", tar: tarOf(t, tarEntry{name: outside, body: "x"})},
		{desc: "symlink out then write through it", tar: tarOf(t, tarEntry{name: "evil", link: filepath.Dir(outside)}, tarEntry{name: "evil/pwned", body: "x"})},
		{desc: "hard link out", tar: tarOf(t, tarEntry{name: "h", hardlink: "/etc/passwd"})},
		{desc: "device file", tar: tarOf(t, tarEntry{name: "dev", device: true})},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var out syncBuffer
			_, err := p.Build(context.Background(), build.Request{App: "tarslip", Source: strings.NewReader(string(tc.tar)), Output: &out})
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if _, serr := os.Lstat(outside); serr == nil {
				t.Fatalf("a file was written outside the build dir")
			}
			if !strings.Contains(out.String(), "source tarball") {
				t.Fatalf("output does not explain: %s", out.String())
			}
		})
	}
}
