package acme

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/tlscert"
)

func TestNewConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		cfg     Config
		mention string
	}{
		{"no storage", Config{RouterHTTPAddr: "127.0.0.1:80"}, "storage"},
		{"router address", Config{StorageDir: dir, RouterHTTPAddr: "nope"}, "router HTTP address"},
		{"router port", Config{StorageDir: dir, RouterHTTPAddr: "127.0.0.1:http"}, "router HTTP port"},
		{"missing CA root", Config{StorageDir: dir, RouterHTTPAddr: "127.0.0.1:80", CARootFile: filepath.Join(dir, "none.pem")}, "acme_ca_root"},
		{"CA root not PEM", Config{StorageDir: dir, RouterHTTPAddr: "127.0.0.1:80", CARootFile: notPEM}, "no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !errors.Is(err, core.ErrInvalid) || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want ErrConfig/ErrInvalid mentioning %q", err, tc.mention)
			}
		})
	}
}

// changes records OnChange calls.
type changes struct {
	mu   sync.Mutex
	apps []string
}

func (c *changes) add(app string) {
	c.mu.Lock()
	c.apps = append(c.apps, app)
	c.mu.Unlock()
}

func (c *changes) has(app string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.apps {
		if a == app {
			return true
		}
	}
	return false
}

// newManager is a Manager whose CA is unreachable (nothing listens on
// port 1), so issuance fails at once without any network.
func newManager(t *testing.T) (*Manager, *changes) {
	t.Helper()
	ch := &changes{}
	// Not t.TempDir: certmagic's background jobs may still be unlocking
	// files when the test ends; remove what is left, best effort.
	dir, err := os.MkdirTemp("", "acme-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	m, err := New(Config{DirectoryURL: "https://127.0.0.1:1/directory", StorageDir: dir, RouterHTTPAddr: "127.0.0.1:1", OnChange: ch.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, ch
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestManageFailureIsReported(t *testing.T) {
	m, ch := newManager(t)
	m.Manage("app1", []string{"WWW.Example.com"})
	st, ok := m.Status("www.example.com")
	if !ok || (st.Status != StatusPending && st.Status != StatusFailed) {
		t.Fatalf("status right after Manage = %+v, %v", st, ok)
	}
	waitUntil(t, "a failed status", func() bool { st, _ := m.Status("www.example.com"); return st.Status == StatusFailed })
	status, reason, ok := m.DomainStatus("www.example.com")
	if !ok || status != StatusFailed || !strings.Contains(reason, "127.0.0.1:1") {
		t.Fatalf("DomainStatus = %q %q %v, want failed naming the directory", status, reason, ok)
	}
	waitUntil(t, "OnChange for app1", func() bool { return ch.has("app1") })
	if _, _, ok := m.Certificate("www.example.com"); ok {
		t.Fatal("a certificate for a domain that failed")
	}
	m.Manage("app1", nil)
	if _, ok := m.Status("www.example.com"); ok {
		t.Fatal("still managed after Manage(nil)")
	}
	if _, ok := m.Challenge("www.example.com", "/.well-known/acme-challenge/x"); ok {
		t.Fatal("answered a challenge nobody started")
	}
}

func TestStoredCertificateIsServedAndDeleted(t *testing.T) {
	m, _ := newManager(t)
	crt, key, err := tlscert.Generate([]string{"shop.example.com"}, time.Now(), 60*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ik := m.issuer.IssuerKey()
	if err := m.magic.Storage.Store(ctx, certmagic.StorageKeys.SiteCert(ik, "shop.example.com"), crt); err != nil {
		t.Fatal(err)
	}
	if err := m.magic.Storage.Store(ctx, certmagic.StorageKeys.SitePrivateKey(ik, "shop.example.com"), key); err != nil {
		t.Fatal(err)
	}
	if err := m.magic.Storage.Store(ctx, certmagic.StorageKeys.SiteMeta(ik, "shop.example.com"), []byte(`{"sans":["shop.example.com"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.Certificate("shop.example.com"); ok {
		t.Fatal("a certificate for a domain not managed")
	}
	m.Manage("app2", []string{"shop.example.com"})
	if st, _ := m.Status("shop.example.com"); st.Status != StatusIssued {
		t.Fatalf("status with a stored certificate = %+v", st)
	}
	gotCrt, gotKey, ok := m.Certificate("shop.example.com")
	if !ok || gotCrt != string(crt) || gotKey != string(key) {
		t.Fatal("Certificate does not return the stored pair")
	}
	m.Manage("app2", []string{})
	waitUntil(t, "the stored certificate deleted", func() bool {
		return !m.magic.Storage.Exists(ctx, certmagic.StorageKeys.SiteCert(ik, "shop.example.com"))
	})
}
