package daemon

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// TestHerokuRun: the official Heroku CLI's `heroku run` starts a one-off
// dyno in paasd and attaches to it through the rendezvous service (TLS,
// paasd's self-signed certificate trusted with NODE_EXTRA_CA_CERTS): the
// dyno sees the app's config vars and its name, stdin reaches it, and
// --exit-code passes the exit status through. Both runtimes when root.
func TestHerokuRun(t *testing.T) {
	testenv.Short(t, "runs the Heroku CLI against real one-off dynos")
	heroku := testenv.NeedCommand(t, "heroku")
	runtimes := []string{"builtin:process"}
	if os.Geteuid() == 0 {
		runtimes = append(runtimes, "builtin:runc")
	} else if testenv.InCI() {
		t.Fatal("CI runs as root: the runc runtime must be tested")
	}
	for _, rt := range runtimes {
		t.Run(strings.TrimPrefix(rt, "builtin:"), func(t *testing.T) {
			d := startDaemon(t, "--runtime", rt)
			const app = "runner"
			if code, a := d.call(t, "POST", "/apps", map[string]any{"name": app}); code != 201 {
				t.Fatalf("create app: %d %v", code, a)
			}
			d.call(t, "PATCH", "/apps/"+app+"/config-vars", map[string]any{"GREETING": "hi there"})
			sum := writeSlug(t, d.dataDir, map[string]string{"hello.sh": "#!/bin/sh\necho \"$GREETING from $DYNO\"\n"})
			code, slug := d.call(t, "POST", "/apps/"+app+"/slugs", map[string]any{"process_types": map[string]string{}, "checksum": sum})
			if code != 201 {
				t.Fatalf("create slug: %d %v", code, slug)
			}
			if code, rel := d.call(t, "POST", "/apps/"+app+"/releases", map[string]any{"slug": slug["id"]}); code != 201 {
				t.Fatalf("release: %d %v", code, rel)
			}
			home := t.TempDir()
			run := func(stdin string, args ...string) (string, int) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, heroku, args...)
				cmd.Env = herokuEnv(home, d)
				cmd.Dir = home
				cmd.Stdin = strings.NewReader(stdin)
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				switch {
				case err == nil:
					return string(out), 0
				case errors.As(err, &ee):
					return string(out), ee.ExitCode()
				default:
					t.Fatalf("heroku %s: %v\n%s", strings.Join(args, " "), err, out)
					return "", -1
				}
			}
			steps := []struct {
				desc, stdin string
				args        []string
				code        int
				want        []string
			}{
				{"config vars and dyno name", "", []string{"run", "-x", "-a", app, "--", "sh", "hello.sh"}, 0, []string{"hi there from run."}},
				{"exit code passed through", "", []string{"run", "-x", "-a", app, "--", "sh", "-c", "exit 3"}, 3, nil},
				{"stdin reaches the dyno", "piped-line\n", []string{"run", "-a", app, "--", "cat"}, 0, []string{"piped-line"}},
				{"env flag", "", []string{"run", "-x", "-a", app, "--env", "EXTRA=yes", "--", "echo", "extra=$EXTRA"}, 0, []string{"extra=yes"}},
			}
			for _, st := range steps {
				t.Run(st.desc, func(t *testing.T) {
					out, code := run(st.stdin, st.args...)
					if code != st.code {
						t.Fatalf("heroku %s: exit %d, want %d\n%s\npaasd log:\n%s", strings.Join(st.args, " "), code, st.code, out, d.logs.String())
					}
					for _, w := range st.want {
						if !strings.Contains(out, w) {
							t.Fatalf("heroku %s: output lacks %q:\n%s", strings.Join(st.args, " "), w, out)
						}
					}
				})
			}
			// The one-off dynos are gone when done (the last one may still
			// be on its way out).
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				code, ds := d.callList(t, "/apps/"+app+"/dynos")
				if code == 200 && len(ds) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("dynos after the runs: %d %v", code, ds)
				}
			}
			if _, err := os.Stat(filepath.Join(d.dataDir, TLSKeyFile)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHerokuCreateAndPush is the first-app flow a Heroku user types:
// `heroku create` in a git repository adds the "heroku" remote (the CLI
// always writes https://<api host>/APP.git), `git push heroku main` goes
// over TLS to paasd's API port (which answers HTTP and HTTPS) with the API
// token from ~/.netrc as `heroku login` leaves it, and the app serves.
func TestHerokuCreateAndPush(t *testing.T) {
	testenv.Short(t, "runs the Heroku CLI, git and a real build")
	heroku := testenv.NeedCommand(t, "heroku")
	git := testenv.NeedCommand(t, "git")
	testenv.NeedCommand(t, "python3")
	rt := testRuntime()
	d, router := startDaemonWithRouter(t, filepath.Join(t.TempDir(), "data"), "--runtime", rt)
	defer func() { d.stop(t) }()
	home, src := t.TempDir(), t.TempDir()
	host := strings.TrimPrefix(d.url, "http://")
	hostname, _, _ := strings.Cut(host, ":")
	netrc := "machine " + hostname + "\n  login admin@paasd.local\n  password " + d.token + "\n"
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte(netrc), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(herokuEnv(home, d), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_TERMINAL_PROMPT=0")
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env, cmd.Dir = env, src
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s\npaasd log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, d.logs.String())
		}
		return string(out)
	}
	files := map[string]string{"Procfile": "web: python3 -m http.server $PORT\n", "index.html": "<h1>pushed over https</h1>\n"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(git, "init", "-q", "-b", "main")
	run(git, "add", "-A")
	run(git, "commit", "-qm", "first")
	if out := run(heroku, "create", "pushy"); !strings.Contains(out, "https://"+host+"/pushy.git") {
		t.Fatalf("heroku create output lacks the git URL:\n%s", out)
	}
	if remote := strings.TrimSpace(run(git, "remote", "get-url", "heroku")); remote != "https://"+host+"/pushy.git" {
		t.Fatalf("heroku remote = %q", remote)
	}
	if out := run(git, "push", "heroku", "main"); !strings.Contains(out, "Released v") {
		t.Fatalf("push output lacks the release:\n%s", out)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, b, err := routed(router, "pushy", "/")
		if err == nil && c == 200 && strings.Contains(b, "pushed over https") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 from the pushed app: %d %q %v", c, b, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if out := run(heroku, "releases", "-a", "pushy"); !strings.Contains(out, "Deploy") {
		t.Fatalf("heroku releases after the push:\n%s", out)
	}
}

// TestHerokuLogsTail: `heroku logs --tail` stays connected to paasd's log
// session (Server-Sent Events, as the CLI asks for) and shows lines written
// after it started: here the API's line for a config change.
func TestHerokuLogsTail(t *testing.T) {
	testenv.Short(t, "runs the Heroku CLI")
	heroku := testenv.NeedCommand(t, "heroku")
	d := startDaemon(t)
	if code, a := d.call(t, "POST", "/apps", map[string]any{"name": "tailed"}); code != 201 {
		t.Fatalf("create app: %d %v", code, a)
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, heroku, "logs", "--tail", "-a", "tailed")
	cmd.Env, cmd.Dir = herokuEnv(home, d), home
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(out.String(), want) {
			select {
			case err := <-exited:
				t.Fatalf("heroku logs --tail exited: %v\n%s", err, out.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("heroku logs --tail never showed %q:\n%s", want, out.String())
			}
		}
	}
	// The history comes first (so the session is open), then a line
	// written afterwards arrives live.
	waitOut("Release v1 created")
	d.call(t, "PATCH", "/apps/tailed/config-vars", map[string]any{"LIVE": "x"})
	waitOut("Set LIVE config vars")
}
