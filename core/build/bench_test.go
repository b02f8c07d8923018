package build_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkPushGo measures `git push` of the small Go sample app to a
// GitServer until the slug is ready (the push returns), with a cold build
// cache (emptied before every push) and a warm one (the previous push's),
// on the process runtime and, as root, on runc. Each push changes a file so
// that git has something to send. The peer, BenchmarkHostGoBuild, is the
// same `go build` run directly on the host with the same cache state.
//
//	go test ./core/build -run '^$' -bench 'PushGo|HostGoBuild' -benchtime 1x -count 3
func BenchmarkPushGo(b *testing.B) {
	for _, kind := range []runtimeKind{processRT, runcRT} {
		b.Run(string(kind), func(b *testing.B) {
			if kind == runcRT && os.Geteuid() != 0 {
				b.Skip("runc needs root")
			}
			for _, cache := range []string{"cold", "warm"} {
				b.Run(cache, func(b *testing.B) {
					data := b.TempDir()
					rt := newRuntime(b, kind)
					p := newPipeline(b, rt, data)
					e := newGitEnv(b, p, data, 0)
					wc := workingCopy(b, "go")
					push := func(i int) {
						if err := os.WriteFile(filepath.Join(wc, "version.txt"), []byte(strings.Repeat("x", i+1)), 0o644); err != nil {
							b.Fatal(err)
						}
						for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "bump"}} {
							if out, err := gitRun(b, wc, args...); err != nil {
								b.Fatal(out)
							}
						}
						if out, err := gitRun(b, wc, "push", "-q", e.remote("bench-go", testToken), "main"); err != nil {
							b.Fatalf("push: %v\n%s", err, out)
						}
					}
					if cache == "warm" {
						push(-1)
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if cache == "cold" {
							b.StopTimer()
							_ = os.RemoveAll(p.CacheDir("bench-go"))
							b.StartTimer()
						}
						push(i)
					}
				})
			}
		})
	}
}

// BenchmarkHostGoBuild is the peer of BenchmarkPushGo: `go build` of the
// same app directly on the host (no git, no build dyno, no slug), with a
// cold or warm GOCACHE.
func BenchmarkHostGoBuild(b *testing.B) {
	for _, cache := range []string{"cold", "warm"} {
		b.Run(cache, func(b *testing.B) {
			src := filepath.Join(samples, "go")
			gocache := b.TempDir()
			out := b.TempDir()
			build := func() {
				cmd := exec.Command("/usr/local/go/bin/go", "build", "-trimpath", "-o", out+"/", "./...")
				cmd.Dir = src
				cmd.Env = append(os.Environ(), "GOCACHE="+gocache, "CGO_ENABLED=0", "GOTOOLCHAIN=local")
				if o, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("go build: %v\n%s", err, o)
				}
			}
			if cache == "warm" {
				build()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if cache == "cold" {
					b.StopTimer()
					_ = os.RemoveAll(gocache)
					b.StartTimer()
				}
				build()
			}
		})
	}
}
