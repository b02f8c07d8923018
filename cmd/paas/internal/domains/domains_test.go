package domains

import (
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormatList(t *testing.T) {
	target := "myapp.localhost"
	golden.Check(t, "domains", FormatList("myapp", []apiclient.Domain{
		{Hostname: "www.example.com", Kind: "custom", CNAME: &target, SNIEndpoint: &struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}{ID: "1", Name: "tokyo-12345"}},
		{Hostname: "myapp.localhost", Kind: "heroku"},
		{Hostname: "*.example.org", Kind: "custom", CNAME: &target},
	}))
}
