package releases

import (
	"testing"
	"time"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want int
		ok   bool
	}{
		{"with v", "v3", 3, true},
		{"bare", "12", 12, true},
		{"zero", "v0", 0, false},
		{"word", "latest", 0, false},
		{"negative", "-1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseVersion(%q) = %d, %v", tt.in, got, err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	u := apiclient.UserRef{Email: "user@example.com"}
	rels := []apiclient.Release{
		{Version: 4, Description: "Deploy 1a2b3c4d", Status: "failed", User: u, CreatedAt: at.Add(3 * time.Minute)},
		{Version: 3, Description: "Set FOO config vars", Status: "succeeded", Current: true, User: u, CreatedAt: at, AddonPlanNames: []string{"heroku-postgresql:essential-0"}},
		{Version: 2, Description: "Enable Logplex", Status: "succeeded", User: u, CreatedAt: at.Add(-time.Hour)},
		{Version: 1, Description: "Initial release", Status: "succeeded", User: u, CreatedAt: at.Add(-2 * time.Hour)},
	}
	golden.Check(t, "releases", FormatList("myapp", rels, time.UTC))
	golden.Check(t, "releases-info", FormatInfo(rels[1], map[string]string{"FOO": "bar", "DATABASE_URL": "postgres://h/db"}, false, time.UTC))
	if Current(rels).Version != 3 {
		t.Fatal("Current is not v3")
	}
}
