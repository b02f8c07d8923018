package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/tlscert"
)

func TestSNIEndpoints(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	e.createApp(e.bob, "bobs")
	now := time.Now()
	crt, key, err := tlscert.Generate([]string{"www.example.com", "*.example.org"}, now, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crt2, key2, _ := tlscert.Generate([]string{"www.example.com"}, now, 30*24*time.Hour)
	expiredCrt, expiredKey, _ := tlscert.Generate([]string{"old.example.com"}, now.Add(-48*time.Hour), time.Hour)

	for _, tt := range []struct {
		desc    string
		body    map[string]any
		status  int
		mention string
	}{
		{"no key", map[string]any{"certificate_chain": string(crt)}, 422, "private_key"},
		{"mismatched key", map[string]any{"certificate_chain": string(crt), "private_key": string(key2)}, 422, "does not match"},
		{"expired", map[string]any{"certificate_chain": string(expiredCrt), "private_key": string(expiredKey)}, 422, "expired"},
		{"garbage", map[string]any{"certificate_chain": "nope", "private_key": string(key)}, 422, "CERTIFICATE"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("POST", "/apps/app/sni-endpoints", e.alice, tt.body)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s, want %d mentioning %q", r.status, r.body, tt.status, tt.mention)
			}
		})
	}

	var ep api.SNIEndpointJSON
	r := e.mustStatus(e.do("POST", "/apps/app/sni-endpoints", e.alice, map[string]any{"certificate_chain": string(crt), "private_key": string(key)}), 201)
	r.json(t, &ep)
	if strings.Contains(string(r.body), "PRIVATE KEY") || strings.Contains(string(r.body), "private_key") {
		t.Fatalf("create answer shows the private key: %s", r.body)
	}
	if ep.Name == "" || ep.ID == "" || ep.App.Name != "app" || !ep.SSLCert.SelfSigned ||
		strings.Join(ep.SSLCert.CertDomains, ",") != "www.example.com,*.example.org" || time.Time(ep.SSLCert.ExpiresAt).Before(now.Add(89*24*time.Hour)) {
		t.Fatalf("endpoint = %+v", ep)
	}
	if !e.log.has("app: Add SNI endpoint " + ep.Name + " by user alice@example.com") {
		t.Errorf("no API log line: %v", e.log.lines)
	}
	// Other users see nothing.
	e.mustStatus(e.do("GET", "/apps/app/sni-endpoints", e.bob, nil), 404)
	e.mustStatus(e.do("GET", "/apps/app/sni-endpoints/"+ep.Name, e.bob, nil), 404)

	// A domain created with the endpoint, and one patched to it.
	var d api.DomainJSON
	e.mustStatus(e.do("POST", "/apps/app/domains", e.alice, map[string]any{"hostname": "www.example.com", "sni_endpoint": ep.Name}), 201).json(t, &d)
	if ref, _ := d.SNIEndpoint.(map[string]any); ref == nil || ref["name"] != ep.Name || ref["id"] != ep.ID {
		t.Fatalf("domain sni_endpoint = %#v", d.SNIEndpoint)
	}
	e.mustStatus(e.do("POST", "/apps/app/domains", e.alice, map[string]any{"hostname": "a.example.org"}), 201)
	e.mustStatus(e.do("POST", "/apps/app/domains", e.alice, map[string]any{"hostname": "b.example.org", "sni_endpoint": "nope"}), 422)
	e.mustStatus(e.do("PATCH", "/apps/app/domains/a.example.org", e.alice, map[string]any{"sni_endpoint": ep.ID}), 200).json(t, &d)
	if d.SNIEndpoint == nil {
		t.Fatalf("patched domain has no endpoint: %+v", d)
	}
	e.mustStatus(e.do("PATCH", "/apps/app/domains/a.example.org", e.alice, map[string]any{"sni_endpoint": "nope"}), 422)
	e.mustStatus(e.do("PATCH", "/apps/bobs/domains/a.example.org", e.bob, map[string]any{"sni_endpoint": nil}), 404)

	var got api.SNIEndpointJSON
	e.mustStatus(e.do("GET", "/apps/app/sni-endpoints/"+ep.ID, e.alice, nil), 200).json(t, &got)
	if len(got.Domains) != 2 {
		t.Fatalf("endpoint domains = %v, want 2 domain ids", got.Domains)
	}
	var list []api.SNIEndpointJSON
	r = e.mustStatus(e.do("GET", "/apps/app/sni-endpoints", e.alice, nil), 200)
	r.json(t, &list)
	if len(list) != 1 || strings.Contains(string(r.body), "PRIVATE KEY") {
		t.Fatalf("list = %s", r.body)
	}

	// Update replaces the certificate.
	e.mustStatus(e.do("PATCH", "/apps/app/sni-endpoints/"+ep.Name, e.alice, map[string]any{"certificate_chain": string(crt2), "private_key": string(key)}), 422)
	e.mustStatus(e.do("PATCH", "/apps/app/sni-endpoints/"+ep.Name, e.alice, map[string]any{"certificate_chain": string(crt2), "private_key": string(key2)}), 200).json(t, &got)
	if strings.Join(got.SSLCert.CertDomains, ",") != "www.example.com" || got.Name != ep.Name {
		t.Fatalf("updated = %+v", got)
	}

	// Delete clears the domains' references.
	e.mustStatus(e.do("DELETE", "/apps/app/sni-endpoints/"+ep.Name, e.alice, nil), 200)
	e.mustStatus(e.do("GET", "/apps/app/sni-endpoints/"+ep.Name, e.alice, nil), 404)
	e.mustStatus(e.do("GET", "/apps/app/domains/www.example.com", e.alice, nil), 200).json(t, &d)
	if d.SNIEndpoint != nil {
		t.Fatalf("domain still references the deleted endpoint: %+v", d)
	}
}

func TestAppFeatures(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createApp(e.alice, "app")
	var list []api.AppFeatureJSON
	e.mustStatus(e.do("GET", "/apps/app/features", e.alice, nil), 200).json(t, &list)
	if len(list) != 2 || list[0].Name != api.FeatureRouterLeastConnections || list[0].Enabled {
		t.Fatalf("features = %+v", list)
	}
	var f api.AppFeatureJSON
	e.mustStatus(e.do("PATCH", "/apps/app/features/router-least-connections", e.alice, map[string]any{"enabled": true}), 200).json(t, &f)
	if !f.Enabled {
		t.Fatalf("not enabled: %+v", f)
	}
	// The other router feature excludes it.
	e.mustStatus(e.do("PATCH", "/apps/app/features/"+list[1].ID, e.alice, map[string]any{"enabled": true}), 200)
	e.mustStatus(e.do("GET", "/apps/app/features/router-least-connections", e.alice, nil), 200).json(t, &f)
	if f.Enabled {
		t.Fatalf("least-connections still enabled after enabling power-of-two: %+v", f)
	}
	e.mustStatus(e.do("GET", "/apps/app/features/router-power-of-two", e.alice, nil), 200).json(t, &f)
	if !f.Enabled {
		t.Fatalf("power-of-two not enabled: %+v", f)
	}
	e.mustStatus(e.do("PATCH", "/apps/app/features/router-power-of-two", e.alice, map[string]any{"enabled": false}), 200).json(t, &f)
	if f.Enabled {
		t.Fatalf("not disabled: %+v", f)
	}
	e.mustStatus(e.do("PATCH", "/apps/app/features/nope", e.alice, map[string]any{"enabled": true}), 404)
	e.mustStatus(e.do("PATCH", "/apps/app/features/router-power-of-two", e.alice, map[string]any{}), 422)
	e.mustStatus(e.do("GET", "/apps/app/features", e.bob, nil), 404)
}
