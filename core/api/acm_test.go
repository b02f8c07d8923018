package api_test

import (
	"sync"
	"testing"

	"github.com/paasd/paasd/core/api"
)

// fakeACM is a fixed set of domain statuses that records refreshes.
type fakeACM struct {
	mu        sync.Mutex
	refreshed []string
}

func (f *fakeACM) DomainStatus(h string) (string, string, bool) {
	switch h {
	case "www.example.com":
		return "cert issued", "", true
	case "bad.example.com":
		return "failed", "CAA record forbids issuance", true
	}
	return "", "", false
}

func (f *fakeACM) Refresh(appID string) {
	f.mu.Lock()
	f.refreshed = append(f.refreshed, appID)
	f.mu.Unlock()
}

func TestACM(t *testing.T) {
	acm := &fakeACM{}
	e := newEnv(t, api.Options{ACM: acm})
	e.createApp(e.alice, "app")
	e.mustStatus(e.do("POST", "/apps/app/domains", e.alice, map[string]any{"hostname": "www.example.com"}), 201)
	e.mustStatus(e.do("POST", "/apps/app/domains", e.alice, map[string]any{"hostname": "bad.example.com"}), 201)

	var a api.AppJSON
	e.mustStatus(e.do("GET", "/apps/app", e.alice, nil), 200).json(t, &a)
	if a.ACM {
		t.Fatal("acm on before enabling")
	}
	e.mustStatus(e.do("PATCH", "/apps/app/acm/refresh", e.alice, nil), 422)
	e.mustStatus(e.do("POST", "/apps/app/acm", e.bob, nil), 404)
	e.mustStatus(e.do("POST", "/apps/app/acm", e.alice, nil), 200).json(t, &a)
	if !a.ACM {
		t.Fatalf("acm off after enabling: %+v", a)
	}
	if !e.log.has("app: Enable Automated Certificate Management by user alice@example.com") {
		t.Errorf("no API log line: %v", e.log.lines)
	}
	var ds []api.DomainJSON
	e.mustStatus(e.do("GET", "/apps/app/domains", e.alice, nil), 200).json(t, &ds)
	got := map[string][2]string{}
	for _, d := range ds {
		var st, reason string
		if d.ACMStatus != nil {
			st = *d.ACMStatus
		}
		if d.ACMStatusReason != nil {
			reason = *d.ACMStatusReason
		}
		got[d.Hostname] = [2]string{st, reason}
	}
	for host, want := range map[string][2]string{
		"www.example.com": {"cert issued", ""},
		"bad.example.com": {"failed", "CAA record forbids issuance"},
		"app.localhost":   {"", ""},
	} {
		if got[host] != want {
			t.Errorf("%s: acm_status, reason = %q, want %q", host, got[host], want)
		}
	}
	e.mustStatus(e.do("PATCH", "/apps/app/acm/refresh", e.alice, nil), 200)
	if len(acm.refreshed) != 1 {
		t.Fatalf("refreshes = %v", acm.refreshed)
	}
	e.mustStatus(e.do("DELETE", "/apps/app/acm", e.alice, nil), 200).json(t, &a)
	if a.ACM {
		t.Fatal("acm on after disabling")
	}
	var d api.DomainJSON
	e.mustStatus(e.do("GET", "/apps/app/domains/www.example.com", e.alice, nil), 200).json(t, &d)
	if d.ACMStatus != nil {
		t.Fatalf("acm_status %q with ACM off", *d.ACMStatus)
	}

	// Without an ACME client, enabling is refused with a reason.
	e2 := newEnv(t, api.Options{})
	e2.createApp(e2.alice, "app")
	if r := e2.do("POST", "/apps/app/acm", e2.alice, nil); r.status < 400 {
		t.Fatalf("enable without ACM: %d %s", r.status, r.body)
	}
}
