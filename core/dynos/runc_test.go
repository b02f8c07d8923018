package dynos_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/dynos"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/runtimes/runc"
)

func TestMain(m *testing.M) {
	runc.Init()
	os.Exit(m.Run())
}

// hog allocates MB megabytes in 10 MB steps, then sleeps.
const hog = `import sys, time
mb = int(sys.argv[1]); a = []
for i in range(mb // 10):
    a.append(bytearray(10 << 20))
print("holding", mb, "MB", flush=True)
time.sleep(3600)
`

func emptySlug(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "slug.tgz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for n, b := range files {
		_ = tw.WriteHeader(&tar.Header{Name: "./" + n, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(b))
	}
	_ = tw.Close()
	_ = zw.Close()
	_ = f.Close()
	return p
}

type lines struct {
	mu sync.Mutex
	l  []string
}

func (s *lines) add(_ string, m core.LogMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l = append(s.l, m.App+"["+m.ProcID+"]: "+m.Text)
}

func (s *lines) has(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.l {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestMemoryHogInRuncDyno: in a real container, a dyno over its 512 MB quota
// logs R14 and keeps running; one past twice the quota is killed with R15.
func TestMemoryHogInRuncDyno(t *testing.T) {
	testenv.Short(t, "runs real containers")
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "python3")
	rt, err := runc.New(runc.Config{StateDir: filepath.Join(t.TempDir(), "runc"), Bridge: "paasdt0", Subnet: "10.249.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	var got lines
	m := dynos.New(rt, dynos.Options{MemoryCheckEvery: 200 * time.Millisecond, FirstBackoff: time.Hour, Log: got.add})
	t.Cleanup(func() {
		_ = m.Apply(context.Background(), dynos.Desired{App: "hog", Release: 1})
		time.Sleep(2 * time.Second)
		m.Close()
	})
	slug := emptySlug(t, map[string]string{"hog.py": hog})
	err = m.Apply(context.Background(), dynos.Desired{App: "hog", Release: 1, Slug: slug, Processes: []dynos.Process{
		{Type: "over", Command: "python3 hog.py 700", Quantity: 1, Size: "eco"},
		{Type: "vastly", Command: "python3 hog.py 1500", Quantity: 1, Size: "eco"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitLine := func(want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !got.has(want) {
			if time.Now().After(deadline) {
				got.mu.Lock()
				t.Fatalf("no %q in:\n%s", want, strings.Join(got.l, "\n"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitLine("app[over.1]: holding 700 MB")
	waitLine("heroku[over.1]: Error R14 (Memory quota exceeded)")
	waitLine("heroku[vastly.1]: Error R15 (Memory quota vastly exceeded)")
	if got.has("heroku[over.1]: Error R15") {
		t.Error("the dyno over its quota but under twice it was killed")
	}
}

// TestCrashLoopBacksOffInRuncDyno: a dyno that exits at once is restarted
// at once the first time, then after cool-offs that double.
func TestCrashLoopBacksOffInRuncDyno(t *testing.T) {
	testenv.Short(t, "runs real containers")
	testenv.NeedRoot(t)
	rt, err := runc.New(runc.Config{StateDir: filepath.Join(t.TempDir(), "runc"), Bridge: "paasdt1", Subnet: "10.250.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	var got lines
	m := dynos.New(rt, dynos.Options{FirstBackoff: time.Second, MaxBackoff: 4 * time.Second, Log: got.add})
	t.Cleanup(func() {
		_ = m.Apply(context.Background(), dynos.Desired{App: "crashy", Release: 1})
		time.Sleep(time.Second)
		m.Close()
	})
	err = m.Apply(context.Background(), dynos.Desired{App: "crashy", Release: 1, Slug: emptySlug(t, map[string]string{"x": ""}),
		Processes: []dynos.Process{{Type: "worker", Command: "echo boom; exit 3", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"restarting in 1s", "restarting in 2s", "restarting in 4s", "restarting in 4s"}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got.mu.Lock()
		var seen []string
		for _, l := range got.l {
			if i := strings.Index(l, "restarting in "); i >= 0 {
				seen = append(seen, l[i:])
			}
		}
		all := strings.Join(got.l, "\n")
		got.mu.Unlock()
		if len(seen) >= len(want) {
			if strings.Join(seen[:len(want)], ",") != strings.Join(want, ",") {
				t.Fatalf("cool-offs %v, want %v", seen, want)
			}
			if !strings.Contains(all, "heroku[worker.1]: Process exited with status 3") || !strings.Contains(all, "app[worker.1]: boom") {
				t.Fatalf("exit or output missing:\n%s", all)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cool-offs so far %v:\n%s", seen, all)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
