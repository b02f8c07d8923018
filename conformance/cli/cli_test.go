package conformancecli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/plugins/builtins"
	"github.com/paasd/paasd/plugins/drains/redact"
	"github.com/paasd/paasd/sdk/examples/buildpack-static/static"
)

func run(t *testing.T, r *Runner, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := r.Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestMainRedact runs builtin:redact end to end: load through the plugin
// host, every drain check, summary, JUnit and JSON files.
func TestMainRedact(t *testing.T) {
	dir := t.TempDir()
	junit, jsonPath := filepath.Join(dir, "out.xml"), filepath.Join(dir, "out.json")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"drain", "--plugin", "builtin:redact", "--junit", junit, "--json", jsonPath}, &stdout, &stderr)
	if code != ExitConformant {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"drain suite against builtin:redact", "plugin: " + redact.ID, "PASS  MUST    drain.filter.order", "\nconformant: yes ("} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep conformance.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if !rep.Conformant || rep.Info.ID != redact.ID || len(rep.Results) < 10 {
		t.Errorf("JSON report = %+v", rep)
	}
	b, err = os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit report: %v", err)
	}
	if doc.Tests != len(rep.Results) || doc.Failures != 0 {
		t.Errorf("JUnit tests/failures = %d/%d, want %d/0", doc.Tests, doc.Failures, len(rep.Results))
	}
}

func TestMainConfigAndLevel(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "redact.json")
	if err := os.WriteFile(cfg, []byte(`{"patterns":["\\b\\d{16}\\b"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, &Runner{}, "--plugin=builtin:redact", "--config", cfg, "--level", "must", "drain")
	if code != ExitConformant {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "  SHOULD  ") {
		t.Errorf("--level must ran SHOULD checks:\n%s", out)
	}
}

// brokenDrain miscounts what it accepted: it breaks drain.deliver.accepts.
type brokenDrain struct{ redact.Drain }

func (b *brokenDrain) Describe(ctx context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.drain.broken", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}

func (b *brokenDrain) Deliver(ctx context.Context, batch core.DrainBatch) (core.DeliverResult, error) {
	res, err := b.Drain.Deliver(ctx, batch)
	if res.Accepted > 1 {
		res.Accepted--
	}
	return res, err
}

func TestMainBrokenBuiltin(t *testing.T) {
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	reg.MustRegister(core.ContractDrain, "broken", func() core.Plugin { return &brokenDrain{} })
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out, errOut := run(t, &Runner{Registry: reg}, "drain", "--plugin", "builtin:broken", "--junit", junit)
	if code != ExitNotConformant {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"FAIL  MUST    drain.deliver.accepts", "Accepted = 49, want 50", "\nconformant: no ("} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<testcase name="drain.deliver.accepts" classname="paasd.conformance.drain" time="`) ||
		!strings.Contains(string(b), `<failure message="MUST drain.deliver.accepts`) {
		t.Errorf("JUnit report does not fail drain.deliver.accepts:\n%s", b)
	}
}

func TestMainUsage(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notJSON, []byte(`patterns: x`), 0o644); err != nil {
		t.Fatal(err)
	}
	badPattern := filepath.Join(dir, "pattern.json")
	if err := os.WriteFile(badPattern, []byte(`{"patterns":["("]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		want string
	}{
		{desc: "no arguments", args: nil, want: "missing CONTRACT (one of buildpack, runtime, router, drain, broker)"},
		{desc: "unknown contract", args: []string{"logs", "--plugin", "builtin:redact"}, want: `unknown contract "logs"`},
		{desc: "contract without a suite", args: []string{"router", "--plugin", "builtin:x"}, want: `no conformance suite for contract "router" yet (suites: broker, buildpack, drain)`},
		{desc: "missing plugin", args: []string{"drain"}, want: "missing --plugin REF"},
		{desc: "bad reference", args: []string{"drain", "--plugin", "redact"}, want: `--plugin: plugin reference "redact"`},
		{desc: "unknown builtin", args: []string{"drain", "--plugin", "builtin:nope"}, want: `no builtin drain named "nope"`},
		{desc: "transport not enabled", args: []string{"drain", "--plugin", "wasm:/nonexistent.wasm"}, want: "wasm plugins are not enabled"},
		{desc: "bad level", args: []string{"drain", "--plugin", "builtin:redact", "--level", "could"}, want: `--level: requirement level "could"`},
		{desc: "unknown flag", args: []string{"drain", "--plugin", "builtin:redact", "--verbose"}, want: "flag provided but not defined: -verbose"},
		{desc: "extra argument", args: []string{"drain", "extra", "--plugin", "builtin:redact"}, want: `unexpected arguments ["extra"]`},
		{desc: "missing config file", args: []string{"drain", "--plugin", "builtin:redact", "--config", filepath.Join(dir, "none.json")}, want: "none.json: no such file"},
		{desc: "config not JSON", args: []string{"drain", "--plugin", "builtin:redact", "--config", notJSON}, want: "bad.json: not a JSON object"},
		{desc: "config rejected by plugin", args: []string{"drain", "--plugin", "builtin:redact", "--config", badPattern}, want: "patterns[0]"},
		{desc: "unwritable report", args: []string{"drain", "--plugin", "builtin:redact", "--junit", filepath.Join(dir, "no", "dir.xml")}, want: "dir.xml"},
		{desc: "buildpack without app", args: []string{"buildpack", "--plugin", "builtin:x"}, want: "the buildpack suite needs --app DIR"},
		{desc: "buildpack app not a dir", args: []string{"buildpack", "--plugin", "builtin:x", "--app", filepath.Join(dir, "none")}, want: "--app " + filepath.Join(dir, "none") + ": not a directory"},
		{desc: "app flag on another contract", args: []string{"drain", "--plugin", "builtin:redact", "--app", dir}, want: "for the buildpack suite only"},
		{desc: "same report file twice", args: []string{"drain", "--plugin", "builtin:redact", "--junit", "r", "--json", "r"}, want: "name the same file"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, out, errOut := run(t, &Runner{}, tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, errOut)
			}
			if out != "" {
				t.Errorf("a usage error printed to stdout:\n%s", out)
			}
		})
	}
}

func TestMainHelp(t *testing.T) {
	code, out, _ := run(t, &Runner{}, "--help")
	if code != 0 || !strings.HasPrefix(out, "usage: paas conformance CONTRACT --plugin REF") {
		t.Errorf("--help: exit %d, output %q", code, out)
	}
}

// TestMainBuildpack runs the buildpack suite with its app flags against the
// example static buildpack, registered as a builtin.
func TestMainBuildpack(t *testing.T) {
	reg := pluginhost.NewRegistry()
	reg.MustRegister(core.ContractBuildpack, "static", func() core.Plugin { return static.New("") })
	apps := "../../sdk/examples/buildpack-static/testdata/"
	code, out, errOut := run(t, &Runner{Registry: reg}, "buildpack", "--plugin", "builtin:static",
		"--app", apps+"app", "--other-app", apps+"other", "--broken-app", apps+"broken", "--process-types", "web")
	if code != ExitConformant || !strings.Contains(out, "conformant: yes") || !strings.Contains(out, "buildpack.compile.fails-clearly") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = run(t, &Runner{Registry: reg}, "buildpack", "--plugin", "builtin:static", "--app", apps+"other")
	if code != ExitNotConformant || !strings.Contains(out, "conformant: no") {
		t.Fatalf("an app the buildpack does not detect: exit %d\n%s", code, out)
	}
}
