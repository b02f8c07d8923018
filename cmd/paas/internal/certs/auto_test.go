package certs

import (
	"strings"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
)

func TestFormatAuto(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		desc    string
		app     apiclient.App
		domains []apiclient.Domain
		want    []string
		not     []string
	}{
		{desc: "disabled", app: apiclient.App{Name: "a"}, want: []string{"=== Automatic Certificate Management is disabled on ⬢ a"}},
		{desc: "no custom domains", app: apiclient.App{Name: "a", ACM: true},
			domains: []apiclient.Domain{{Hostname: "a.localhost", Kind: "heroku"}}, want: []string{"is enabled on ⬢ a", "No custom domains"}, not: []string{"a.localhost"}},
		{desc: "issued", app: apiclient.App{Name: "a", ACM: true},
			domains: []apiclient.Domain{{Hostname: "www.x.com", Kind: "custom", ACMStatus: str("cert issued")}},
			want:    []string{"www.x.com  Cert issued"}, not: []string{"retry", "waiting"}},
		{desc: "failed with reason", app: apiclient.App{Name: "a", ACM: true},
			domains: []apiclient.Domain{{Hostname: "www.x.com", Kind: "custom", ACMStatus: str("failed"), ACMStatusReason: str("no route")}},
			want:    []string{"www.x.com  Failed", "paas certs:auto:refresh", "www.x.com: no route"}},
		{desc: "pending and none", app: apiclient.App{Name: "a", ACM: true},
			domains: []apiclient.Domain{{Hostname: "p.x.com", Kind: "custom", ACMStatus: str("pending")}, {Hostname: "n.x.com", Kind: "custom"}},
			want:    []string{"p.x.com  Pending", "n.x.com  Waiting", "still waiting"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := FormatAuto(tc.app, tc.domains)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in:\n%s", n, got)
				}
			}
		})
	}
}
