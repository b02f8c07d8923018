package daemon

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// BenchmarkDeploy measures, through a whole paasd (runc runtime as root,
// process otherwise), what a Heroku user waits for:
//
//   - push/cold: `git push` of the small Go sample app to the first 200
//     from its web dyno, with an empty build cache (first iteration only);
//   - push/warm: the same after a one-line change, cache warm;
//   - rollback: `releases:rollback` to the previous release until the
//     router serves that release's answer.
//
// Run: go test -run '^$' -bench BenchmarkDeploy -benchtime 5x ./core/daemon/
func BenchmarkDeploy(b *testing.B) {
	git := testenv.NeedCommand(b, "git")
	rt := testRuntime()
	dataDir := filepath.Join(b.TempDir(), "data")
	d, router := startDaemonWithRouter(b, dataDir, "--runtime", rt)
	defer d.stop(b)
	d.call(b, "POST", "/apps", map[string]any{"name": "bench"})

	src := b.TempDir()
	sample, _ := filepath.Abs("../../plugins/buildpacks/testdata/go")
	for _, f := range []string{"go.mod", "main.go"} {
		raw, err := os.ReadFile(filepath.Join(sample, f))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, f), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	runGit := func(args ...string) {
		cmd := exec.Command(git, args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=b",
			"GIT_COMMITTER_EMAIL=b@example.com", "GIT_TERMINAL_PROMPT=0", "HOME="+src)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	remote := strings.Replace(d.url, "http://", "http://git:"+d.token+"@", 1) + "/bench.git"
	runGit("init", "-q", "-b", "main")
	version := 0
	// deploy commits a change that makes the app answer "vN" and pushes
	// it, returning the time until the router serves that answer.
	deploy := func() time.Duration {
		version++
		body := fmt.Sprintf("v%d", version)
		main := filepath.Join(src, "main.go")
		raw, _ := os.ReadFile(main)
		s := string(raw)
		if i := strings.Index(s, "hello from go"); i >= 0 {
			j := strings.Index(s[i:], " on ")
			s = s[:i] + "hello from go " + body + s[i+j:]
		}
		_ = os.WriteFile(main, []byte(s), 0o644)
		runGit("add", "-A")
		runGit("commit", "-qm", body)
		start := time.Now()
		runGit("push", "-q", remote, "main")
		if !waitBody(router, "bench", "hello from go "+body+" ") {
			diagnose(b, d, "bench", body)
		}
		return time.Since(start)
	}
	// deployed holds the id of each deploy's release, in order.
	var deployed []any
	current := func() any {
		_, list := d.callList(b, "/apps/bench/releases")
		return list[len(list)-1]["id"]
	}
	var cold time.Duration
	var warm, rollback []time.Duration
	cold = deploy()
	deployed = append(deployed, current())
	for b.Loop() {
		warm = append(warm, deploy())
		deployed = append(deployed, current())
		// Roll back to the previous deploy's release.
		start := time.Now()
		d.call(b, "POST", "/apps/bench/releases", map[string]any{"release": deployed[len(deployed)-2]})
		if !waitBody(router, "bench", fmt.Sprintf("hello from go v%d ", version-1)) {
			diagnose(b, d, "bench", "rollback")
		}
		rollback = append(rollback, time.Since(start))
	}
	b.ReportMetric(float64(cold.Milliseconds()), "push-cold-ms")
	b.ReportMetric(median(warm), "push-warm-p50-ms")
	b.ReportMetric(median(rollback), "rollback-p50-ms")
}

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// waitBody polls the router until app answers with want, for up to 3
// minutes.
func waitBody(router, app, want string) bool {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		c, body, err := routed(router, app, "/")
		if err == nil && c == 200 && strings.Contains(body, want) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// diagnose fails b with the app's releases, dynos and recent log.
func diagnose(b *testing.B, d *daemon, app, what string) {
	b.Helper()
	_, rels := d.callList(b, "/apps/"+app+"/releases")
	_, dynos := d.callList(b, "/apps/"+app+"/dynos")
	_, sess := d.call(b, "POST", "/apps/"+app+"/log-sessions", map[string]any{"lines": 200})
	var logs string
	if res, err := http.Get(fmt.Sprint(sess["logplex_url"])); err == nil {
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		logs = string(raw)
	}
	b.Fatalf("%s never served\nreleases %v\ndynos %v\nlogs:\n%s", what, rels, dynos, logs)
}
