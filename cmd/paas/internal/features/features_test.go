package features

import (
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormatList(t *testing.T) {
	golden.Check(t, "features", FormatList("myapp", []apiclient.AppFeature{
		{Name: "router-least-connections", Description: "Fewest requests in flight.", Enabled: true},
		{Name: "router-power-of-two", Description: "Less busy of two."},
	}))
}
