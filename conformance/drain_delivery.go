package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
)

// DrainEnv is what a drain under test must be configured with to reach the
// suite's receivers.
type DrainEnv struct {
	// CAPEM is the PEM certificate of the CA that signed the suite's TLS
	// receivers' certificates; the drain must trust it (paasd's reference
	// drains take it as the "tls_ca_pem" config field) and should keep
	// trusting the system's roots only.
	CAPEM string
}

// NewDrainFunc returns a fresh drain, configured for env, for one check.
type NewDrainFunc func(t *T, env DrainEnv) core.LogDrain

// DrainDeliverySuite returns the drain delivery checks bound to the drains
// newDrain makes; info is the implementation's self-description (its
// capabilities "syslog", "syslog-tls", "https" select the checks). The
// checks run real receivers on 127.0.0.1: a TCP syslog receiver, a TLS one
// with a test CA, and an HTTPS application/logplex-1 receiver that drops
// duplicate Logplex-Frame-Ids.
func DrainDeliverySuite(info core.PluginInfo, newDrain NewDrainFunc) Suite {
	return Suite{
		Contract: core.ContractDrain,
		Describe: func(context.Context) (core.PluginInfo, error) { return info, nil },
		Checks:   deliveryChecks(newDrain),
		Timeout:  90 * time.Second,
	}
}

// drainDeliveryChecks adapts a DrainTarget to the delivery checks: each
// check gets a fresh instance configured with target.Config, made to trust
// the suite's test CA through target.TrustCA when set.
func drainDeliveryChecks(target DrainTarget) []Check {
	return deliveryChecks(func(t *T, env DrainEnv) core.LogDrain {
		cfg := target.Config
		if target.TrustCA != nil && env.CAPEM != "" {
			cfg = target.TrustCA(cfg, env.CAPEM)
		}
		d, release, err := target.New(t.Context(), cfg)
		if err != nil {
			t.Fatalf("new drain: %v", err)
		}
		if release != nil {
			t.Cleanup(func() { _ = release() })
		}
		return d
	})
}

// deliveryChecks returns the checks against drains newDrain makes.
func deliveryChecks(newDrain NewDrainFunc) []Check {
	env := func(t *T) (DrainEnv, *ddCA) {
		ca, err := newDDCA("paasd conformance CA")
		if err != nil {
			t.Fatalf("%v", err)
		}
		return DrainEnv{CAPEM: string(ca.certPEM)}, ca
	}
	fresh := func(t *T) (core.LogDrain, *ddCA) {
		e, ca := env(t)
		d := newDrain(t, e)
		if d == nil {
			t.Fatalf("newDrain returned nil")
		}
		t.Cleanup(func() {
			if c, ok := d.(interface{ Close() error }); ok {
				_ = c.Close()
			}
		})
		return d, ca
	}
	return []Check{
		{ID: "drain.delivery.syslog.framing", Level: Must, Capability: DrainCapSyslog,
			Title: "syslog:// delivers each message as one RFC 6587 octet-counted RFC 5424 frame with Logplex's fields",
			Run: func(t *T) {
				d, _ := fresh(t)
				r := newDDSyslogReceiver(t, nil, 0)
				b := ddBatch("syslog://"+r.addr(), 3, nil)
				ddDeliverWithRetry(t, d, b)
				ddSameMessages(t, b.Messages, r.waitFor(t, 3))
			}},
		{ID: "drain.delivery.syslog.order", Level: Must, Capability: DrainCapSyslog,
			Title: "syslog:// keeps every message, in order within each source, across batches",
			Run: func(t *T) {
				d, _ := fresh(t)
				r := newDDSyslogReceiver(t, nil, 0)
				var all []core.LogMessage
				for i := range 5 {
					b := ddBatch("syslog://"+r.addr(), 200, []string{"web.1", "router", "worker.1"})
					b.FrameID = fmt.Sprintf("frame-%d", i)
					for j := range b.Messages {
						b.Messages[j].Text = fmt.Sprintf("batch %d line %d", i, j)
					}
					ddDeliverWithRetry(t, d, b)
					all = append(all, b.Messages...)
				}
				got := r.waitFor(t, len(all))
				ddPerSourceOrder(t, all, got)
			}},
		{ID: "drain.delivery.syslog.large", Level: Must, Capability: DrainCapSyslog,
			Title: "syslog:// delivers a message of 10,000 bytes intact",
			Run: func(t *T) {
				d, _ := fresh(t)
				r := newDDSyslogReceiver(t, nil, 0)
				b := ddBatch("syslog://"+r.addr(), 2, nil)
				b.Messages[0].Text = strings.Repeat("x", 10000)
				ddDeliverWithRetry(t, d, b)
				ddSameMessages(t, b.Messages, r.waitFor(t, 2))
			}},
		{ID: "drain.delivery.syslog.reconnect", Level: Must, Capability: DrainCapSyslog,
			Title: "syslog:// reconnects after the receiver closes the connection; retried batches arrive",
			Run: func(t *T) {
				d, _ := fresh(t)
				r := newDDSyslogReceiver(t, nil, 5)
				b1 := ddBatch("syslog://"+r.addr(), 5, nil)
				ddDeliverWithRetry(t, d, b1)
				r.waitFor(t, 5)
				// The receiver has closed the first connection. Deliver until a
				// batch demonstrably arrives on a new one.
				var want []core.LogMessage
				for i := 0; ; i++ {
					b := ddBatch("syslog://"+r.addr(), 3, nil)
					for j := range b.Messages {
						b.Messages[j].Text = fmt.Sprintf("after close %d.%d", i, j)
					}
					ddDeliverWithRetry(t, d, b)
					want = b.Messages
					r.mu.Lock()
					conns := r.conns
					r.mu.Unlock()
					if conns >= 2 {
						break
					}
					select {
					case <-t.Context().Done():
						t.Fatalf("the drain never opened a second connection (%d batches after the close)", i+1)
					case <-time.After(100 * time.Millisecond):
					}
				}
				for {
					got := r.received()
					if ddContainsAll(got, want) {
						return
					}
					select {
					case <-r.changed:
					case <-t.Context().Done():
						t.Fatalf("the batch delivered after reconnecting never arrived")
					}
				}
			}},
		{ID: "drain.delivery.syslog.unreachable", Level: Must, Capability: DrainCapSyslog,
			Title: "syslog:// to a closed port fails with a ddRetryable error (ErrUnavailable or ErrTimeout), promptly",
			Run: func(t *T) {
				d, _ := fresh(t)
				addr := ddClosedPort(t)
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				_, err := d.Deliver(ctx, ddBatch("syslog://"+addr, 1, nil))
				if !ddRetryable(err) {
					t.Fatalf("Deliver to a closed port: %v, want an error wrapping ErrUnavailable or ErrTimeout", err)
				}
			}},
		{ID: "drain.delivery.syslog.bad-url", Level: Must, Capability: DrainCapSyslog,
			Title: "a syslog:// URL without a port is refused with ErrInvalid",
			Run: func(t *T) {
				d, _ := fresh(t)
				_, err := d.Deliver(t.Context(), ddBatch("syslog://127.0.0.1", 1, nil))
				if !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("Deliver: %v, want ErrInvalid", err)
				}
			}},
		{ID: "drain.delivery.syslog-tls.verify", Level: Must, Capability: DrainCapSyslogTLS,
			Title: "syslog+tls:// delivers over TLS to a receiver whose certificate chains to a trusted CA",
			Run: func(t *T) {
				d, ca := fresh(t)
				cfg, err := ca.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDSyslogReceiver(t, cfg, 0)
				b := ddBatch("syslog+tls://"+r.addr(), 50, []string{"web.1", "web.2"})
				ddDeliverWithRetry(t, d, b)
				ddSameMessages(t, b.Messages, r.waitFor(t, 50))
			}},
		{ID: "drain.delivery.syslog-tls.untrusted", Level: Must, Capability: DrainCapSyslogTLS,
			Title: "syslog+tls:// refuses a receiver whose certificate is not trusted, and sends it nothing",
			Run: func(t *T) {
				d, _ := fresh(t)
				other, err := newDDCA("untrusted CA")
				if err != nil {
					t.Fatalf("%v", err)
				}
				cfg, err := other.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDSyslogReceiver(t, cfg, 0)
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				if _, err := d.Deliver(ctx, ddBatch("syslog+tls://"+r.addr(), 3, nil)); err == nil {
					t.Fatalf("Deliver to an untrusted receiver succeeded")
				}
				if got := r.received(); len(got) != 0 {
					t.Fatalf("an untrusted receiver got %d messages", len(got))
				}
			}},
		{ID: "drain.delivery.https.format", Level: Must, Capability: DrainCapHTTPS,
			Title: "https:// POSTs application/logplex-1 frames with Logplex-Msg-Count, Logplex-Frame-Id and Logplex-Drain-Token",
			Run: func(t *T) {
				d, ca := fresh(t)
				cfg, err := ca.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDHTTPSReceiver(t, cfg)
				b := ddBatch(r.url(), 10, []string{"web.1", "router"})
				ddDeliverWithRetry(t, d, b)
				reqs, msgs := r.snapshot()
				if len(reqs) != 1 {
					t.Fatalf("%d requests for a 10-message batch, want 1", len(reqs))
				}
				h := reqs[0].header
				if ct := h.Get("Content-Type"); ct != "application/logplex-1" {
					t.Errorf("Content-Type %q, want application/logplex-1", ct)
				}
				if n, err := ddCountHeader(h); err != nil || n != 10 {
					t.Errorf("Logplex-Msg-Count %q, want 10", h.Get("Logplex-Msg-Count"))
				}
				if got := h.Get("Logplex-Frame-Id"); got != b.FrameID {
					t.Errorf("Logplex-Frame-Id %q, want the batch's FrameID %q", got, b.FrameID)
				}
				if got := h.Get("Logplex-Drain-Token"); got != b.DrainID {
					t.Errorf("Logplex-Drain-Token %q, want %q", got, b.DrainID)
				}
				if reqs[0].err != nil {
					t.Fatalf("body: %v", reqs[0].err)
				}
				ddSameMessages(t, b.Messages, msgs)
			}},
		{ID: "drain.delivery.https.batching", Level: Must, Capability: DrainCapHTTPS,
			Title: "https:// splits a large batch into requests of at most 100 KiB, delivering every message in order",
			Run: func(t *T) {
				d, ca := fresh(t)
				cfg, err := ca.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDHTTPSReceiver(t, cfg)
				b := ddBatch(r.url(), 3000, []string{"web.1", "web.2", "router"})
				for i := range b.Messages {
					b.Messages[i].Text = fmt.Sprintf("%06d %s", i, strings.Repeat("y", 200))
				}
				ddDeliverWithRetry(t, d, b)
				reqs, msgs := r.snapshot()
				total := 0
				for i, rq := range reqs {
					if rq.body > 100<<10 {
						t.Errorf("request %d: body of %d bytes, over 100 KiB", i, rq.body)
					}
					if n, err := ddCountHeader(rq.header); err != nil || n != len(rq.msgs) {
						t.Errorf("request %d: Logplex-Msg-Count %q for %d frames", i, rq.header.Get("Logplex-Msg-Count"), len(rq.msgs))
					}
					total += len(rq.msgs)
				}
				if len(reqs) < 2 {
					t.Errorf("a 600 KiB batch went in %d request(s)", len(reqs))
				}
				if total != len(b.Messages) {
					t.Errorf("received %d messages, sent %d", total, len(b.Messages))
				}
				ddSameMessages(t, b.Messages, msgs)
			}},
		{ID: "drain.delivery.https.retry-dedup", Level: Must, Capability: DrainCapHTTPS,
			Title: "https:// retries a failed batch with the same Logplex-Frame-Id, so a de-duplicating receiver keeps one copy",
			Run: func(t *T) {
				d, ca := fresh(t)
				cfg, err := ca.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDHTTPSReceiver(t, cfg)
				r.failNext = 2
				b := ddBatch(r.url(), 20, nil)
				ddDeliverWithRetry(t, d, b)
				// Deliver the same batch again, as Logplex does when an answer
				// is lost: the receiver must see the same Frame-Id and drop it.
				ddDeliverWithRetry(t, d, b)
				reqs, msgs := r.snapshot()
				if len(reqs) < 4 {
					t.Fatalf("%d requests, want at least 4 (2 refused, 1 accepted, 1 duplicate)", len(reqs))
				}
				for i, rq := range reqs {
					if got := rq.header.Get("Logplex-Frame-Id"); got != b.FrameID {
						t.Errorf("request %d: Logplex-Frame-Id %q, want %q on every retry", i, got, b.FrameID)
					}
				}
				if !reqs[len(reqs)-1].dup {
					t.Errorf("the redelivered batch was not recognised as a duplicate")
				}
				ddSameMessages(t, b.Messages, msgs)
			}},
		{ID: "drain.delivery.https.rejected", Level: Should, Capability: DrainCapHTTPS,
			Title: "https:// reports a 4xx answer as ErrInvalid (not worth retrying)",
			Run: func(t *T) {
				d, ca := fresh(t)
				cfg, err := ca.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDHTTPSReceiver(t, cfg)
				r.status = 400
				if _, err := d.Deliver(t.Context(), ddBatch(r.url(), 1, nil)); !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("Deliver to a receiver answering 400: %v, want ErrInvalid", err)
				}
			}},
		{ID: "drain.delivery.https.slow", Level: Must, Capability: DrainCapHTTPS,
			Title: "https:// gives up when the caller's deadline passes on a receiver that never answers",
			Run: func(t *T) {
				d, ca := fresh(t)
				cfg, err := ca.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDHTTPSReceiver(t, cfg)
				r.hang = make(chan struct{})
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				defer cancel()
				done := make(chan error, 1)
				go func() {
					_, err := d.Deliver(ctx, ddBatch(r.url(), 1, nil))
					done <- err
				}()
				select {
				case err := <-done:
					if !ddRetryable(err) {
						t.Fatalf("Deliver to a hung receiver: %v, want ErrTimeout or ErrUnavailable", err)
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("Deliver ignored its 2 s deadline for 30 s")
				}
			}},
		{ID: "drain.delivery.https.untrusted", Level: Must, Capability: DrainCapHTTPS,
			Title: "https:// refuses a receiver whose certificate is not trusted, and posts it nothing",
			Run: func(t *T) {
				d, _ := fresh(t)
				other, err := newDDCA("untrusted CA")
				if err != nil {
					t.Fatalf("%v", err)
				}
				cfg, err := other.serverConfig()
				if err != nil {
					t.Fatalf("%v", err)
				}
				r := newDDHTTPSReceiver(t, cfg)
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				if _, err := d.Deliver(ctx, ddBatch(r.url(), 1, nil)); err == nil {
					t.Fatalf("Deliver to an untrusted receiver succeeded")
				}
				if reqs, _ := r.snapshot(); len(reqs) != 0 {
					t.Fatalf("an untrusted receiver got %d requests", len(reqs))
				}
			}},
	}
}

// ddBatch makes n messages cycling through procids (default web.1).
func ddBatch(url string, n int, procids []string) core.DrainBatch {
	if len(procids) == 0 {
		procids = []string{"web.1"}
	}
	base := time.Date(2026, 11, 22, 1, 2, 3, 123456000, time.UTC)
	b := core.DrainBatch{DrainID: "d.00000000-0000-4000-8000-00000000c0de", URL: url, AppName: "conformance",
		FrameID: fmt.Sprintf("f.%d", time.Now().UnixNano())}
	for i := range n {
		ps := procids[i%len(procids)]
		src := "app"
		if ps == "router" {
			src = "heroku"
		}
		b.Messages = append(b.Messages, core.LogMessage{Time: base.Add(time.Duration(i) * time.Microsecond), Priority: 190,
			Host: "host", App: src, ProcID: ps, Text: "line " + strconv.Itoa(i) + " of " + ps})
	}
	return b
}

func ddRetryable(err error) bool {
	return errors.Is(err, core.ErrUnavailable) || errors.Is(err, core.ErrTimeout)
}

// ddDeliverWithRetry delivers b as Logplex does: a ddRetryable error is retried
// with backoff and the same batch; anything else fails the check.
func ddDeliverWithRetry(t *T, d core.LogDrain, b core.DrainBatch) {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		res, err := d.Deliver(ctx, b)
		cancel()
		if err == nil {
			if res.Accepted != len(b.Messages) {
				t.Errorf("Accepted = %d for a batch of %d", res.Accepted, len(b.Messages))
			}
			return
		}
		if !ddRetryable(err) {
			t.Fatalf("Deliver: %v (not ddRetryable)", err)
		}
		if attempt == 15 {
			t.Fatalf("Deliver still failing after %d attempts: %v", attempt, err)
		}
		select {
		case <-time.After(wait):
		case <-t.Context().Done():
			t.Fatalf("Deliver: %v", err)
		}
		wait = min(wait*2, time.Second)
	}
}

// ddSameMessages checks got equals want (time to the microsecond).
func ddSameMessages(t *T, want, got []core.LogMessage) {
	if len(got) != len(want) {
		t.Fatalf("received %d messages, sent %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if !g.Time.Equal(w.Time.Truncate(time.Microsecond)) {
			t.Fatalf("message %d: time %v, sent %v", i, g.Time, w.Time)
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Fatalf("message %d:\nreceived %+v\nsent     %+v", i, g, w)
		}
	}
}

func ddPerSourceOrder(t *T, sent, got []core.LogMessage) {
	if len(got) != len(sent) {
		t.Fatalf("received %d messages, sent %d", len(got), len(sent))
	}
	bySource := func(ms []core.LogMessage) map[string][]string {
		m := map[string][]string{}
		for _, x := range ms {
			m[x.ProcID] = append(m[x.ProcID], x.Text)
		}
		return m
	}
	s, g := bySource(sent), bySource(got)
	for ps, texts := range s {
		if strings.Join(g[ps], "\n") != strings.Join(texts, "\n") {
			t.Fatalf("messages of %s arrived out of order or incomplete", ps)
		}
	}
}

func ddContainsAll(have, want []core.LogMessage) bool {
	set := map[string]bool{}
	for _, m := range have {
		set[m.Text] = true
	}
	for _, m := range want {
		if !set[m.Text] {
			return false
		}
	}
	return true
}

// ddClosedPort returns a loopback address nothing listens on.
func ddClosedPort(t *T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
