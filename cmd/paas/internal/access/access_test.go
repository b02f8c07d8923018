package access

import (
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormatList(t *testing.T) {
	golden.Check(t, "access", FormatList("myapp", []Collaborator{
		{Role: "member", User: apiclient.UserRef{Email: "zed@example.com"}},
		{Role: "owner", User: apiclient.UserRef{Email: "owner@example.com"}},
		{User: apiclient.UserRef{Email: "amy@example.com"}},
	}))
}
