// Package redact is paasd's reference drain-path filter: it masks secrets in
// log text before lines reach a drain or a log session.
//
// It masks the value of
//   - key=value pairs whose key names a secret (password, passwd, pwd,
//     secret, token, api_key, apikey, access_key, private_key, credentials,
//     with any prefix or suffix such as db_password or access_token), plain
//     or quoted, and the same keys as JSON members ("password": "…");
//   - Authorization headers (Authorization: Bearer …, Basic …) and bare
//     "Bearer <token>" strings;
//   - passwords in URLs: scheme://user:password@host becomes
//     scheme://user:***@host;
//   - AWS-style access key ids (AKIA…, ASIA…): the 16 characters after the
//     prefix;
//   - anything matched by the regular expressions given in its config.
//
// A masked value becomes "***", or as many "*" as it had characters when it
// had fewer than three, so that redaction never lengthens a line and
// redacting a redacted line changes nothing.
//
// As a drain it is a pass-through stage: Deliver accepts every message. It
// declares the "filter" capability; Filter does the work.
//
// # Notes
//
// The package uses no network, files or processes, so that it builds for
// GOOS=wasip1 GOARCH=wasm and can run as a Wasm drain filter as well as
// in-process or as a go-plugin.
package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/paasd/paasd/core"
)

// ID is the plugin id the drain describes itself with.
const ID = "paasd.drain.redact"

// ConfigSchema is the CUE schema of the drain's configuration.
const ConfigSchema = `close({
	// patterns are extra RE2 regular expressions to mask: the first capture
	// group when the expression has one, else the whole match.
	patterns?: [...string & !=""]
})`

// Config is the drain's configuration; the zero value masks the built-in
// secret shapes only.
type Config struct {
	// Patterns are extra RE2 regular expressions to mask: the first capture
	// group when an expression has one, else the whole match.
	Patterns []string `json:"patterns,omitempty"`
}

// rule is one secret shape: re matches it and group is the submatch holding
// the secret (0 for the whole match).
type rule struct {
	re    *regexp.Regexp
	group int
}

// secretKey matches a key naming a secret, with any prefix or suffix.
const secretKey = `[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials)(?:[_.-][a-z0-9_.-]*)?`

// builtinRules are the secret shapes masked by every instance, applied in
// this order.
var builtinRules = []rule{
	// scheme://user:password@host
	{regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@`), 1},
	// "password": "value" in JSON
	{regexp.MustCompile(`(?i)"` + secretKey + `"\s*:\s*"((?:[^"\\]|\\.)*)"`), 1},
	// password=value, password="value", password='value'
	{regexp.MustCompile(`(?i)\b` + secretKey + `\s*=\s*("[^"]*"|'[^']*'|[^\s&,;"']+)`), 1},
	// Authorization: Bearer value
	{regexp.MustCompile(`(?i)\bauthorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|digest)\s+)?([^\s,;"']+)`), 1},
	// Bearer value
	{regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/]+=*)`), 1},
	// AWS access key ids
	{regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)([A-Z0-9]{16})\b`), 1},
}

// Drain masks secrets on the drain path. Configure it before use; after
// that it is safe for concurrent use.
type Drain struct {
	rules []rule
}

var (
	_ core.LogDrain  = (*Drain)(nil)
	_ core.LogFilter = (*Drain)(nil)
)

// New returns an unconfigured Drain.
func New() *Drain { return &Drain{} }

// Describe describes the drain.
func (d *Drain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID:           ID,
		Contract:     core.ContractDrain,
		APIVersions:  []int{1},
		Version:      "1.0.0",
		Capabilities: []string{core.DrainCapFilter},
		ConfigSchema: ConfigSchema,
	}, nil
}

// Configure reads the config (see [Config]). It returns an error wrapping
// core.ErrInvalid for a config that is not a JSON object of Config's shape or
// holds a pattern that does not compile, and core.ErrUnsupported for an API
// version other than 1.
func (d *Drain) Configure(_ context.Context, req core.ConfigureRequest) error {
	if req.APIVersion != 1 {
		return fmt.Errorf("drain redact: api version %d: only version 1 is spoken: %w", req.APIVersion, core.ErrUnsupported)
	}
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return err
	}
	rules := append([]rule(nil), builtinRules...)
	for i, p := range cfg.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("drain redact: config patterns[%d] %q: %w: %w", i, p, err, core.ErrInvalid)
		}
		g := 0
		if re.NumSubexp() > 0 {
			g = 1
		}
		rules = append(rules, rule{re, g})
	}
	d.rules = rules
	return nil
}

// ParseConfig decodes a config; nil or empty means the zero Config. It
// returns an error wrapping core.ErrInvalid naming what is wrong.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var cfg Config
	if len(bytes.TrimSpace(raw)) == 0 {
		return cfg, nil
	}
	if b := bytes.TrimSpace(raw); b[0] != '{' {
		return cfg, fmt.Errorf("drain redact: config must be a JSON object, got %.40s: %w", b, core.ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("drain redact: config: %w: %w", err, core.ErrInvalid)
	}
	for i, p := range cfg.Patterns {
		if p == "" {
			return cfg, fmt.Errorf("drain redact: config patterns[%d] is empty: %w", i, core.ErrInvalid)
		}
	}
	return cfg, nil
}

// Deliver accepts every message: redact is a pass-through stage.
func (d *Drain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	if err := ctx.Err(); err != nil {
		return core.DeliverResult{}, fmt.Errorf("drain redact: deliver %s: %w", b.FrameID, err)
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// Filter returns msgs with secrets masked in their text, in the same order.
// An unconfigured Drain masks the built-in shapes.
func (d *Drain) Filter(ctx context.Context, msgs []core.LogMessage) ([]core.LogMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("drain redact: filter: %w", err)
	}
	rules := d.rules
	if rules == nil {
		rules = builtinRules
	}
	out := make([]core.LogMessage, len(msgs))
	for i, m := range msgs {
		m.Text = redact(rules, m.Text)
		out[i] = m
	}
	return out, nil
}

// Redact returns s with the built-in secret shapes masked.
func Redact(s string) string { return redact(builtinRules, s) }

func redact(rules []rule, s string) string {
	for _, r := range rules {
		s = apply(r, s)
	}
	return s
}

// apply masks r's secret group in every match of r in s.
func apply(r rule, s string) string {
	matches := r.re.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range matches {
		start, end := m[2*r.group], m[2*r.group+1]
		if start < 0 || start < last {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(mask(s[start:end]))
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// mask hides v: "***", or one "*" per character of a value shorter than
// three characters; quotes around v are kept.
func mask(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[:1] + mask(v[1:len(v)-1]) + v[:1]
	}
	if len(v) < 3 {
		return strings.Repeat("*", len(v))
	}
	return "***"
}
