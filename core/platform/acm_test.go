package platform

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/store"
	"github.com/paasd/paasd/core/tlscert"
)

// fakeACM records what it is told to manage and has certificates for some
// domains (a fake for this unit test; core/acme is tested against pebble).
type fakeACM struct {
	mu      sync.Mutex
	managed map[string][]string
	issued  map[string]string
}

func (f *fakeACM) Manage(appID string, domains []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.managed[appID] = domains
}

func (f *fakeACM) Certificate(domain string) (string, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.issued[domain]
	return c, "KEY " + domain, ok
}

// TestACMRoutes: with ACM on, the custom domains no uploaded certificate
// serves are managed and their issued certificates join the route; off,
// nothing is managed.
func TestACMRoutes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _ := st.CreateUser(ctx, core.User{Email: "u@example.com"})
	a, _, err := st.CreateApp(ctx, core.App{Name: "app", OwnerID: u.ID}, core.Release{})
	if err != nil {
		t.Fatal(err)
	}
	acm := &fakeACM{managed: map[string][]string{}, issued: map[string]string{"shop.example.com": "CERT shop"}}
	rtr := &tableRouter{}
	p := New(Options{Store: st, Router: rtr, ACM: acm})
	up, upKey, _ := tlscert.Generate([]string{"www.example.com"}, time.Now(), time.Hour)
	if _, err := st.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "up", CertificateChain: string(up), PrivateKey: string(upKey)}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"www.example.com", "shop.example.com", "new.example.com", "*.wild.example.com"} {
		if _, err := st.CreateDomain(ctx, core.Domain{AppID: a.ID, Hostname: h, Kind: "custom"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		desc    string
		acm     bool
		managed []string
		hosts   [][]string
	}{
		{"off", false, nil, [][]string{{"www.example.com"}}},
		{"on", true, []string{"new.example.com", "shop.example.com"}, [][]string{{"www.example.com"}, {"shop.example.com"}}},
		{"off again", false, nil, [][]string{{"www.example.com"}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := st.UpdateApp(ctx, a.ID, func(x *core.App) error { x.ACM = tc.acm; return nil }); err != nil {
				t.Fatal(err)
			}
			if err := p.SyncRoutes(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			acm.mu.Lock()
			got := slices.Clone(acm.managed[a.ID])
			acm.mu.Unlock()
			slices.Sort(got)
			if !slices.Equal(got, tc.managed) {
				t.Errorf("managed %v, want %v", got, tc.managed)
			}
			var hosts [][]string
			for _, c := range rtr.route(t, "app").Certificates {
				hosts = append(hosts, c.Hosts)
				if c.Hosts[0] == "shop.example.com" && (c.CertPEM != "CERT shop" || c.KeyPEM != "KEY shop.example.com") {
					t.Errorf("ACM certificate = %+v", c)
				}
			}
			if !slices.EqualFunc(hosts, tc.hosts, slices.Equal) {
				t.Errorf("certificate hosts %v, want %v", hosts, tc.hosts)
			}
		})
	}
}
