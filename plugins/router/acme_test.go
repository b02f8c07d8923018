package router

import (
	"net/http"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestACMEChallenge(t *testing.T) {
	r, addr := startRouter(t, Options{BaseDomain: "example.test"})
	be := echoBackend(t, "web.1")
	setRoutes(t, r, 1, core.Route{App: "a", Hosts: []string{"a.example.test", "www.shop.test"},
		Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}})
	r.SetACMEChallenge(func(host, path string) (string, bool) {
		if host == "www.shop.test" && path == "/.well-known/acme-challenge/tok" {
			return "tok.thumb", true
		}
		return "", false
	})
	tests := []struct {
		desc, host, path string
		status           int
		body             string
	}{
		{desc: "challenge answered", host: "www.shop.test", path: "/.well-known/acme-challenge/tok", status: 200, body: "tok.thumb"},
		{desc: "host with port", host: "WWW.shop.test:80", path: "/.well-known/acme-challenge/tok", status: 200, body: "tok.thumb"},
		{desc: "unknown token goes to the app", host: "www.shop.test", path: "/.well-known/acme-challenge/other", status: 200},
		{desc: "unknown host", host: "nope.test", path: "/.well-known/acme-challenge/tok", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			resp, body := get(t, addr, tc.host, tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.body != "" && string(body) != tc.body {
				t.Fatalf("body %q, want %q", body, tc.body)
			}
			if tc.body == "" && tc.status == http.StatusOK && resp.Header.Get("Content-Type") == "text/plain" && string(body) == "tok.thumb" {
				t.Fatal("challenge answered for a token the hook did not know")
			}
		})
	}
}
