package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

// Log drain capabilities checked by destination checks (see
// drain_delivery.go), in addition to core.DrainCapFilter and
// core.DrainCapDedup.
const (
	// DrainCapSyslog: the drain delivers to syslog:// (TCP) destinations.
	DrainCapSyslog = "syslog"
	// DrainCapSyslogTLS: the drain delivers to syslog+tls:// destinations.
	DrainCapSyslogTLS = "syslog-tls"
	// DrainCapHTTPS: the drain delivers to http(s):// destinations as
	// application/logplex-1.
	DrainCapHTTPS = "https"
)

// DrainCapabilities are the log drain capabilities the suite knows.
var DrainCapabilities = []string{core.DrainCapFilter, core.DrainCapDedup, DrainCapSyslog, DrainCapSyslogTLS, DrainCapHTTPS}

// DrainTarget is a log drain implementation under test.
type DrainTarget struct {
	// Name names the implementation in reports, e.g. its plugin reference.
	Name string
	// New returns a fresh instance configured with config (JSON; nil for
	// none), and a function that releases it (nil if there is nothing to
	// release). Every check gets its own instance. [HostDrain] and
	// [InProcessDrain] build New from a plugin reference or a constructor.
	New func(ctx context.Context, config json.RawMessage) (core.LogDrain, func() error, error)
	// Config is the configuration each check's instance gets; nil for none.
	Config json.RawMessage
	// BadConfigs are configurations the implementation must reject, in
	// addition to the suite's own (a JSON array, a number, a string, an
	// object with an unknown field).
	BadConfigs []json.RawMessage
	// TrustCA returns config changed so that the drain trusts the PEM CA
	// certificate caPEM, which signs the destination checks' TLS receivers
	// (paasd's reference drains take it as "tls_ca_pem"). Nil leaves the
	// config unchanged: TLS destination checks then fail unless the drain
	// trusts that CA some other way.
	TrustCA func(config json.RawMessage, caPEM string) json.RawMessage
	// URL is the destination URL the deliver checks' batches carry. Empty
	// means: for a drain declaring "syslog", a TCP receiver on 127.0.0.1
	// that discards what it reads (syslog://127.0.0.1:PORT); for one
	// declaring "https", a plain HTTP receiver answering 204
	// (http://127.0.0.1:PORT/logs); otherwise "conformance://discard",
	// which suits filters. Destination checks set their own URL.
	URL string
}

// HostDrain is a target that loads ref through h for every check: the same
// path (transport, describe, version negotiation, config validation,
// configure) that paasd itself takes.
func HostDrain(h *pluginhost.Host, ref string, config json.RawMessage) DrainTarget {
	return DrainTarget{
		Name:   ref,
		Config: config,
		New: func(ctx context.Context, cfg json.RawMessage) (core.LogDrain, func() error, error) {
			l, err := h.Load(ctx, core.ContractDrain, ref, cfg)
			if err != nil {
				return nil, nil, err
			}
			d := l.Drain()
			if d == nil {
				_ = l.Close()
				return nil, nil, fmt.Errorf("%s: loaded implementation is not a core.LogDrain: %w", ref, core.ErrUnsupported)
			}
			return d, l.Close, nil
		},
	}
}

// InProcessDrain is a target that builds each instance with newDrain and
// loads it as a builtin through a private pluginhost.Host (no config
// validation), named "builtin:under-test" in reports.
func InProcessDrain(newDrain func() core.LogDrain, config json.RawMessage) DrainTarget {
	reg := pluginhost.NewRegistry()
	reg.MustRegister(core.ContractDrain, "under-test", func() core.Plugin { return newDrain() })
	h := &pluginhost.Host{Registry: reg, Logger: slog.New(slog.DiscardHandler)}
	return HostDrain(h, "builtin:under-test", config)
}

// Drain runs the log drain suite against target under go test, one subtest
// per requirement.
func Drain(t *testing.T, target DrainTarget) {
	t.Helper()
	RunTest(t, DrainSuite(target))
}

// DrainSuite returns the log drain contract's checks bound to target:
// describe and configure, delivery of ordinary, empty, maximal, Unicode,
// concurrent and cancelled batches, the filter capability, and the
// destination checks of drain_delivery.go.
func DrainSuite(target DrainTarget) Suite {
	d := drainChecks{target: target}
	s := Suite{
		Contract: core.ContractDrain,
		Describe: func(ctx context.Context) (core.PluginInfo, error) {
			drain, release, err := target.New(ctx, target.Config)
			if err != nil {
				return core.PluginInfo{}, err
			}
			if release != nil {
				defer func() { _ = release() }()
			}
			return drain.Describe(ctx)
		},
		Checks: []Check{
			{ID: "drain.describe.shape", Level: Must, Run: d.describeShape,
				Title: "Describe gives a dotted id, the drain contract and an API version the host speaks"},
			{ID: "drain.describe.capabilities", Level: Should, Run: d.describeCapabilities,
				Title: "declared capabilities are from the drain contract's documented set"},
			{ID: "drain.configure.reject-bad", Level: Should, Run: d.configureRejectBad,
				Title: "a configuration the drain cannot use is rejected with an error wrapping ErrInvalid"},
			{ID: "drain.deliver.accepts", Level: Must, Run: d.deliverAccepts,
				Title: "an accepted batch reports Accepted equal to the number of messages"},
			{ID: "drain.deliver.empty", Level: Must, Run: d.deliverEmpty,
				Title: "an empty batch is accepted with Accepted 0"},
			{ID: "drain.deliver.max-message", Level: Must, Run: d.deliverMaxMessage,
				Title: "a message of 10,240 bytes (Logplex's maximum) is accepted"},
			{ID: "drain.deliver.unicode", Level: Must, Run: d.deliverUnicode,
				Title: "messages in any script, with emoji and combining marks, are accepted"},
			{ID: "drain.deliver.concurrent", Level: Must, Run: d.deliverConcurrent,
				Title: "concurrent Deliver calls on one instance all succeed"},
			{ID: "drain.deliver.cancelled", Level: Must, Run: d.deliverCancelled,
				Title: "Deliver with a cancelled context returns an error and does not hang"},
			{ID: "drain.filter.empty", Level: Must, Capability: core.DrainCapFilter, Run: d.filterEmpty,
				Title: "filtering no messages gives no messages and no error"},
			{ID: "drain.filter.order", Level: Must, Capability: core.DrainCapFilter, Run: d.filterOrder,
				Title: "filtered messages keep their order within each source and are not invented"},
			{ID: "drain.filter.idempotent", Level: Should, Capability: core.DrainCapFilter, Run: d.filterIdempotent,
				Title: "filtering filtered messages changes nothing"},
		},
	}
	s.Checks = append(s.Checks, drainDeliveryChecks(target)...)
	return s
}

// drainChecks holds the check bodies of the drain suite.
type drainChecks struct{ target DrainTarget }

// open returns a fresh, configured instance released when the check ends.
func (d drainChecks) open(t *T) core.LogDrain {
	t.Helper()
	drain, release, err := d.target.New(t.Context(), d.target.Config)
	if err != nil {
		t.Fatalf("load and configure the drain: %v", err)
	}
	if release != nil {
		t.Cleanup(func() { _ = release() })
	}
	return drain
}

// conformanceEpoch is the time of the suite's first message.
var conformanceEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sources are the (App, ProcID) pairs the suite's messages come from.
var sources = [][2]string{{"app", "web.1"}, {"app", "worker.1"}, {"heroku", "router"}}

// sampleTexts are message bodies: ordinary lines, and lines with secrets a
// filter may rewrite.
var sampleTexts = []string{
	`Started GET "/" for 10.0.0.1 at 2026-01-02 03:04:05 +0000`,
	`at=info method=GET path="/" host=app.example.com request_id=4b1c0e5e fwd="1.2.3.4" dyno=web.1 connect=1ms service=5ms status=200 bytes=123 protocol=https`,
	`connecting to postgres://app:s3cr3t@db.internal:5432/app`,
	`login ok user=alice password=hunter2 token=abc123`,
	`GET /api Authorization: Bearer eyJhbGciOi.payload.sig`,
	`Completed 200 OK in 5ms (Views: 1.2ms | ActiveRecord: 0.8ms)`,
}

// discardURL is the destination of batches that no receiver reads.
const discardURL = "conformance://discard"

// destination returns the URL the deliver checks send drain's batches to:
// the target's URL when it has one; else, for a drain that declares a
// destination capability, a receiver on the loopback interface that reads
// and discards what it gets, started for this check (syslog: TCP;
// https: plain HTTP answering 204); else discardURL.
func (d drainChecks) destination(t *T, drain core.LogDrain) string {
	t.Helper()
	if d.target.URL != "" {
		return d.target.URL
	}
	info, err := drain.Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	switch {
	case info.HasCapability(DrainCapSyslog):
		return "syslog://" + discardTCP(t)
	case info.HasCapability(DrainCapHTTPS):
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/logs"
	}
	return discardURL
}

// discardTCP starts a TCP listener on 127.0.0.1 that reads and discards
// every connection until the check ends, and returns its address.
func discardTCP(t *T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start a discarding syslog receiver: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// batch builds a batch for url of messages with the given texts, round-robin over
// the sources, with strictly increasing times from first.
func (d drainChecks) batch(url, frame string, first int, texts ...string) core.DrainBatch {
	b := core.DrainBatch{
		DrainID: "d.6f1c2d6e-0000-4000-8000-00000000c0de",
		URL:     url,
		AppName: "conformance-app",
		FrameID: frame,
	}
	for i, text := range texts {
		src := sources[(first+i)%len(sources)]
		b.Messages = append(b.Messages, core.LogMessage{
			Time:     conformanceEpoch.Add(time.Duration(first+i) * time.Millisecond),
			Priority: 190,
			Host:     "host",
			App:      src[0],
			ProcID:   src[1],
			MsgID:    "-",
			Text:     text,
		})
	}
	return b
}

// texts returns n sample texts.
func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s (line %d)", sampleTexts[i%len(sampleTexts)], i)
	}
	return out
}

// deliver delivers b and checks Accepted == len(b.Messages).
func deliver(t *T, drain core.LogDrain, b core.DrainBatch) {
	t.Helper()
	res, err := drain.Deliver(t.Context(), b)
	if err != nil {
		t.Errorf("Deliver of %d messages (frame %s): %v", len(b.Messages), b.FrameID, err)
		return
	}
	if res.Accepted != len(b.Messages) {
		t.Errorf("Deliver of %d messages (frame %s): Accepted = %d, want %d", len(b.Messages), b.FrameID, res.Accepted, len(b.Messages))
	}
}

var dottedID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$`)

func (d drainChecks) describeShape(t *T) {
	info, err := d.open(t).Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if !dottedID.MatchString(info.ID) {
		t.Errorf("id %q is not a dotted, lower-case id such as \"vendor.drain.name\"", info.ID)
	}
	if info.Contract != core.ContractDrain {
		t.Errorf("contract %q, want %q", info.Contract, core.ContractDrain)
	}
	if _, err := core.NegotiateVersion(core.DrainAPIVersions, info.APIVersions); err != nil {
		t.Errorf("api_versions %v: %v", info.APIVersions, err)
	}
	again, err := d.open(t).Describe(t.Context())
	if err != nil {
		t.Fatalf("second Describe: %v", err)
	}
	if again.ID != info.ID || again.Contract != info.Contract || fmt.Sprint(again.APIVersions) != fmt.Sprint(info.APIVersions) {
		t.Errorf("Describe is not stable: %+v then %+v", info, again)
	}
}

func (d drainChecks) describeCapabilities(t *T) {
	info, err := d.open(t).Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range info.Capabilities {
		known := false
		for _, k := range DrainCapabilities {
			known = known || c == k
		}
		if !known {
			t.Errorf("capability %q is not a drain capability (known: %s)", c, strings.Join(DrainCapabilities, ", "))
		}
		if seen[c] {
			t.Errorf("capability %q declared twice", c)
		}
		seen[c] = true
	}
}

func (d drainChecks) configureRejectBad(t *T) {
	bad := []json.RawMessage{
		json.RawMessage(`[1,2,3]`),
		json.RawMessage(`42`),
		json.RawMessage(`"text"`),
		json.RawMessage(`{"paasd-conformance-no-such-field":true}`),
	}
	bad = append(bad, d.target.BadConfigs...)
	for _, cfg := range bad {
		drain, release, err := d.target.New(t.Context(), cfg)
		if release != nil {
			_ = release()
		}
		switch {
		case err == nil:
			_ = drain
			t.Errorf("config %s was accepted", cfg)
		case !errors.Is(err, core.ErrInvalid) && !errors.Is(err, core.ErrSchemaViolation):
			t.Errorf("config %s: rejected, but the error does not wrap ErrInvalid: %v", cfg, err)
		}
	}
}

func (d drainChecks) deliverAccepts(t *T) {
	drain := d.open(t)
	url := d.destination(t, drain)
	deliver(t, drain, d.batch(url, "f.accepts.1", 0, texts(1)...))
	deliver(t, drain, d.batch(url, "f.accepts.2", 1, texts(50)...))
}

func (d drainChecks) deliverEmpty(t *T) {
	drain := d.open(t)
	url := d.destination(t, drain)
	res, err := drain.Deliver(t.Context(), d.batch(url, "f.empty", 0))
	if err != nil {
		t.Fatalf("Deliver of an empty batch: %v", err)
	}
	if res.Accepted != 0 {
		t.Errorf("Deliver of an empty batch: Accepted = %d, want 0", res.Accepted)
	}
}

// MaxMessageBytes is Logplex's maximum message size.
const MaxMessageBytes = 10240

func (d drainChecks) deliverMaxMessage(t *T) {
	drain := d.open(t)
	url := d.destination(t, drain)
	line := strings.Repeat("0123456789abcdef", MaxMessageBytes/16)
	line = line[:MaxMessageBytes-len("x")] + "x"
	deliver(t, drain, d.batch(url, "f.max", 0, line))
	deliver(t, drain, d.batch(url, "f.max.mixed", 1, "short", line, "short again"))
}

func (d drainChecks) deliverUnicode(t *T) {
	drain := d.open(t)
	url := d.destination(t, drain)
	deliver(t, drain, d.batch(url, "f.unicode", 0,
		"héllo wörld, ça va?",
		"日本語のログ行です",
		"emoji 🚀🔥 and a flag 🇳🇿",
		"combining: e\u0301 a\u0308 n\u0303",
		"right-to-left: שלום עולם مرحبا",
		"tab\tseparated\tcolumns and a \"quoted\" <tag> & ampersand",
		strings.Repeat("é", MaxMessageBytes/2),
	))
}

func (d drainChecks) deliverConcurrent(t *T) {
	drain := d.open(t)
	url := d.destination(t, drain)
	const workers, batches = 8, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				deliver(t, drain, d.batch(url, fmt.Sprintf("f.concurrent.%d.%d", w, i), w*100+i*20, texts(20)...))
			}
		}()
	}
	wg.Wait()
}

// cancelWait is how long a Deliver with a cancelled context may take before
// the suite calls it a hang; generous, since it only catches hangs.
const cancelWait = 20 * time.Second

func (d drainChecks) deliverCancelled(t *T) {
	drain := d.open(t)
	url := d.destination(t, drain)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := drain.Deliver(ctx, d.batch(url, "f.cancelled", 0, texts(10)...))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Deliver with a cancelled context returned no error")
		}
	case <-time.After(cancelWait):
		t.Errorf("Deliver with a cancelled context had not returned after %v", cancelWait)
	}
}

// filter returns drain as a core.LogFilter, or ends the check.
func filter(t *T, drain core.LogDrain) core.LogFilter {
	t.Helper()
	f, ok := drain.(core.LogFilter)
	if !ok {
		t.Fatalf("capability %q declared, but the drain does not implement core.LogFilter", core.DrainCapFilter)
	}
	return f
}

func (d drainChecks) filterEmpty(t *T) {
	f := filter(t, d.open(t))
	for _, in := range [][]core.LogMessage{nil, {}} {
		out, err := f.Filter(t.Context(), in)
		if err != nil {
			t.Fatalf("Filter of no messages: %v", err)
		}
		if len(out) != 0 {
			t.Errorf("Filter of no messages gave %d messages", len(out))
		}
	}
}

// msgKey identifies a message across a filter that may rewrite its text.
type msgKey struct {
	app, proc string
	ns        int64
}

func keyOf(m core.LogMessage) msgKey { return msgKey{m.App, m.ProcID, m.Time.UnixNano()} }

func (d drainChecks) filterOrder(t *T) {
	f := filter(t, d.open(t))
	in := d.batch(discardURL, "f.order", 0, texts(60)...).Messages
	index := map[msgKey]int{}
	for i, m := range in {
		index[keyOf(m)] = i
	}
	out, err := f.Filter(t.Context(), in)
	if err != nil {
		t.Fatalf("Filter of %d messages: %v", len(in), err)
	}
	if len(out) > len(in) {
		t.Errorf("Filter of %d messages gave %d", len(in), len(out))
	}
	last := map[[2]string]int{}
	seen := map[int]bool{}
	problems := 0
	report := func(format string, args ...any) {
		problems++
		if problems <= maxProblems {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		if problems > maxProblems {
			t.Errorf("… and %d more", problems-maxProblems)
		}
	}()
	for j, m := range out {
		i, ok := index[keyOf(m)]
		if !ok {
			report("output message %d (%s %s at %s) is not one of the input messages (a filter may rewrite text, not time or source)",
				j, m.App, m.ProcID, m.Time.Format(time.RFC3339Nano))
			continue
		}
		if seen[i] {
			report("input message %d appears twice in the output", i)
		}
		seen[i] = true
		src := [2]string{m.App, m.ProcID}
		if prev, ok := last[src]; ok && i < prev {
			report("source %s %s: input message %d comes after input message %d in the output", m.App, m.ProcID, i, prev)
		}
		last[src] = i
	}
}

// maxProblems is how many problems of one kind a check reports in full.
const maxProblems = 5

// sameMessages reports the first difference between a and b, or "".
func sameMessages(a, b []core.LogMessage) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d messages, then %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Time.Equal(y.Time) || x.Priority != y.Priority || x.Host != y.Host || x.App != y.App ||
			x.ProcID != y.ProcID || x.MsgID != y.MsgID || x.Text != y.Text {
			return fmt.Sprintf("message %d: %+v, then %+v", i, x, y)
		}
	}
	return ""
}

func (d drainChecks) filterIdempotent(t *T) {
	f := filter(t, d.open(t))
	in := d.batch(discardURL, "f.idempotent", 0, texts(30)...).Messages
	once, err := f.Filter(t.Context(), in)
	if err != nil {
		t.Fatalf("Filter: %v", err)
	}
	twice, err := f.Filter(t.Context(), once)
	if err != nil {
		t.Fatalf("Filter of filtered messages: %v", err)
	}
	if diff := sameMessages(once, twice); diff != "" {
		t.Errorf("filtering twice differs from filtering once: %s", diff)
	}
}
