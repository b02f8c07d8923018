// Package httpsdrain is paasd's reference HTTPS log drain: it POSTs batches
// to https:// (or http://) drain URLs in Heroku's application/logplex-1
// format — a body of RFC 6587 octet-counted RFC 5424 frames — with the
// Logplex-Msg-Count, Logplex-Frame-Id and Logplex-Drain-Token headers.
//
// # Notes
//
// A batch is split into requests of at most MaxBatchBytes (100 KiB) of
// body. Each request's Logplex-Frame-Id is derived from the batch's FrameID
// and the request's index, so a redelivered batch repeats the same ids and
// receivers can drop duplicates. Each request is retried twice on a network
// error, 408, 429 or 5xx; other 4xx answers are final (core.ErrInvalid).
// Credentials in the URL (https://user:pass@host/) are sent as basic auth.
package httpsdrain

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// CapHTTPS is the capability this drain declares (used by the conformance
// suite); it also declares core.DrainCapDedup, since it keeps FrameIDs.
const CapHTTPS = "https"

// Heroku's defaults.
const (
	// DefaultMaxBatchBytes is the target body size of one request (100 KiB).
	DefaultMaxBatchBytes = 100 << 10
	// DefaultRetries is how many times a failed request is retried.
	DefaultRetries = 2
	// ContentType is the request body's media type.
	ContentType = "application/logplex-1"
)

// ConfigSchema is the CUE definition of Config.
const ConfigSchema = `{
	tls_ca_pem?: string
	max_batch_bytes?: int & >=0
	retries?: int & >=0
	timeout_ms?: int & >=0
}`

// Config configures the drain; the zero value is the documented default.
type Config struct {
	// TLSCAPEM holds extra PEM root certificates trusted for https, besides
	// the system's.
	TLSCAPEM string `json:"tls_ca_pem,omitempty"`
	// MaxBatchBytes is the target body size; 0 means 100 KiB. A single
	// message larger than it is sent alone.
	MaxBatchBytes int `json:"max_batch_bytes,omitempty"`
	// Retries is how many times a failed request is retried; nil means 2.
	Retries *int `json:"retries,omitempty"`
	// TimeoutMS bounds one request; 0 means 30 s (the caller's context may
	// end it sooner).
	TimeoutMS int `json:"timeout_ms,omitempty"`
}

// Drain delivers to HTTPS receivers. Make it with New; it is safe for
// concurrent use.
type Drain struct {
	mu      sync.RWMutex
	cfg     Config
	retries int
	client  *http.Client
	bufs    sync.Pool
}

var (
	_ core.LogDrain      = (*Drain)(nil)
	_ core.HealthChecker = (*Drain)(nil)
	_ io.Closer          = (*Drain)(nil)
)

// New returns a drain with the default configuration.
func New() *Drain {
	d := &Drain{}
	_ = d.apply(Config{})
	return d
}

// Factory returns a logplex.DrainFactory making one configured Drain per
// drain URL, for the https and http schemes.
func Factory(cfg Config) (logplex.DrainFactoryFunc, error) {
	if err := New().apply(cfg); err != nil {
		return nil, err
	}
	return func(_ context.Context, u *url.URL) (core.LogDrain, error) {
		if err := checkURL(u); err != nil {
			return nil, err
		}
		d := New()
		_ = d.apply(cfg)
		return d, nil
	}, nil
}

// Describe says what the drain is.
func (d *Drain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID: "paasd.drain.https", Contract: core.ContractDrain, APIVersions: core.DrainAPIVersions,
		Version: "1.0.0", Capabilities: []string{CapHTTPS, core.DrainCapDedup}, ConfigSchema: ConfigSchema,
	}, nil
}

// Configure applies a Config given as JSON.
func (d *Drain) Configure(_ context.Context, req core.ConfigureRequest) error {
	var cfg Config
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return fmt.Errorf("https drain config: %w: %w", err, core.ErrInvalid)
		}
	}
	return d.apply(cfg)
}

func (d *Drain) apply(cfg Config) error {
	if cfg.MaxBatchBytes < 0 || cfg.TimeoutMS < 0 || (cfg.Retries != nil && *cfg.Retries < 0) {
		return fmt.Errorf("https drain config: negative value: %w", core.ErrInvalid)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if cfg.TLSCAPEM != "" && !roots.AppendCertsFromPEM([]byte(cfg.TLSCAPEM)) {
		return fmt.Errorf("https drain config: tls_ca_pem holds no PEM certificate: %w", core.ErrInvalid)
	}
	retries := DefaultRetries
	if cfg.Retries != nil {
		retries = *cfg.Retries
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	timeout := 30 * time.Second
	if cfg.TimeoutMS > 0 {
		timeout = time.Duration(cfg.TimeoutMS) * time.Millisecond
	}
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	d.mu.Lock()
	old := d.client
	d.cfg, d.retries, d.client = cfg, retries, &http.Client{Transport: tr, Timeout: timeout}
	d.mu.Unlock()
	if old != nil {
		old.CloseIdleConnections()
	}
	return nil
}

// Health reports that the drain can serve.
func (d *Drain) Health(context.Context) error { return nil }

// Close releases idle connections.
func (d *Drain) Close() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.client.CloseIdleConnections()
	return nil
}

func checkURL(u *url.URL) error {
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("https drain URL %q: want https://host/path (or http://): %w", u.Redacted(), core.ErrInvalid)
	}
	return nil
}

// Deliver POSTs the batch, split into requests of at most MaxBatchBytes.
// On error, Accepted counts the messages of the requests that succeeded
// before it.
func (d *Drain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	u, err := url.Parse(b.URL)
	if err != nil {
		return core.DeliverResult{}, fmt.Errorf("https drain URL: %w: %w", err, core.ErrInvalid)
	}
	if err := checkURL(u); err != nil {
		return core.DeliverResult{}, err
	}
	d.mu.RLock()
	cfg, retries, client := d.cfg, d.retries, d.client
	d.mu.RUnlock()

	bufp, _ := d.bufs.Get().(*[]byte)
	if bufp == nil {
		bufp = new([]byte)
	}
	defer d.bufs.Put(bufp)
	accepted := 0
	for part, start := 0, 0; start < len(b.Messages); part++ {
		body := (*bufp)[:0]
		end := start
		for end < len(b.Messages) {
			n := len(body)
			body = syslog.AppendFrame(body, b.Messages[end], syslog.Heroku)
			if len(body) > cfg.MaxBatchBytes && end > start {
				body = body[:n]
				break
			}
			end++
		}
		*bufp = body
		frameID := b.FrameID
		if part > 0 || end < len(b.Messages) {
			frameID = b.FrameID + "." + strconv.Itoa(part)
		}
		if err := d.post(ctx, client, u, b.DrainID, frameID, end-start, body, retries); err != nil {
			return core.DeliverResult{Accepted: accepted}, err
		}
		accepted += end - start
		start = end
	}
	return core.DeliverResult{Accepted: accepted}, nil
}

// post sends one request, retrying it.
func (d *Drain) post(ctx context.Context, client *http.Client, u *url.URL, token, frameID string, count int, body []byte, retries int) error {
	wait := 100 * time.Millisecond
	var err error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("https drain %s: %w (last error: %w)", u.Redacted(), core.ErrTimeout, err)
			case <-t.C:
			}
			wait *= 2
		}
		var final bool
		final, err = d.once(ctx, client, u, token, frameID, count, body)
		if err == nil || final {
			return err
		}
	}
	return err
}

func (d *Drain) once(ctx context.Context, client *http.Client, u *url.URL, token, frameID string, count int, body []byte) (final bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return true, fmt.Errorf("https drain %s: %w: %w", u.Redacted(), err, core.ErrInvalid)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Logplex-Msg-Count", strconv.Itoa(count))
	req.Header.Set("Logplex-Frame-Id", frameID)
	req.Header.Set("Logplex-Drain-Token", token)
	req.Header.Set("User-Agent", "Logplex/paasd")
	if u.User != nil {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	resp, err := client.Do(req)
	if err != nil {
		sentinel := core.ErrUnavailable
		if errors.Is(err, context.DeadlineExceeded) {
			sentinel = core.ErrTimeout
		}
		var cerr *tls.CertificateVerificationError
		if errors.As(err, &cerr) {
			return false, fmt.Errorf("https drain %s: certificate not trusted: %w: %w", u.Redacted(), err, core.ErrUnavailable)
		}
		return false, fmt.Errorf("https drain %s: %w: %w", u.Redacted(), err, sentinel)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return false, fmt.Errorf("https drain %s: receiver answered %s: %w", u.Redacted(), resp.Status, core.ErrUnavailable)
	default:
		return true, fmt.Errorf("https drain %s: receiver answered %s: %w", u.Redacted(), resp.Status, core.ErrInvalid)
	}
}
