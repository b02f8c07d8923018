package certs

import (
	"testing"
	"time"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormat(t *testing.T) {
	var a, b apiclient.SNIEndpoint
	a.Name, a.Domains = "tokyo-12345", []string{"d1", "d2"}
	a.SSLCert.CertDomains = []string{"www.example.com", "*.example.org"}
	a.SSLCert.ExpiresAt = time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC)
	a.SSLCert.StartsAt = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	a.SSLCert.Issuer, a.SSLCert.Subject, a.SSLCert.SelfSigned = "/O=paasd/CN=www.example.com", "/O=paasd/CN=www.example.com", true
	b.Name, b.SSLCert.CASigned = "kyoto-54321", true
	b.SSLCert.CertDomains = []string{"api.example.net"}
	b.SSLCert.ExpiresAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	golden.Check(t, "certs", FormatList([]apiclient.SNIEndpoint{a, b}))
	golden.Check(t, "certs-info", FormatInfo(a))
}
