package wasmhost_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// guests maps a guest name to its built .wasm; built once per package run
// by TestMain.
var guests = map[string]string{}

// sharedCacheDir is one compilation cache for the package run, so that each
// guest is compiled once.
var sharedCacheDir string

// guestSources are the guest packages the tests build, by name.
var guestSources = map[string]string{
	"drain":         "./testdata/drainguest",
	"buildpack":     "./testdata/buildpackguest",
	"wrongcontract": "./testdata/wrongcontract",
	"logdrain":      "../../../sdk/wasmguest/example/logdrain",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmhost-guests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		sharedCacheDir = filepath.Join(dir, "cache")
		if err := buildGuests(dir); err != nil {
			fmt.Fprintln(os.Stderr, "build wasm guests:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// buildGuests builds every guest with the Go toolchain, in parallel.
func buildGuests(dir string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for name, src := range guestSources {
		out := filepath.Join(dir, name+".wasm")
		guests[name] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, src)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w\n%s", src, err, b))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// logBuffer is a concurrency-safe buffer for a slog text handler.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}
