package platform

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/store"
	"github.com/paasd/paasd/core/tlscert"
)

// tableRouter records the last route table (a fake for this unit test).
type tableRouter struct {
	core.Router
	mu   sync.Mutex
	last core.RouteTable
}

func (r *tableRouter) SetRoutes(_ context.Context, t core.RouteTable) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = t
	return nil
}

func (r *tableRouter) route(t *testing.T, app string) core.Route {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rt := range r.last.Routes {
		if rt.App == app {
			return rt
		}
	}
	t.Fatalf("no route for %s in %+v", app, r.last)
	return core.Route{}
}

// TestRouteFromStore: app features choose the balancer, and SNI endpoints
// become certificates for the custom domains they serve.
func TestRouteFromStore(t *testing.T) {
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
	rtr := &tableRouter{}
	p := New(Options{Store: st, Router: rtr})

	for _, tt := range []struct {
		features []string
		want     string
	}{
		{nil, ""},
		{[]string{api.FeatureRouterLeastConnections}, "least-conn"},
		{[]string{api.FeatureRouterPowerOfTwo}, "p2c"},
	} {
		if _, err := st.UpdateApp(ctx, a.ID, func(x *core.App) error { x.Features = tt.features; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := p.SyncRoutes(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if got := rtr.route(t, "app").Balancer; got != tt.want {
			t.Errorf("features %v: balancer %q, want %q", tt.features, got, tt.want)
		}
	}

	now := time.Now()
	wild, wildKey, _ := tlscert.Generate([]string{"*.example.com"}, now, time.Hour)
	www, wwwKey, _ := tlscert.Generate([]string{"www.example.com"}, now, time.Hour)
	eWild, _ := st.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "wild", CertificateChain: string(wild), PrivateKey: string(wildKey)})
	if _, err := st.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "unused", CertificateChain: string(www), PrivateKey: string(wwwKey)}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []core.Domain{
		{AppID: a.ID, Hostname: "www.example.com", SNIEndpointID: eWild.ID}, // named: the wildcard, not the newer exact one
		{AppID: a.ID, Hostname: "api.example.com"},                          // covered by the wildcard only
		{AppID: a.ID, Hostname: "other.example.net"},                        // covered by none
	} {
		if _, err := st.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SyncRoutes(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	certs := rtr.route(t, "app").Certificates
	if len(certs) != 1 || !slices.Equal(certs[0].Hosts, []string{"api.example.com", "www.example.com"}) || certs[0].CertPEM != string(wild) {
		t.Fatalf("certificates = %+v", certs)
	}
}
