package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    Range
		wantErr string
	}{
		{"empty is the default", "", Range{Field: "id", Max: 200}, ""},
		{"heroku's example", "id ..; max=10", Range{Field: "id", Max: 10}, ""},
		{"the CLI's releases range", "version ..; max=15, order=desc", Range{Field: "version", Max: 15, Desc: true}, ""},
		{"exclusive start", "name ]app-b..; max=2", Range{Field: "name", Start: "app-b", StartExclusive: true, Max: 2}, ""},
		{"bounds", "name a..z", Range{Field: "name", Start: "a", End: "z", Max: 200}, ""},
		{"comma before params", "id ..,order=desc", Range{Field: "id", Max: 200, Desc: true}, ""},
		{"max is capped", "id ..; max=1000", Range{Field: "id", Max: 200}, ""},
		{"field only", "name", Range{Field: "name", Max: 200}, ""},
		{"zero max", "id ..; max=0", Range{}, "max"},
		{"bad order", "id ..; order=sideways", Range{}, "order"},
		{"unknown parameter", "id ..; page=2", Range{}, "page"},
		{"not key=value", "id ..; max", Range{}, "key=value"},
		{"no dots", "id abc", Range{}, ".."},
		{"bad field", "i-d ..", Range{}, "bad character"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseRange(tt.in, "id")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRange(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzParseRange: the parser never panics, keeps max within bounds, and
// what it prints (a Next-Range) parses back to the same range.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "id ..", "id ..; max=10", "version ..; max=15, order=desc", "name ]app-b..; max=2",
		"name a..z; order=asc", "id ..,order=desc", "x ]]..]; max=1", "id ..; max=-1", "id ..;;,", "id \x00..\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		rg, err := ParseRange(h, "id")
		if err != nil {
			return
		}
		if rg.Max < 1 || rg.Max > MaxPageSize || rg.Field == "" {
			t.Fatalf("ParseRange(%q) = %+v", h, rg)
		}
		bounds := rg.Start + rg.End
		if strings.ContainsAny(bounds, ";, \t\n\v\f\r\u0085\u00a0") || strings.Contains(bounds, "..") || strings.HasSuffix(rg.Start, ".") || strings.HasPrefix(rg.End, ".") {
			return // not representable in the header syntax
		}
		back, err := ParseRange(rg.String(), "id")
		if err != nil || back != rg {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", h, rg, rg.String(), back, err)
		}
	})
}

// FuzzDecodeBody: decoding any body into the API's request types never
// panics, and every error is a 400 (bad JSON) or names an invalid field.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"FOO":"1","BAR":null}`, `{"FOO":1}`, `[1]`, `{"updates":[{"type":"web","quantity":"2","size":"basic"}]}`,
		`{"updates":[{"type":"web","quantity":"x"}]}`, `{"name":7}`, `{"quantity":1e99}`, `{"source_blob":{"url":3}}`, `{`, `"\ud800"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{
			new(map[string]json.RawMessage),
			new(struct {
				Updates []formationUpdate `json:"updates"`
			}),
			new(formationUpdate),
			new(struct {
				Name   *string `json:"name"`
				Region *string `json:"region"`
			}),
			new(RunRequest),
			new(LogSessionRequest),
		}
		for _, v := range targets {
			err := DecodeBody(strings.NewReader(string(body)), v)
			if err == nil {
				continue
			}
			var bj *badJSONError
			if !errors.As(err, &bj) && !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("DecodeBody(%q) into %T: unclassified error %v", body, v, err)
			}
		}
	})
}

// FuzzToken: Authorization parsing never panics and round-trips both forms.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "Basic " + base64.StdEncoding.EncodeToString([]byte(":tok")), "Basic !!", "bearer", "", "Basic Og=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		Token(h)
		tok := strings.TrimSpace(h)
		if tok == "" || strings.ContainsAny(tok, " \t\r\n\v\f\u0085\u00a0") {
			return
		}
		if got := Token("Bearer " + tok); got != tok {
			t.Fatalf("Bearer %q -> %q", tok, got)
		}
		if got := Token("Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+tok))); got != tok {
			t.Fatalf("Basic user:%q -> %q", tok, got)
		}
	})
}

// FuzzValidators: the hostname, drain URL, config var name and buildpack
// list checks never
// panic and only fail with ErrInvalid.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"www.example.com", "*.example.com", "syslog://h:514", "https://u:p@h/x", "A=B", "", "\x00", "::", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkBuildpack := func(s string) error { return CheckBuildpackList([]string{s, s + "x"}) }
		for _, check := range []func(string) error{ValidateHostname, ValidateDrainURL, ValidateConfigVarName, checkBuildpack} {
			if err := check(s); err != nil && !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("%q: %v", s, err)
			}
		}
		if ValidateHostname(s) == nil && (len(s) > 253 || strings.ToLower(s) != s) {
			t.Fatalf("accepted hostname %q", s)
		}
	})
}
