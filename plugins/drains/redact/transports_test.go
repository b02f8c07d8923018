package redact_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/pluginhost/wasmhost"
	"github.com/paasd/paasd/plugins/builtins"
	"github.com/paasd/paasd/schemas"
)

// built holds the go-plugin binary and the Wasm module, built once.
var built struct {
	once             sync.Once
	dir              string
	plugin, wasmFile string
	err              error
}

func buildArtifacts(t *testing.T) (pluginPath, wasmPath string) {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "redact-transports-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.plugin = filepath.Join(dir, "paasd-drain-redact")
		built.wasmFile = filepath.Join(dir, "redact.wasm")
		steps := []struct {
			env  []string
			args []string
		}{
			{nil, []string{"build", "-o", built.plugin, "./cmd/paasd-drain-redact"}},
			{[]string{"GOOS=wasip1", "GOARCH=wasm"}, []string{"build", "-buildmode=c-shared", "-o", built.wasmFile, "./cmd/redact-wasm"}},
		}
		for _, s := range steps {
			cmd := exec.Command("go", s.args...)
			cmd.Env = append(os.Environ(), s.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = &buildError{strings.Join(s.args, " "), string(out), err}
				return
			}
		}
	})
	if built.err != nil {
		t.Fatalf("building the redact plugin: %v", built.err)
	}
	return built.plugin, built.wasmFile
}

type buildError struct {
	cmd, out string
	err      error
}

func (e *buildError) Error() string { return "go " + e.cmd + ": " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// newHost is paasd's own plugin host: builtins, go-plugin and Wasm openers,
// and the CUE validator on every message from a plugin.
func newHost(t *testing.T) *pluginhost.Host {
	t.Helper()
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	quiet := slog.New(slog.DiscardHandler)
	h := &pluginhost.Host{
		Registry:  reg,
		Validator: v,
		GoPlugin:  &goplugin.Opener{Logger: quiet},
		Wasm:      wasmhost.New(wasmhost.Options{CacheDir: filepath.Join(os.TempDir(), "paasd-test-wasm-cache"), Logger: quiet}),
		Logger:    quiet,
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestSameDrainThreeTransports is the foundation's proof: one small drain,
// served compiled in, as a go-plugin process and as a Wasm module, passes
// the same conformance run through the same host path paasd takes.
func TestSameDrainThreeTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a go-plugin binary and a Wasm module")
	}
	pluginPath, wasmPath := buildArtifacts(t)
	h := newHost(t)
	for _, ref := range []string{"builtin:redact", "plugin:" + pluginPath, "wasm:" + wasmPath} {
		kind, _, _ := strings.Cut(ref, ":")
		t.Run(kind, func(t *testing.T) {
			conformance.Drain(t, conformance.HostDrain(h, ref, nil))
		})
	}
}

// TestFilterSameAnswerEverywhere checks the three transports give the same
// redaction for the same input.
func TestFilterSameAnswerEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a go-plugin binary and a Wasm module")
	}
	pluginPath, wasmPath := buildArtifacts(t)
	h := newHost(t)
	in := []core.LogMessage{
		{Priority: 190, Host: "host", App: "app", ProcID: "web.1", Text: "connecting to postgres://app:s3cr3t@db:5432/app"},
		{Priority: 190, Host: "host", App: "app", ProcID: "web.1", Text: "password=hunter2 user=bob"},
	}
	var answers []string
	for _, ref := range []string{"builtin:redact", "plugin:" + pluginPath, "wasm:" + wasmPath} {
		l, err := h.Load(context.Background(), core.ContractDrain, ref, nil)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		f, ok := l.Impl.(core.LogFilter)
		if !ok {
			t.Fatalf("%s: not a filter", ref)
		}
		out, err := f.Filter(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: filter: %v", ref, err)
		}
		var texts []string
		for _, m := range out {
			texts = append(texts, m.Text)
		}
		answers = append(answers, strings.Join(texts, "\n"))
	}
	for i, a := range answers {
		if strings.Contains(a, "s3cr3t") || strings.Contains(a, "hunter2") {
			t.Errorf("transport %d leaked a secret: %q", i, a)
		}
		if a != answers[0] {
			t.Errorf("transport %d answered %q, builtin %q", i, a, answers[0])
		}
	}
}
