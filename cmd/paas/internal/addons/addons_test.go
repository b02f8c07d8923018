package addons

import (
	"testing"
	"time"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormat(t *testing.T) {
	pg := apiclient.Addon{ID: "a1", Name: "postgresql-calm-1234", AddonService: apiclient.Ref{Name: "heroku-postgresql"},
		Plan: apiclient.Ref{Name: "heroku-postgresql:essential-0"}, App: apiclient.Ref{Name: "myapp"}, State: "provisioned",
		CreatedAt: time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)}
	var att1, att2 apiclient.Attachment
	att1.Name, att1.App.Name, att1.Addon.ID = "DATABASE", "myapp", "a1"
	att2.Name, att2.App.Name, att2.Addon.ID = "SHARED_DB", "other", "a1"
	golden.Check(t, "addons", FormatList([]apiclient.Addon{pg}, []apiclient.Attachment{att1, att2})+FormatInfo(pg, []apiclient.Attachment{att1, att2}, time.UTC))
}
