package redact

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		desc, in, want string
	}{
		{desc: "nothing secret", in: `at=info method=GET path="/" status=200`, want: `at=info method=GET path="/" status=200`},
		{desc: "empty", in: ``, want: ``},
		{desc: "password pair", in: `login user=alice password=hunter2 ok`, want: `login user=alice password=*** ok`},
		{desc: "token pair", in: `token=abc123&next=1`, want: `token=***&next=1`},
		{desc: "prefixed and suffixed keys", in: `DB_PASSWORD=x1y2z3 access_token=t0k3n api-key=k3y client_secret_value=s`,
			want: `DB_PASSWORD=*** access_token=*** api-key=*** client_secret_value=*`},
		{desc: "spaces around equals", in: `password = hunter2`, want: `password = ***`},
		{desc: "double-quoted value", in: `password="correct horse battery" next`, want: `password="***" next`},
		{desc: "single-quoted value", in: `secret='s p a c e'`, want: `secret='***'`},
		{desc: "short values keep their length", in: `pwd=ab token=x`, want: `pwd=** token=*`},
		{desc: "not a secret key", in: `tokens=5 max_tokens=100 bypass=true author=bob`, want: `tokens=5 max_tokens=100 bypass=true author=bob`},
		{desc: "JSON member", in: `{"user":"alice","password":"hunter2","x":1}`, want: `{"user":"alice","password":"***","x":1}`},
		{desc: "JSON member with escapes", in: `{"api_key": "a\"b\\c"}`, want: `{"api_key": "***"}`},
		{desc: "authorization bearer", in: `Authorization: Bearer eyJhbGciOi.payload.sig`, want: `Authorization: Bearer ***`},
		{desc: "authorization basic", in: `authorization: Basic dXNlcjpwYXNz`, want: `authorization: Basic ***`},
		{desc: "authorization without scheme", in: `Authorization=abcdef`, want: `Authorization=***`},
		{desc: "bare bearer", in: `sent header bearer abc.def-ghi_jkl`, want: `sent header bearer ***`},
		{desc: "url userinfo", in: `connecting to postgres://app:s3cr3t@db.internal:5432/app`, want: `connecting to postgres://app:***@db.internal:5432/app`},
		{desc: "url userinfo empty user", in: `redis://:p4ss@cache:6379`, want: `redis://:***@cache:6379`},
		{desc: "url without password", in: `https://user@example.com/ and https://example.com:8443/x`, want: `https://user@example.com/ and https://example.com:8443/x`},
		{desc: "several urls", in: `a=https://u:p1@h1/ b=amqp://v:p2@h2/`, want: `a=https://u:**@h1/ b=amqp://v:**@h2/`},
		{desc: "aws key id", in: `key AKIAIOSFODNN7EXAMPLE used`, want: `key AKIA*** used`},
		{desc: "aws session key id", in: `ASIAY34FZKBOKMUTVV7A`, want: `ASIA***`},
		{desc: "aws-like but too short", in: `AKIA1234`, want: `AKIA1234`},
		{desc: "aws secret by key name", in: `aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, want: `aws_secret_access_key=***`},
		{desc: "unicode around secrets", in: `ünïcödé password=pässwörd 🚀`, want: `ünïcödé password=*** 🚀`},
		{desc: "already redacted", in: `password=*** postgres://a:***@h Authorization: Bearer *** AKIA***`,
			want: `password=*** postgres://a:***@h Authorization: Bearer *** AKIA***`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q)\n got  %q\n want %q", tc.in, got, tc.want)
			}
		})
	}
}

func configured(t *testing.T, cfg string) *Drain {
	t.Helper()
	d := New()
	var raw json.RawMessage
	if cfg != "" {
		raw = json.RawMessage(cfg)
	}
	if err := d.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", cfg, err)
	}
	return d
}

func TestFilterExtraPatterns(t *testing.T) {
	tests := []struct {
		desc, cfg, in, want string
	}{
		{desc: "no config", in: `password=x card=4111111111111111`, want: `password=* card=4111111111111111`},
		{desc: "whole match", cfg: `{"patterns":["\\b\\d{16}\\b"]}`, in: `card=4111111111111111`, want: `card=***`},
		{desc: "first group", cfg: `{"patterns":["ssn=(\\d{3}-\\d{2}-\\d{4})"]}`, in: `ssn=123-45-6789 ok`, want: `ssn=*** ok`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			d := configured(t, tc.cfg)
			in := []core.LogMessage{{App: "app", ProcID: "web.1", Text: tc.in}}
			out, err := d.Filter(context.Background(), in)
			if err != nil {
				t.Fatalf("Filter: %v", err)
			}
			if len(out) != 1 || out[0].Text != tc.want {
				t.Fatalf("Filter(%q) = %+v, want text %q", tc.in, out, tc.want)
			}
			if in[0].Text != tc.in {
				t.Errorf("Filter changed its input: %q", in[0].Text)
			}
		})
	}
}

func TestConfigureRejects(t *testing.T) {
	tests := []struct {
		desc    string
		version int
		cfg     string
		want    error
		mention string
	}{
		{desc: "bad pattern", version: 1, cfg: `{"patterns":["("]}`, want: core.ErrInvalid, mention: "patterns[0]"},
		{desc: "empty pattern", version: 1, cfg: `{"patterns":["ok",""]}`, want: core.ErrInvalid, mention: "patterns[1]"},
		{desc: "unknown field", version: 1, cfg: `{"mask":"x"}`, want: core.ErrInvalid, mention: "mask"},
		{desc: "wrong type", version: 1, cfg: `{"patterns":"x"}`, want: core.ErrInvalid, mention: "patterns"},
		{desc: "not an object", version: 1, cfg: `[1]`, want: core.ErrInvalid, mention: "JSON object"},
		{desc: "unknown version", version: 2, want: core.ErrUnsupported, mention: "version 2"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var raw json.RawMessage
			if tc.cfg != "" {
				raw = json.RawMessage(tc.cfg)
			}
			err := New().Configure(context.Background(), core.ConfigureRequest{APIVersion: tc.version, Config: raw})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Configure: %v, want an error wrapping %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Configure: %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestDeliverPassesThrough(t *testing.T) {
	d := configured(t, "")
	res, err := d.Deliver(context.Background(), core.DrainBatch{Messages: make([]core.LogMessage, 7)})
	if err != nil || res.Accepted != 7 {
		t.Fatalf("Deliver = %+v, %v; want Accepted 7", res, err)
	}
}

// TestConformanceBuiltin runs the drain suite against redact in-process, as
// builtin:redact is loaded by paasd.
func TestConformanceBuiltin(t *testing.T) {
	target := conformance.InProcessDrain(func() core.LogDrain { return New() }, nil)
	target.BadConfigs = []json.RawMessage{json.RawMessage(`{"patterns":["("]}`)}
	conformance.Drain(t, target)
}

// TestConformanceWire runs the drain suite against redact behind the wire
// layer (JSON method calls), as the go-plugin and Wasm transports carry it.
func TestConformanceWire(t *testing.T) {
	target := conformance.DrainTarget{
		Name:       "wire:redact",
		BadConfigs: []json.RawMessage{json.RawMessage(`{"patterns":["("]}`)},
		New: func(ctx context.Context, cfg json.RawMessage) (core.LogDrain, func() error, error) {
			c := wire.NewDrainClient(&wire.Client{Conn: wire.NewDrainMux(New()), Name: "wire:redact", Contract: core.ContractDrain})
			if err := c.Configure(ctx, core.ConfigureRequest{APIVersion: 1, Config: cfg}); err != nil {
				return nil, nil, err
			}
			return c, nil, nil
		},
	}
	rep := conformance.Run(context.Background(), conformance.DrainSuite(target), target.Name)
	for _, r := range rep.Results {
		if r.Status == conformance.Fail {
			t.Errorf("%s %s: %s", r.Level, r.ID, r.Message)
		}
	}
	if !rep.Conformant {
		t.Errorf("redact over the wire is not conformant")
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"", "password=hunter2", `{"token":"x\"y"}`, "Authorization: Bearer abc",
		"postgres://u:p@h/db", "AKIAIOSFODNN7EXAMPLE", "bearer bearer bearer", "pwd=",
		"a://b:c@d://e:f@g", `password='a" token="b'`, "ünï password=ü", "\xff\xfepassword=\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Redact(in)
		if len(out) > len(in) {
			t.Fatalf("Redact lengthened %q (%d bytes) to %q (%d bytes)", in, len(in), out, len(out))
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("Redact of valid UTF-8 %q gave invalid UTF-8 %q", in, out)
		}
		if again := Redact(out); again != out {
			t.Fatalf("Redact is not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"patterns":["a(b)c"]}`, `{"patterns":[""]}`, `[1]`, `null`, `{"patterns":"x"}`, `{"x":1}`, ` {`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := ParseConfig(raw)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("ParseConfig(%q): error %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		for i, p := range cfg.Patterns {
			if p == "" {
				t.Fatalf("ParseConfig(%q) accepted an empty pattern %d", raw, i)
			}
		}
	})
}
