package goplugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// testPlugin is the path of testdata/testplugin, built once by TestMain.
var testPlugin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "goplugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testPlugin = filepath.Join(dir, "testplugin")
	// go test puts GOROOT/bin first in PATH.
	goBin := "go"
	cmd := exec.Command(goBin, "build", "-o", testPlugin, "./testdata/testplugin")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build test plugin: %v\n", err)
		return 1
	}
	return m.Run()
}

// logRecord is one captured slog record, flattened.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recorder is a slog.Handler that keeps every record and lets a test wait
// for one.
type recorder struct {
	mu      sync.Mutex
	records []logRecord
	changed chan struct{}
	attrs   []slog.Attr
	root    *recorder
}

func newRecorder() *recorder {
	r := &recorder{changed: make(chan struct{})}
	r.root = r
	return r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { lr.attrs[a.Key] = a.Value.String(); return true })
	root := r.root
	root.mu.Lock()
	root.records = append(root.records, lr)
	close(root.changed)
	root.changed = make(chan struct{})
	root.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{root: r.root, attrs: append(append([]slog.Attr(nil), r.attrs...), as...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// wait returns the first record matching pred, waiting up to a generous
// limit for it.
func (r *recorder) wait(t *testing.T, what string, pred func(logRecord) bool) logRecord {
	t.Helper()
	limit := time.After(60 * time.Second)
	seen := 0
	for {
		r.mu.Lock()
		recs, changed := r.records, r.changed
		r.mu.Unlock()
		for _, rec := range recs[seen:] {
			if pred(rec) {
				return rec
			}
		}
		seen = len(recs)
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("no log record %s within 60 s; have %d records", what, seen)
		}
	}
}

// fakeValidator checks just enough of the drain contract's CUE definitions
// for these tests; package schemas holds the real one.
type fakeValidator struct{}

func (fakeValidator) Validate(def string, data []byte) error {
	if def != "#DrainDeliverResponse" {
		return nil
	}
	var resp map[string]any
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("%s: not a JSON object: %w", def, core.ErrSchemaViolation)
	}
	n, ok := resp["accepted"].(float64)
	if !ok || n < 0 {
		return fmt.Errorf("%s: accepted: invalid value %v (out of bound >=0): %w", def, resp["accepted"], core.ErrSchemaViolation)
	}
	return nil
}

func (fakeValidator) ValidateConfig(schema string, cfg []byte) error {
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		return fmt.Errorf("config is not a JSON object: %w", core.ErrInvalid)
	}
	for k := range m {
		if k != "tag" || !strings.Contains(schema, "tag") {
			return fmt.Errorf("config: field %q not allowed: %w", k, core.ErrInvalid)
		}
	}
	return nil
}
