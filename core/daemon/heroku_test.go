package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core/tlscert"
	"github.com/paasd/paasd/internal/testenv"
)

func (d *daemon) post(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", d.url+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		t.Fatalf("POST %s = %d %s", path, res.StatusCode, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// herokuEnv is the environment that points the Heroku CLI at d, with its
// own HOME and the rendezvous certificate trusted for `heroku run`.
func herokuEnv(home string, d *daemon) []string {
	return append(os.Environ(),
		"HOME="+home,
		"XDG_CACHE_HOME="+home+"/.cache",
		"XDG_CONFIG_HOME="+home+"/.config",
		"XDG_DATA_HOME="+home+"/.local/share",
		"HEROKU_HOST="+d.url,
		"HEROKU_API_KEY="+d.token,
		"HEROKU_BUILDPACK_REGISTRY_URL="+d.url+"/buildpack-registry",
		"HEROKU_SKIP_ANALYTICS=1",
		"HEROKU_SKIP_NEW_VERSION_CHECK=true",
		"DISABLE_TELEMETRY=true",
		"FORCE_COLOR=0",
		"NO_COLOR=1",
		"NODE_EXTRA_CA_CERTS="+filepath.Join(d.dataDir, TLSCertFile),
		"GIT_SSL_CAINFO="+filepath.Join(d.dataDir, TLSCertFile),
	)
}

// TestHerokuCLI drives paasd with the official Heroku CLI (installed by
// scripts/setup.d/30-heroku-cli.sh), pointed at the real API with
// HEROKU_HOST and HEROKU_API_KEY.
func TestHerokuCLI(t *testing.T) {
	testenv.Short(t, "runs the Heroku CLI (node) many times")
	heroku := testenv.NeedCommand(t, "heroku")
	d := startDaemon(t)
	home := t.TempDir()
	env := herokuEnv(home, d)
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, heroku, args...)
		cmd.Env = env
		cmd.Dir = home
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("heroku %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	const app = "e2e-app"
	crt, key, err := tlscert.Generate([]string{"www.e2e.example.com"}, time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(home, "server.crt"), filepath.Join(home, "server.key")
	if err := errors.Join(os.WriteFile(certFile, crt, 0o600), os.WriteFile(keyFile, key, 0o600)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		desc  string
		args  []string
		setup func(t *testing.T)
		want  []string
	}{
		{"apps (none yet)", []string{"apps"}, nil, []string{"You have no apps."}},
		{"apps:create", []string{"apps:create", app}, nil, []string{"Creating " + app + "... done"}},
		{"apps", []string{"apps"}, nil, []string{"admin@paasd.local Apps", app}},
		{"apps:info", []string{"apps:info", "-a", app}, nil, []string{"=== " + app, "admin@paasd.local", "heroku-24"}},
		{"config:set", []string{"config:set", "FOO=bar", "BAZ=qux", "-a", app}, nil, []string{"done, v2", "FOO: bar"}},
		{"config:get", []string{"config:get", "FOO", "-a", app}, nil, []string{"bar"}},
		{"config:unset", []string{"config:unset", "BAZ", "-a", app}, nil, []string{"done, v3"}},
		{"config", []string{"config", "-a", app}, nil, []string{"FOO: bar"}},
		{"logs", []string{"logs", "-a", app}, nil, []string{"heroku[api]: Release v1 created by user admin@paasd.local", "heroku[api]: Set BAZ, FOO config vars by user admin@paasd.local"}},
		{"releases", []string{"releases", "-a", app}, nil, []string{"Current: v3", "Remove BAZ config vars", "Set BAZ, FOO config vars", "Initial release"}},
		{"releases:rollback", []string{"releases:rollback", "v2", "-a", app}, nil, []string{"Rolling back " + app + " to v2... done, v4"}},
		{"config:get after rollback", []string{"config:get", "BAZ", "-a", app}, nil, []string{"qux"}},
		{"ps (no dynos)", []string{"ps", "-a", app}, nil, []string{"No dynos on " + app}},
		{"ps:scale", []string{"ps:scale", "web=2", "-a", app}, func(t *testing.T) {
			// A deploy gives the app its formation (the build pipeline does
			// this after git push).
			slug := d.post(t, "/apps/"+app+"/slugs", map[string]any{"process_types": map[string]string{"web": "./server"}})
			d.post(t, "/apps/"+app+"/releases", map[string]any{"slug": slug["id"]})
		}, []string{"web at 2:basic"}},
		{"ps:scale (show)", []string{"ps:scale", "-a", app}, nil, []string{"web=2:basic"}},
		{"maintenance:on", []string{"maintenance:on", "-a", app}, nil, []string{"Enabling maintenance mode for " + app + "... done"}},
		{"maintenance", []string{"maintenance", "-a", app}, nil, []string{"on"}},
		{"domains:add", []string{"domains:add", "www.e2e.example.com", "-a", app}, nil, []string{"Adding www.e2e.example.com to " + app + "... done", app + ".localhost"}},
		{"domains", []string{"domains", "-a", app}, nil, []string{"www.e2e.example.com", app + ".localhost"}},
		{"addons", []string{"addons", "-a", app}, nil, []string{"No add-ons for app " + app}},
		{"drains:add", []string{"drains:add", "syslog://logs.example.com:514", "-a", app}, nil, []string{"Successfully added drain syslog://logs.example.com:514"}},
		{"drains", []string{"drains", "-a", app}, nil, []string{"syslog://logs.example.com:514 (d."}},
		{"domains:remove", []string{"domains:remove", "www.e2e.example.com", "-a", app}, nil, []string{"Removing www.e2e.example.com from " + app + "... done"}},
		{"drains:remove", []string{"drains:remove", "syslog://logs.example.com:514", "-a", app}, nil, []string{"Successfully removed drain"}},
		// With no custom domain left, certs:add does not prompt for domains.
		{"certs:add", []string{"certs:add", certFile, keyFile, "-a", app}, nil, []string{"Adding SSL certificate to " + app + "... done", "Common Name(s): www.e2e.example.com", "SSL certificate is self signed."}},
		{"certs", []string{"certs", "-a", app}, nil, []string{"www.e2e.example.com", "SNI"}},
		{"certs:info", []string{"certs:info", "-a", app}, nil, []string{"Certificate details:", "Expires At:"}},
		{"features:enable", []string{"features:enable", "router-least-connections", "-a", app}, nil, []string{"Enabling router-least-connections for " + app + "... done"}},
		{"features", []string{"features", "-a", app}, nil, []string{"[+] router-least-connections", "[ ] router-power-of-two"}},
		{"ps:restart", []string{"ps:restart", "-a", app}, nil, []string{"Restarting all dynos on " + app + "... done"}},
		{"ps:stop", []string{"ps:stop", "--dyno-name", "web.1", "-a", app}, nil, []string{"Stopping dyno web.1 on " + app + "... done"}},
		{"access", []string{"access", "-a", app}, nil, []string{"admin@paasd.local", "owner"}},
		{"releases:info", []string{"releases:info", "v2", "-a", app}, nil, []string{"Set BAZ, FOO config vars", "FOO:", "bar"}},
		{"buildpacks (none)", []string{"buildpacks", "-a", app}, nil, []string{app + " has no Buildpacks."}},
		{"buildpacks:set", []string{"buildpacks:set", "https://github.com/heroku/heroku-buildpack-go", "-a", app}, nil,
			[]string{"Buildpack set. Next release on " + app + " will use https://github.com/heroku/heroku-buildpack-go."}},
		{"buildpacks:add", []string{"buildpacks:add", "--index", "1", "https://github.com/heroku/heroku-buildpack-nodejs", "-a", app}, nil,
			[]string{"Buildpack added. Next release on " + app + " will use:", "1. https://github.com/heroku/heroku-buildpack-nodejs", "2. https://github.com/heroku/heroku-buildpack-go"}},
		{"buildpacks", []string{"buildpacks", "-a", app}, nil, []string{"=== " + app + " Classic Buildpacks", "1. https://github.com/heroku/heroku-buildpack-nodejs", "2. https://github.com/heroku/heroku-buildpack-go"}},
		{"buildpacks:remove", []string{"buildpacks:remove", "--index", "1", "-a", app}, nil, []string{"Buildpack removed. Next release on " + app + " will use https://github.com/heroku/heroku-buildpack-go."}},
		{"buildpacks:set heroku/go", []string{"buildpacks:set", "heroku/go", "-a", app}, nil,
			[]string{"Buildpack set. Next release on " + app + " will use heroku/go."}},
		{"buildpacks (heroku/go)", []string{"buildpacks", "-a", app}, nil, []string{"=== " + app + " Classic Buildpack", "heroku/go"}},
		{"buildpacks:clear", []string{"buildpacks:clear", "-a", app}, nil, []string{"Buildpacks cleared. Next release on " + app + " will detect buildpacks normally."}},
		{"apps:rename", []string{"apps:rename", app + "-2", "-a", app}, nil, []string{"Renaming " + app + " to " + app + "-2... done"}},
		{"apps:destroy", []string{"apps:destroy", app + "-2", "--confirm", app + "-2"}, nil, []string{"Destroying " + app + "-2"}},
		{"apps (gone)", []string{"apps"}, nil, []string{"You have no apps."}},
	}
	passed := 0
	for _, st := range steps {
		ok := t.Run(st.desc, func(t *testing.T) {
			if st.setup != nil {
				st.setup(t)
			}
			out := run(t, st.args...)
			for _, w := range st.want {
				if !strings.Contains(out, w) {
					t.Fatalf("heroku %s: output lacks %q:\n%s", strings.Join(st.args, " "), w, out)
				}
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("Heroku CLI commands passing against paasd: %d/%d", passed, len(steps))
}
