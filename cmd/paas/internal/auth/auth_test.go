package auth

import "testing"

func TestFormatAuthorizations(t *testing.T) {
	tests := []struct {
		desc string
		in   []authorization
		want string
	}{
		{"none", nil, "No OAuth authorizations.\n"},
		{"aligned, <none> for no description", []authorization{
			{ID: "11111111-0000-4000-8000-000000000000", Description: "first admin token", Scope: []string{"global"}},
			{ID: "22222222-0000-4000-8000-000000000000", Scope: []string{"global"}},
		}, "first admin token  11111111-0000-4000-8000-000000000000  global\n<none>             22222222-0000-4000-8000-000000000000  global\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := FormatAuthorizations(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
