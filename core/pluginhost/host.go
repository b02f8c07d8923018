package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// ConfigValidator checks a plugin's configuration against the CUE schema the
// plugin declared; *schemas.Validator is one.
type ConfigValidator interface {
	wire.Validator
	ValidateConfig(schema string, config []byte) error
}

// Opener opens a transport to an out-of-process or sandboxed plugin. The
// returned Conn must apply its own per-call deadline and must turn a crashed
// or stopped plugin into an error wrapping core.ErrUnavailable, never a hang.
type Opener interface {
	Open(ctx context.Context, path string, contract core.Contract) (wire.Conn, io.Closer, error)
}

// Host loads implementations. The zero value is not usable; set Registry at
// least. A Host is safe for concurrent use.
type Host struct {
	// Registry resolves builtin: references. Nil means no builtins.
	Registry *Registry
	// Validator checks plugin messages and configs. Nil means no validation,
	// which is only for tests.
	Validator ConfigValidator
	// GoPlugin opens plugin: references; nil makes them an error.
	GoPlugin Opener
	// Wasm opens wasm: references; nil makes them an error.
	Wasm Opener
	// Logger receives the host's own log; nil means slog.Default().
	Logger *slog.Logger
	// DescribeTimeout bounds Describe and Configure at load; zero means 10 s.
	DescribeTimeout time.Duration

	mu     sync.Mutex
	loaded []*Loaded
}

// Loaded is one loaded, configured implementation.
type Loaded struct {
	Ref        core.Ref
	Info       core.PluginInfo
	APIVersion int
	// Impl implements the contract's interface (assert it, or use the typed
	// helpers such as [Loaded.Drain]).
	Impl   core.Plugin
	closer io.Closer
	once   sync.Once
}

// Close stops the implementation's process or module, if any.
func (l *Loaded) Close() error {
	var err error
	l.once.Do(func() {
		if l.closer != nil {
			err = l.closer.Close()
		}
	})
	return err
}

// Drain returns the implementation as a log drain, or nil.
func (l *Loaded) Drain() core.LogDrain { d, _ := l.Impl.(core.LogDrain); return d }

// Buildpack returns the implementation as a buildpack, or nil.
func (l *Loaded) Buildpack() core.Buildpack { b, _ := l.Impl.(core.Buildpack); return b }

// Runtime returns the implementation as a dyno runtime, or nil.
func (l *Loaded) Runtime() core.DynoRuntime { r, _ := l.Impl.(core.DynoRuntime); return r }

// Router returns the implementation as a router, or nil.
func (l *Loaded) Router() core.Router { r, _ := l.Impl.(core.Router); return r }

// Broker returns the implementation as an add-on broker, or nil.
func (l *Loaded) Broker() core.AddonBroker { b, _ := l.Impl.(core.AddonBroker); return b }

// HostVersions returns the contract API versions this core speaks for c.
func HostVersions(c core.Contract) []int {
	switch c {
	case core.ContractDrain:
		return core.DrainAPIVersions
	case core.ContractBuildpack:
		return core.BuildpackAPIVersions
	case core.ContractRuntime:
		return core.RuntimeAPIVersions
	case core.ContractRouter:
		return core.RouterAPIVersions
	case core.ContractBroker:
		return core.BrokerAPIVersions
	}
	return nil
}

// Load opens ref as an implementation of contract c, configures it with
// config (JSON; nil for none) and returns it. Every error names the reference
// and wraps a core sentinel: ErrInvalid for a bad reference or config,
// ErrNotFound for a missing builtin or file, ErrUnsupported for a contract or
// version mismatch, ErrPluginFailed when the plugin cannot be started.
func (h *Host) Load(ctx context.Context, c core.Contract, ref string, config json.RawMessage) (*Loaded, error) {
	r, err := core.ParseRef(ref)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Ref: r}
	switch r.Kind {
	case core.RefBuiltin:
		if h.Registry == nil {
			return nil, fmt.Errorf("%s: no builtin registry: %w", ref, core.ErrNotFound)
		}
		f, err := h.Registry.Lookup(c, r.Target)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		l.Impl = f()
		if cl, ok := l.Impl.(io.Closer); ok {
			l.closer = cl
		}
	case core.RefPlugin, core.RefWasm:
		opener := h.GoPlugin
		if r.Kind == core.RefWasm {
			opener = h.Wasm
		}
		if opener == nil {
			return nil, fmt.Errorf("%s: %s plugins are not enabled in this host: %w", ref, r.Kind, core.ErrUnsupported)
		}
		conn, closer, err := opener.Open(ctx, r.Target, c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		l.closer = closer
		var v wire.Validator = wire.NoValidation{}
		if h.Validator != nil {
			v = h.Validator
		}
		l.Impl = wire.NewClientFor(&wire.Client{Conn: conn, Name: ref, Contract: c, Validator: v})
	}
	if err := h.describeAndConfigure(ctx, c, l, config); err != nil {
		_ = l.Close()
		return nil, err
	}
	h.mu.Lock()
	h.loaded = append(h.loaded, l)
	h.mu.Unlock()
	h.logger().Info("plugin loaded", "ref", ref, "id", l.Info.ID, "contract", c, "api_version", l.APIVersion)
	return l, nil
}

func (h *Host) describeAndConfigure(ctx context.Context, c core.Contract, l *Loaded, config json.RawMessage) error {
	ref := l.Ref.String()
	timeout := h.DescribeTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := l.Impl.Describe(dctx)
	if err != nil {
		return fmt.Errorf("%s: describe: %w", ref, err)
	}
	l.Info = info
	if info.Contract != c {
		return fmt.Errorf("%s: plugin %q implements the %q contract, not %q: %w", ref, info.ID, info.Contract, c, core.ErrUnsupported)
	}
	v, err := core.NegotiateVersion(HostVersions(c), info.APIVersions)
	if err != nil {
		return fmt.Errorf("%s: plugin %q: %w", ref, info.ID, err)
	}
	l.APIVersion = v
	if len(config) > 0 && info.ConfigSchema == "" {
		return fmt.Errorf("%s: plugin %q takes no configuration but was given some: %w", ref, info.ID, core.ErrInvalid)
	}
	if info.ConfigSchema != "" && h.Validator != nil {
		cfg := config
		if len(cfg) == 0 {
			cfg = json.RawMessage("{}")
		}
		if err := h.Validator.ValidateConfig(info.ConfigSchema, cfg); err != nil {
			return fmt.Errorf("%s: plugin %q config: %w", ref, info.ID, err)
		}
	}
	if err := l.Impl.Configure(dctx, core.ConfigureRequest{APIVersion: v, Config: config}); err != nil {
		return fmt.Errorf("%s: plugin %q configure: %w", ref, info.ID, err)
	}
	return nil
}

// Close closes every implementation this host loaded.
func (h *Host) Close() error {
	h.mu.Lock()
	loaded := h.loaded
	h.loaded = nil
	h.mu.Unlock()
	var errs []error
	for _, l := range loaded {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: close: %w", l.Ref, err))
		}
	}
	return errors.Join(errs...)
}

func (h *Host) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
