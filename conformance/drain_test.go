package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

// fakeDrain is a drain whose behaviour the test chooses; the zero value
// is a conformant, filter-less drain.
type fakeDrain struct {
	info      func() core.PluginInfo
	configure func(core.ConfigureRequest) error
	deliver   func(context.Context, core.DrainBatch) (core.DeliverResult, error)
}

func (f *fakeDrain) Describe(context.Context) (core.PluginInfo, error) {
	if f.info != nil {
		return f.info(), nil
	}
	return core.PluginInfo{ID: "test.drain.fake", Contract: core.ContractDrain, APIVersions: []int{1}, ConfigSchema: "{}"}, nil
}

func (f *fakeDrain) Configure(_ context.Context, req core.ConfigureRequest) error {
	if f.configure != nil {
		return f.configure(req)
	}
	if len(req.Config) > 0 && req.Config[0] != '{' || strings.Contains(string(req.Config), "no-such-field") {
		return fmt.Errorf("bad config: %w", core.ErrInvalid)
	}
	return nil
}

func (f *fakeDrain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	if f.deliver != nil {
		return f.deliver(ctx, b)
	}
	if err := ctx.Err(); err != nil {
		return core.DeliverResult{}, err
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// fakeFilter adds a Filter to fakeDrain.
type fakeFilter struct {
	fakeDrain
	filter func([]core.LogMessage) []core.LogMessage
}

func (f *fakeFilter) Filter(_ context.Context, msgs []core.LogMessage) ([]core.LogMessage, error) {
	return f.filter(msgs), nil
}

func withFilterCap() core.PluginInfo {
	return core.PluginInfo{ID: "test.drain.fake", Contract: core.ContractDrain, APIVersions: []int{1}, Capabilities: []string{"filter"}}
}

// TestDrainSuiteCatchesBrokenDrains checks that each broken drain fails the
// requirement it breaks, and only the requirements it is expected to.
func TestDrainSuiteCatchesBrokenDrains(t *testing.T) {
	upper := func(msgs []core.LogMessage) []core.LogMessage {
		out := slices.Clone(msgs)
		for i := range out {
			out[i].Text = strings.ToUpper(out[i].Text)
		}
		return out
	}
	tests := []struct {
		desc       string
		drain      func() core.LogDrain
		wantFailed []string
		conformant bool
	}{
		{desc: "conformant drain", drain: func() core.LogDrain { return &fakeDrain{} }, conformant: true},
		{desc: "conformant filter", conformant: true, drain: func() core.LogDrain {
			return &fakeFilter{fakeDrain{info: withFilterCap}, upper}
		}},
		{desc: "miscounts", wantFailed: []string{"drain.deliver.accepts", "drain.deliver.max-message", "drain.deliver.unicode", "drain.deliver.concurrent"},
			drain: func() core.LogDrain {
				return &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
					return core.DeliverResult{Accepted: max(len(b.Messages)-1, 0)}, ctx.Err()
				}}
			}},
		{desc: "rejects empty batch", wantFailed: []string{"drain.deliver.empty"},
			drain: func() core.LogDrain {
				return &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
					if len(b.Messages) == 0 || ctx.Err() != nil {
						return core.DeliverResult{}, errors.New("empty")
					}
					return core.DeliverResult{Accepted: len(b.Messages)}, nil
				}}
			}},
		{desc: "rejects long messages", wantFailed: []string{"drain.deliver.max-message", "drain.deliver.unicode"},
			drain: func() core.LogDrain {
				return &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
					for _, m := range b.Messages {
						if len(m.Text) > 1024 || ctx.Err() != nil {
							return core.DeliverResult{}, fmt.Errorf("too long: %w", core.ErrInvalid)
						}
					}
					return core.DeliverResult{Accepted: len(b.Messages)}, nil
				}}
			}},
		{desc: "ignores cancellation", wantFailed: []string{"drain.deliver.cancelled"},
			drain: func() core.LogDrain {
				return &fakeDrain{deliver: func(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
					return core.DeliverResult{Accepted: len(b.Messages)}, nil
				}}
			}},
		{desc: "bad describe", wantFailed: []string{"drain.describe.shape", "drain.describe.capabilities"},
			drain: func() core.LogDrain {
				return &fakeDrain{info: func() core.PluginInfo {
					return core.PluginInfo{ID: "Fake", Contract: core.ContractDrain, APIVersions: []int{1, 7}, Capabilities: []string{"teleport"}}
				}}
			}},
		{desc: "accepts any config", wantFailed: []string{"drain.configure.reject-bad"}, conformant: true,
			drain: func() core.LogDrain {
				return &fakeDrain{configure: func(core.ConfigureRequest) error { return nil }}
			}},
		{desc: "declares filter without Filter", wantFailed: []string{"drain.filter.empty", "drain.filter.order", "drain.filter.idempotent"},
			drain: func() core.LogDrain { return &fakeDrain{info: withFilterCap} }},
		{desc: "filter reverses", wantFailed: []string{"drain.filter.order", "drain.filter.idempotent"},
			drain: func() core.LogDrain {
				return &fakeFilter{fakeDrain{info: withFilterCap}, func(m []core.LogMessage) []core.LogMessage {
					out := slices.Clone(m)
					slices.Reverse(out)
					return out
				}}
			}},
		{desc: "filter invents messages", wantFailed: []string{"drain.filter.empty", "drain.filter.order", "drain.filter.idempotent"},
			drain: func() core.LogDrain {
				return &fakeFilter{fakeDrain{info: withFilterCap}, func(m []core.LogMessage) []core.LogMessage {
					return append(slices.Clone(m), core.LogMessage{App: "app", ProcID: "web.9", Text: "invented"})
				}}
			}},
		{desc: "filter not idempotent", wantFailed: []string{"drain.filter.idempotent"}, conformant: true,
			drain: func() core.LogDrain {
				return &fakeFilter{fakeDrain{info: withFilterCap}, func(m []core.LogMessage) []core.LogMessage {
					out := slices.Clone(m)
					for i := range out {
						out[i].Text += "!"
					}
					return out
				}}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			target := InProcessDrain(tc.drain, nil)
			rep := Run(context.Background(), DrainSuite(target), target.Name)
			var failed []string
			for _, r := range rep.Results {
				if r.Status == Fail {
					failed = append(failed, r.ID)
					if r.Message == "" {
						t.Errorf("%s failed without a message", r.ID)
					}
				}
			}
			if !slices.Equal(failed, tc.wantFailed) {
				var b strings.Builder
				_ = WriteSummary(&b, rep)
				t.Errorf("failed %v, want %v\n%s", failed, tc.wantFailed, b.String())
			}
			if rep.Conformant != (tc.conformant || len(tc.wantFailed) == 0) {
				t.Errorf("conformant = %v", rep.Conformant)
			}
		})
	}
}

func TestDrainSuiteSkipsUndeclaredCapabilities(t *testing.T) {
	target := InProcessDrain(func() core.LogDrain { return &fakeDrain{} }, nil)
	rep := Run(context.Background(), DrainSuite(target), target.Name)
	for _, r := range rep.Results {
		if r.Capability == core.DrainCapFilter && r.Status != Skip {
			t.Errorf("%s ran for a drain without the filter capability: %s", r.ID, r.Status)
		}
	}
}

func TestDrainSuiteIDs(t *testing.T) {
	s := DrainSuite(DrainTarget{})
	seen := map[string]bool{}
	for _, c := range s.Checks {
		if !dottedID.MatchString(c.ID) || !strings.HasPrefix(c.ID, "drain.") {
			t.Errorf("check id %q is not a dotted drain.* id", c.ID)
		}
		if seen[c.ID] {
			t.Errorf("duplicate check id %q", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Run == nil || c.Level.rank() == 0 {
			t.Errorf("check %q lacks a title, a body or a level", c.ID)
		}
	}
}

// TestDrainUnderGoTest runs the suite through [Drain], as a vendor would.
func TestDrainUnderGoTest(t *testing.T) {
	Drain(t, InProcessDrain(func() core.LogDrain {
		return &fakeFilter{fakeDrain{info: withFilterCap}, slices.Clone[[]core.LogMessage]}
	}, nil))
}

// netDrain really sends each batch to its URL: syslog:// over TCP, http://
// as a POST; anything else is ErrInvalid.
func netDrain(caps ...string) core.LogDrain {
	return &fakeDrain{
		info: func() core.PluginInfo {
			return core.PluginInfo{ID: "test.drain.net", Contract: core.ContractDrain, APIVersions: []int{1}, Capabilities: caps}
		},
		deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
			if err := ctx.Err(); err != nil {
				return core.DeliverResult{}, err
			}
			var body strings.Builder
			for _, m := range b.Messages {
				fmt.Fprintf(&body, "%d <190>1 - %s\n", len(m.Text), m.Text)
			}
			u, err := url.Parse(b.URL)
			if err != nil {
				return core.DeliverResult{}, fmt.Errorf("%w: %w", err, core.ErrInvalid)
			}
			switch u.Scheme {
			case "syslog":
				var dialer net.Dialer
				c, err := dialer.DialContext(ctx, "tcp", u.Host)
				if err != nil {
					return core.DeliverResult{}, fmt.Errorf("%w: %w", err, core.ErrUnavailable)
				}
				defer c.Close()
				if _, err := io.WriteString(c, body.String()); err != nil {
					return core.DeliverResult{}, fmt.Errorf("%w: %w", err, core.ErrUnavailable)
				}
			case "http":
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL, strings.NewReader(body.String()))
				if err != nil {
					return core.DeliverResult{}, fmt.Errorf("%w: %w", err, core.ErrInvalid)
				}
				req.Header.Set("Content-Type", "application/logplex-1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return core.DeliverResult{}, fmt.Errorf("%w: %w", err, core.ErrUnavailable)
				}
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					return core.DeliverResult{}, fmt.Errorf("status %d: %w", resp.StatusCode, core.ErrUnavailable)
				}
			default:
				return core.DeliverResult{}, fmt.Errorf("scheme %q: %w", u.Scheme, core.ErrInvalid)
			}
			return core.DeliverResult{Accepted: len(b.Messages)}, nil
		},
	}
}

// TestDrainSuiteDestinations checks that a destination drain gets a live
// loopback receiver matching its declared capability when the target
// names no URL.
func TestDrainSuiteDestinations(t *testing.T) {
	tests := []struct {
		desc       string
		caps       []string
		conformant bool
	}{
		{desc: "syslog", caps: []string{DrainCapSyslog}, conformant: true},
		{desc: "https", caps: []string{DrainCapHTTPS}, conformant: true},
		{desc: "no destination capability", conformant: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			target := InProcessDrain(func() core.LogDrain { return netDrain(tc.caps...) }, nil)
			suite := DrainSuite(target)
			// The destination checks (drain.delivery.*) need a real
			// syslog or logplex-1 sender; the reference drains run them.
			// Here only the base checks against the discarding receivers.
			base := suite.Checks[:0]
			for _, c := range suite.Checks {
				if !strings.HasPrefix(c.ID, "drain.delivery.") {
					base = append(base, c)
				}
			}
			suite.Checks = base
			rep := Run(context.Background(), suite, target.Name)
			if rep.Conformant != tc.conformant {
				var b strings.Builder
				_ = WriteSummary(&b, rep)
				t.Errorf("conformant = %v, want %v\n%s", rep.Conformant, tc.conformant, b.String())
			}
		})
	}
}
