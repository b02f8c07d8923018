package main_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/paasd/paasd/internal/testenv"
)

// BenchmarkCLI runs the same commands with paas and with the official
// Heroku CLI (the peer, node; scripts/setup.d/30-heroku-cli.sh) against one
// paasd, in the same run: wall time per command, process start included,
// which is what a user waits for.
//
//	go test -run x -bench CLI -benchtime 10x ./cmd/paas/
func BenchmarkCLI(b *testing.B) {
	heroku := testenv.NeedCommand(b, "heroku")
	p := startPaasd(b)
	p.ok("apps:create", "bench")
	p.ok("config:set", "-a", "bench", "FOO=bar")
	home := b.TempDir()
	herokuEnv := append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+home+"/.cache", "XDG_CONFIG_HOME="+home+"/.config",
		"XDG_DATA_HOME="+home+"/.local/share", "HEROKU_HOST="+p.url, "HEROKU_API_KEY="+p.token, "HEROKU_SKIP_ANALYTICS=1",
		"HEROKU_SKIP_NEW_VERSION_CHECK=true", "DISABLE_TELEMETRY=true", "FORCE_COLOR=0", "NO_COLOR=1")
	commands := []struct {
		name string
		args []string
		want string
	}{
		{"apps", []string{"apps"}, "bench"},
		{"config:get", []string{"config:get", "FOO", "-a", "bench"}, "bar"},
		{"releases", []string{"releases", "-a", "bench"}, "Set FOO config vars"},
	}
	for _, c := range commands {
		for _, tool := range []struct {
			name string
			bin  string
			env  []string
		}{{"paas", paasBin, p.env}, {"heroku", heroku, herokuEnv}} {
			b.Run(c.name+"/"+tool.name, func(b *testing.B) {
				for b.Loop() {
					cmd := exec.Command(tool.bin, c.args...)
					cmd.Env, cmd.Dir = tool.env, home
					out, err := cmd.Output()
					if err != nil || !strings.Contains(string(out), c.want) {
						b.Fatalf("%s %v: %v\n%s", tool.name, c.args, err, out)
					}
				}
			})
		}
	}
}
