package tlscert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

func TestParse(t *testing.T) {
	now := time.Now()
	crt, key, err := Generate([]string{"www.example.com", "*.example.org"}, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCrt, otherKey, _ := Generate([]string{"other.example.com"}, now, 24*time.Hour)
	tests := []struct {
		desc      string
		chain     string
		key       string
		at        time.Time
		mention   string
		wantNames []string
	}{
		{"good", string(crt), string(key), now, "", []string{"www.example.com", "*.example.org"}},
		{"good with junk around", "junk\n" + string(crt) + "\nmore", string(key), now, "", []string{"www.example.com", "*.example.org"}},
		{"empty chain", "", string(key), now, "no PEM CERTIFICATE", nil},
		{"key in chain", string(key), string(key), now, "contains a private key", nil},
		{"no key", string(crt), "", now, "no PEM PRIVATE KEY", nil},
		{"mismatched key", string(crt), string(otherKey), now, "does not match", nil},
		{"expired", string(crt), string(key), now.Add(48 * time.Hour), "expired", nil},
		{"not yet valid", string(crt), string(key), now.Add(-48 * time.Hour), "not valid before", nil},
		{"broken der", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", string(key), now, "does not parse", nil},
		{"second cert in chain", string(crt) + string(otherCrt), string(key), now, "", []string{"www.example.com", "*.example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := Parse([]byte(tt.chain), []byte(tt.key), tt.at)
			if tt.mention != "" {
				if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.mention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.Names, ",") != strings.Join(tt.wantNames, ",") {
				t.Errorf("names = %v, want %v", c.Names, tt.wantNames)
			}
			if !c.SelfSigned || c.Subject != "/O=paasd/CN=www.example.com" || c.TLS.Leaf == nil {
				t.Errorf("self_signed=%v subject=%q leaf=%v", c.SelfSigned, c.Subject, c.TLS.Leaf != nil)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	names := []string{"www.example.com", "*.example.org"}
	tests := []struct {
		host string
		want bool
	}{
		{"www.example.com", true},
		{"WWW.Example.com.", true},
		{"example.com", false},
		{"a.example.org", true},
		{"a.b.example.org", false},
		{"example.org", false},
		{"*.example.org", true},
		{"*.example.com", false},
		{"other.example.com", false},
	}
	for _, tt := range tests {
		if got := MatchesAny(names, tt.host); got != tt.want {
			t.Errorf("MatchesAny(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	now := time.Now()
	crt, key, err := Generate([]string{"a.example.com"}, now, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(crt, key)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), key)
	f.Add([]byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, chain, key []byte) {
		c, err := Parse(chain, key, now)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(c.Names) == 0 || c.TLS.Leaf == nil {
			t.Fatalf("parsed cert without names or leaf: %+v", c)
		}
	})
}
