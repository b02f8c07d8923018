package drains

import (
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormatList(t *testing.T) {
	ds := []apiclient.Drain{
		{ID: "7b1f9c2e-0000-4000-8000-000000000001", URL: "syslog+tls://logs.example.com:6514", Token: "d.6f1e0000-0000-4000-8000-00000000000a"},
		{ID: "7b1f9c2e-0000-4000-8000-000000000002", URL: "https://logs.example.com/drain", Token: "d.6f1e0000-0000-4000-8000-00000000000b"},
	}
	golden.Check(t, "drains", FormatList("myapp", nil, false)+FormatList("myapp", ds, false)+FormatList("myapp", ds, true))
}
