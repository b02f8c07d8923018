package addons

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

// BrokerConfig is one entry of paasd's "brokers" configuration: a plugin
// reference and the broker's own configuration.
type BrokerConfig struct {
	// Ref is builtin:NAME, plugin:PATH or wasm:PATH.
	Ref string `json:"ref"`
	// Config is the broker's configuration; nil for none.
	Config json.RawMessage `json:"config,omitempty"`
}

// Load loads every broker through h (transport, describe, version
// negotiation, config validation, configure) and returns a Service
// offering their services. A broker that fails to load or whose catalog
// clashes with another's fails the whole load with an error naming its
// reference; the brokers loaded so far are closed again.
func Load(ctx context.Context, h *pluginhost.Host, brokers []BrokerConfig, opts Options) (*Service, error) {
	s := New(opts)
	var loaded []*pluginhost.Loaded
	fail := func(err error) (*Service, error) {
		for _, l := range loaded {
			_ = l.Close()
		}
		return nil, err
	}
	for _, bc := range brokers {
		l, err := loadOne(ctx, h, s, bc)
		if err != nil {
			return fail(fmt.Errorf("add-on brokers: %w", err))
		}
		loaded = append(loaded, l)
	}
	return s, nil
}

// loadOne loads one broker and adds it to s; on error nothing stays loaded.
func loadOne(ctx context.Context, h *pluginhost.Host, s *Service, bc BrokerConfig) (*pluginhost.Loaded, error) {
	l, err := h.Load(ctx, core.ContractBroker, bc.Ref, bc.Config)
	if err != nil {
		return nil, err
	}
	b := l.Broker()
	if b == nil {
		_ = l.Close()
		return nil, fmt.Errorf("%s is not an add-on broker: %w", bc.Ref, core.ErrUnsupported)
	}
	if err := s.AddBroker(ctx, bc.Ref, b); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// Retry is the back-off of [Start]'s background attempts; the zero value
// is 2 s doubling up to 1 minute.
type Retry struct {
	// Min is the wait before the first retry; zero means 2 s.
	Min time.Duration
	// Max caps the wait; zero means 1 minute.
	Max time.Duration
}

// Transient reports whether a broker load error may go away by itself: the
// broker's server is unreachable or slow (core.ErrUnavailable,
// core.ErrTimeout, a deadline), as opposed to a configuration that can
// never work.
func Transient(err error) bool {
	return errors.Is(err, core.ErrUnavailable) || errors.Is(err, core.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// Start loads brokers as paasd's "brokers" configuration lists them and
// returns the Service offering their services and a stop function that
// ends the background retries and waits for them.
//
// An entry that cannot work (bad reference, unknown builtin, config the
// broker's schema refuses, a catalog clashing with another broker's) stops
// Start with an error naming brokers[N], its reference and the cause; the
// brokers loaded so far are closed again. An entry whose load fails only
// because its server cannot be reached ([Transient]) is logged as a
// warning and marked pending ([Service.SetPending]: add-on requests then
// fail with core.ErrUnavailable naming it) and retried in the background
// with back-off (retry) until it loads or stop is called.
func Start(ctx context.Context, h *pluginhost.Host, brokers []BrokerConfig, opts Options, retry Retry) (*Service, func(), error) {
	if retry.Min <= 0 {
		retry.Min = 2 * time.Second
	}
	if retry.Max <= 0 {
		retry.Max = time.Minute
	}
	s := New(opts)
	var loaded []*pluginhost.Loaded
	type later struct {
		i  int
		bc BrokerConfig
	}
	var retries []later
	for i, bc := range brokers {
		l, err := loadOne(ctx, h, s, bc)
		if err == nil {
			loaded = append(loaded, l)
			continue
		}
		if !Transient(err) {
			for _, l := range loaded {
				_ = l.Close()
			}
			return nil, nil, fmt.Errorf("brokers[%d] (%s): %w", i, bc.Ref, err)
		}
		now := time.Now()
		s.SetPending(bc.Ref, Pending{Err: err, Since: now, NextTry: now.Add(retry.Min), Attempts: 1})
		s.opts.Logger.Warn("add-on broker not available; add-ons of its services answer 503 until it is; retrying in the background",
			"broker", fmt.Sprintf("brokers[%d]", i), "ref", bc.Ref, "retry_in", retry.Min, "err", err)
		retries = append(retries, later{i, bc})
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, r := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.retryLoad(rctx, h, r.i, r.bc, retry)
		}()
	}
	stop := func() {
		cancel()
		wg.Wait()
	}
	return s, stop, nil
}

// retryLoad loads bc with back-off until it works, fails for good or ctx
// ends.
func (s *Service) retryLoad(ctx context.Context, h *pluginhost.Host, i int, bc BrokerConfig, retry Retry) {
	delay := retry.Min
	s.mu.RLock()
	p := s.pending[bc.Ref]
	s.mu.RUnlock()
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_, err := loadOne(ctx, h, s, bc)
		if err == nil {
			s.opts.Logger.Info("add-on broker loaded after retrying", "broker", fmt.Sprintf("brokers[%d]", i), "ref", bc.Ref,
				"attempts", p.Attempts+1, "down_for", time.Since(p.Since).Round(time.Second))
			return
		}
		if ctx.Err() != nil {
			return
		}
		p.Attempts++
		p.Err = err
		if !Transient(err) {
			p.NextTry = time.Time{}
			s.SetPending(bc.Ref, p)
			s.opts.Logger.Error("add-on broker failed for good; fix the configuration and restart paasd",
				"broker", fmt.Sprintf("brokers[%d]", i), "ref", bc.Ref, "err", err)
			return
		}
		delay = min(delay*2, retry.Max)
		p.NextTry = time.Now().Add(delay)
		s.SetPending(bc.Ref, p)
		s.opts.Logger.Warn("add-on broker still not available", "broker", fmt.Sprintf("brokers[%d]", i), "ref", bc.Ref,
			"attempts", p.Attempts, "retry_in", delay, "err", err)
	}
}
