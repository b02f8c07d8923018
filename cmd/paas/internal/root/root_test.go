package root

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

func TestAliases(t *testing.T) {
	tests := []struct {
		desc, typed, want string
	}{
		{"create", "create", "apps:create"},
		{"destroy", "destroy", "apps:destroy"},
		{"info", "info", "apps:info"},
		{"rename", "rename", "apps:rename"},
		{"config:add", "config:add", "config:set"},
		{"config:remove", "config:remove", "config:unset"},
		{"scale", "scale", "ps:scale"},
		{"restart", "restart", "ps:restart"},
		{"stop", "stop", "ps:stop"},
		{"resize", "ps:resize", "ps:type"},
		{"rollback", "rollback", "releases:rollback"},
		{"addons:add", "addons:add", "addons:create"},
		{"whoami", "whoami", "auth:whoami"},
		{"auth:login", "auth:login", "login"},
		{"dynos", "dynos", "ps"},
	}
	e := &cli.Env{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	root := New(e)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, _, err := root.Find([]string{tt.typed})
			if err != nil || c.Name() != tt.want {
				t.Fatalf("Find(%q) = %v, %v; want %s", tt.typed, c.Name(), err, tt.want)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		env     map[string]string
		code    int
		wantErr string
	}{
		{"help", []string{"--help"}, nil, 0, ""},
		{"version", []string{"--version"}, nil, 0, ""},
		{"unknown command", []string{"nope"}, nil, 2, "unknown command"},
		{"unknown flag", []string{"apps", "--nope"}, nil, 2, "unknown flag: --nope"},
		{"too many args", []string{"apps:rename", "a", "b"}, nil, 2, "accepts 1 arg"},
		{"bad assignment before any request", []string{"config:set", "-a", "x", "FOO"}, nil, 2, "FOO is invalid"},
		{"bad scale before any request", []string{"ps:scale", "-a", "x", "web=-1"}, nil, 2, "Invalid argument"},
		{"not logged in", []string{"apps"}, map[string]string{"HOME": t.TempDir()}, 1, "not logged in"},
		{"bad API URL", []string{"auth:token"}, map[string]string{"PAAS_API_URL": "::", "HOME": t.TempDir()}, 1, "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out, errb bytes.Buffer
			e := &cli.Env{Ctx: context.Background(), In: strings.NewReader(""), Out: &out, Err: &errb, Dir: t.TempDir(),
				Getenv: func(k string) string { return tt.env[k] }}
			code := Run(e, tt.args)
			if code != tt.code || !strings.Contains(errb.String(), tt.wantErr) {
				t.Fatalf("Run(%q) = %d, stderr %q; want %d with %q", tt.args, code, errb.String(), tt.code, tt.wantErr)
			}
			if tt.wantErr != "" && !strings.HasPrefix(errb.String(), " ▸    ") {
				t.Fatalf("stderr is not Heroku-style: %q", errb.String())
			}
		})
	}
}
