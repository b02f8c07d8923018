// Package conformancecli is `paas conformance`: it loads a plugin through
// the plugin host, runs its contract's conformance suite, prints the summary
// and writes JUnit XML and JSON reports.
//
//	paas conformance CONTRACT --plugin REF [--config FILE.json] [--junit FILE] [--json FILE] [--level must|should|may]
//
// Exit status: 0 when the plugin is conformant, 1 when it is not, 2 for a
// usage error (bad arguments, unreadable config, a plugin that cannot be
// found or rejects the given config, an unwritable report file).
//
// # Notes
//
// The package has no global state. [Main] runs with paasd's builtins and no
// go-plugin or Wasm transport; the paas CLI builds a [Runner] with its
// transports and CUE validator instead.
package conformancecli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/pluginhost/wasmhost"
	"github.com/paasd/paasd/plugins/builtins"
	"github.com/paasd/paasd/schemas"
)

// Exit statuses of Main.
const (
	ExitConformant    = 0
	ExitNotConformant = 1
	ExitUsage         = 2
)

// SuiteFunc builds a contract's suite against ref, loaded through h with
// config for every check.
type SuiteFunc func(h *pluginhost.Host, ref string, config json.RawMessage) conformance.Suite

// DefaultSuites returns the suites paasd ships, by contract.
func DefaultSuites() map[core.Contract]SuiteFunc {
	return map[core.Contract]SuiteFunc{
		core.ContractDrain: func(h *pluginhost.Host, ref string, config json.RawMessage) conformance.Suite {
			return conformance.DrainSuite(conformance.HostDrain(h, ref, config))
		},
		core.ContractBroker: func(h *pluginhost.Host, ref string, config json.RawMessage) conformance.Suite {
			return conformance.BrokerSuite(conformance.HostBroker(h, ref, config))
		},
		// The buildpack suite needs apps (--app, …); Main binds them.
		core.ContractBuildpack: func(h *pluginhost.Host, ref string, config json.RawMessage) conformance.Suite {
			return conformance.BuildpackSuite(conformance.HostBuildpack(h, ref, config))
		},
	}
}

// Runner runs `paas conformance`. Every nil field has a documented default,
// so the zero value is ready to use.
type Runner struct {
	// Registry resolves builtin: references; nil means a registry holding
	// paasd's builtins (plugins/builtins).
	Registry *pluginhost.Registry
	// GoPlugin opens plugin: references; nil makes them a usage error.
	GoPlugin pluginhost.Opener
	// Wasm opens wasm: references; nil makes them a usage error.
	Wasm pluginhost.Opener
	// Validator checks plugin messages and configs against the contracts'
	// CUE definitions; nil means no validation.
	Validator pluginhost.ConfigValidator
	// Logger receives the plugin host's log; nil discards it.
	Logger *slog.Logger
	// Suites maps contracts to their suites; nil means DefaultSuites().
	Suites map[core.Contract]SuiteFunc
	// CheckTimeout bounds each check; zero means the suite's default (60 s).
	CheckTimeout time.Duration
}

// Main runs `paas conformance` the way paasd loads plugins: builtins, the
// go-plugin and Wasm transports, and the contracts' CUE validator on every
// message a plugin sends. args are the arguments after "conformance".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	r := Runner{GoPlugin: &goplugin.Opener{Logger: slog.New(slog.DiscardHandler)}}
	r.Wasm = wasmhost.New(wasmhost.Options{Logger: slog.New(slog.DiscardHandler)})
	v, err := schemas.New()
	if err != nil {
		fmt.Fprintf(stderr, "paas conformance: %v\n", err)
		return ExitUsage
	}
	r.Validator = v
	return r.Main(ctx, args, stdout, stderr)
}

const usage = `usage: paas conformance CONTRACT --plugin REF [--config FILE.json] [--junit FILE] [--json FILE] [--level must|should|may]
       paas conformance buildpack --plugin REF --app DIR [--other-app DIR] [--broken-app DIR] [--process-types web,…] [...]

Runs CONTRACT's conformance suite against the plugin REF (builtin:NAME,
plugin:PATH or wasm:PATH) and prints a summary. Exits 0 when the plugin is
conformant (every MUST requirement met), 1 when it is not, 2 on a usage error.

`

// options are the parsed command line.
type options struct {
	contract core.Contract
	ref      string
	config   json.RawMessage
	junit    string
	json     string
	level    conformance.Level
	// Buildpack apps: --app, --other-app, --broken-app, --process-types.
	app, otherApp, brokenApp string
	processTypes             []string
}

// usageError is a bad command line; Main prints it with the usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the command; args are the arguments after "conformance".
func (r *Runner) Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	suites := r.Suites
	if suites == nil {
		suites = DefaultSuites()
	}
	opts, err := parse(args, suites)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return ExitConformant
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "paas conformance: %s\n\n%s", err, usage)
		} else {
			fmt.Fprintf(stderr, "paas conformance: %s\n", err)
		}
		return ExitUsage
	}
	host := r.host()
	defer func() { _ = host.Close() }()
	if ref, _ := core.ParseRef(opts.ref); (ref.Kind == core.RefPlugin && host.GoPlugin == nil) || (ref.Kind == core.RefWasm && host.Wasm == nil) {
		fmt.Fprintf(stderr, "paas conformance: cannot load %s: %s plugins are not enabled in this build\n", opts.ref, ref.Kind)
		return ExitUsage
	}

	// Load once before running: a reference that names nothing, or a config
	// the plugin rejects, is the user's mistake, not a conformance failure.
	l, err := host.Load(ctx, opts.contract, opts.ref, opts.config)
	if err != nil && (errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid)) {
		fmt.Fprintf(stderr, "paas conformance: cannot load %s: %s\n", opts.ref, err)
		return ExitUsage
	}
	if err == nil {
		_ = l.Close()
	}

	files := map[string]func(io.Writer, conformance.Report) error{}
	if opts.junit != "" {
		files[opts.junit] = conformance.WriteJUnit
	}
	if opts.json != "" {
		files[opts.json] = conformance.WriteJSON
	}
	outs := map[string]*os.File{}
	for path := range files {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "paas conformance: report file: %s\n", err)
			closeAll(outs)
			return ExitUsage
		}
		outs[path] = f
	}
	defer closeAll(outs)

	var suite conformance.Suite
	if opts.contract == core.ContractBuildpack && r.Suites == nil {
		target := conformance.HostBuildpack(host, opts.ref, opts.config)
		target.App, target.OtherApp, target.BrokenApp = opts.app, opts.otherApp, opts.brokenApp
		target.WantProcessTypes = opts.processTypes
		suite = conformance.BuildpackSuite(target)
	} else {
		suite = suites[opts.contract](host, opts.ref, opts.config)
	}
	suite = suite.AtLeast(opts.level)
	if r.CheckTimeout > 0 {
		suite.Timeout = r.CheckTimeout
	}
	rep := conformance.Run(ctx, suite, opts.ref)
	if err := conformance.WriteSummary(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "paas conformance: %s\n", err)
	}
	status := ExitNotConformant
	if rep.Conformant {
		status = ExitConformant
	}
	for path, write := range files {
		f := outs[path]
		err := write(f, rep)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		delete(outs, path)
		if err != nil {
			fmt.Fprintf(stderr, "paas conformance: %s: %s\n", path, err)
			status = ExitUsage
		}
	}
	return status
}

func closeAll(files map[string]*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

func (r *Runner) host() *pluginhost.Host {
	reg := r.Registry
	if reg == nil {
		reg = pluginhost.NewRegistry()
		builtins.Register(reg)
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &pluginhost.Host{Registry: reg, GoPlugin: r.GoPlugin, Wasm: r.Wasm, Validator: r.Validator, Logger: logger}
}

// parse reads the command line: the contract and flags in any order.
func parse(args []string, suites map[core.Contract]SuiteFunc) (options, error) {
	var opts options
	fs := flag.NewFlagSet("paas conformance", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.ref, "plugin", "", "plugin reference: builtin:NAME, plugin:PATH or wasm:PATH")
	configPath := fs.String("config", "", "JSON file with the plugin's configuration")
	fs.StringVar(&opts.junit, "junit", "", "write a JUnit XML report to this file")
	fs.StringVar(&opts.json, "json", "", "write a JSON report to this file")
	level := fs.String("level", "may", "run requirements of this level and stronger: must, should or may")
	fs.StringVar(&opts.app, "app", "", "buildpack: an app dir the buildpack must detect and compile")
	fs.StringVar(&opts.otherApp, "other-app", "", "buildpack: an app dir it must not detect (default: an empty dir)")
	fs.StringVar(&opts.brokenApp, "broken-app", "", "buildpack: an app dir it detects but cannot compile (default: skip that check)")
	processTypes := fs.String("process-types", "", "buildpack: comma-separated process types Release must default for --app, e.g. web")
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return opts, err
			}
			return opts, usagef("%w", err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
	if len(positional) == 0 {
		return opts, usagef("missing CONTRACT (one of %s)", contractList())
	}
	if len(positional) > 1 {
		return opts, usagef("unexpected arguments %q after contract %q", positional[1:], positional[0])
	}
	opts.contract = core.Contract(positional[0])
	if !opts.contract.Valid() {
		return opts, usagef("unknown contract %q (one of %s)", positional[0], contractList())
	}
	if suites[opts.contract] == nil {
		var have []string
		for c := range suites {
			have = append(have, string(c))
		}
		sort.Strings(have)
		return opts, usagef("no conformance suite for contract %q yet (suites: %s)", opts.contract, strings.Join(have, ", "))
	}
	if opts.ref == "" {
		return opts, usagef("missing --plugin REF (builtin:NAME, plugin:PATH or wasm:PATH)")
	}
	if _, err := core.ParseRef(opts.ref); err != nil {
		return opts, usagef("--plugin: %w", err)
	}
	if *processTypes != "" {
		opts.processTypes = strings.Split(*processTypes, ",")
	}
	if opts.contract == core.ContractBuildpack {
		if opts.app == "" {
			return opts, usagef("the buildpack suite needs --app DIR (an app the buildpack builds)")
		}
		for _, d := range []struct{ flag, dir string }{{"--app", opts.app}, {"--other-app", opts.otherApp}, {"--broken-app", opts.brokenApp}} {
			if d.dir == "" {
				continue
			}
			if st, err := os.Stat(d.dir); err != nil || !st.IsDir() {
				return opts, usagef("%s %s: not a directory", d.flag, d.dir)
			}
		}
	} else if opts.app != "" || opts.otherApp != "" || opts.brokenApp != "" || *processTypes != "" {
		return opts, usagef("--app, --other-app, --broken-app and --process-types are for the buildpack suite only")
	}
	l, err := conformance.ParseLevel(*level)
	if err != nil {
		return opts, usagef("--level: %w", err)
	}
	opts.level = l
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return opts, usagef("--config: %w", err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return opts, usagef("--config %s: not a JSON object: %w", *configPath, err)
		}
		if obj == nil {
			return opts, usagef("--config %s: not a JSON object: null", *configPath)
		}
		opts.config = json.RawMessage(b)
	}
	if opts.junit != "" && opts.junit == opts.json {
		return opts, usagef("--junit and --json name the same file %q", opts.junit)
	}
	return opts, nil
}

func contractList() string {
	names := make([]string, len(core.Contracts))
	for i, c := range core.Contracts {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}
