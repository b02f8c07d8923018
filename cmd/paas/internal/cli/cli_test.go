package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestAppFromGitURL(t *testing.T) {
	tests := []struct {
		desc, in, want string
	}{
		{"paasd http", "http://127.0.0.1:5000/myapp.git", "myapp"},
		{"heroku https", "https://git.heroku.com/other-app.git", "other-app"},
		{"ssh url", "ssh://git@host/app3.git", "app3"},
		{"scp form", "git@heroku.com:legacy.git", "legacy"},
		{"no .git", "https://github.com/me/repo", ""},
		{"empty", "", ""},
		{"only .git", "http://host/.git", ""},
		{"local path", "/srv/repo.git", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := AppFromGitURL(tt.in); got != tt.want {
				t.Fatalf("AppFromGitURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"myapp", "billing-api", "web"}
	tests := []struct {
		desc, in, want string
	}{
		{"missing letter", "myap", "myapp"},
		{"transposed", "mayapp", "myapp"},
		{"longer name, two edits", "biling-apii", "billing-api"},
		{"nothing close", "zzzzzzzz", ""},
		{"exact is no suggestion", "web", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Suggest(tt.in, names); got != tt.want {
				t.Fatalf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if d := Levenshtein("kitten", "sitting"); d != 3 {
		t.Fatalf("Levenshtein = %d", d)
	}
}

func TestFormatting(t *testing.T) {
	var b bytes.Buffer
	FormatError(&b, "Couldn't find that app.\n\ndid you mean 'x'?")
	b.WriteString(FormatKeyValues([]KV{{"Git URL", "http://h/a.git"}, {"Addons", "pg:basic\nredis:mini"}, {"Owner", "a@b.c"}, {"Empty", ""}}))
	b.WriteString(FormatTable([]string{"Add-on", "Plan", "State"}, [][]string{{"heroku-postgresql (pg-1)", "essential-0", "created"}, {" └─ as DATABASE"}}))
	b.WriteString(FormatTable(nil, [][]string{{"v10", "Deploy 1a2b", "x@y"}, {"v9", "Set FOO config vars", "x@y"}}))
	golden.Check(t, "formatting", b.String())
}

func TestActionWithoutTTY(t *testing.T) {
	var errb bytes.Buffer
	e := &Env{Err: &errb, Out: &bytes.Buffer{}}
	e.Action("Setting FOO and restarting ⬢ a", func() (string, error) { return "v3", nil })
	e.ActionStatus("Running `bash` on ⬢ a", func() (string, error) { return "up, run.1 (Basic)", nil })
	e.Action("Failing", func() (string, error) { return "", errTest })
	want := "Setting FOO and restarting ⬢ a... done, v3\nRunning `bash` on ⬢ a... up, run.1 (Basic)\nFailing... !\n"
	if errb.String() != want {
		t.Fatalf("stderr = %q", errb.String())
	}
	if strings.Contains(errb.String(), "\r") {
		t.Fatal("spinner frames without a terminal")
	}
}

type testErr struct{}

func (testErr) Error() string { return "boom" }

var errTest = testErr{}

// FuzzAppFromGitURL: never panics; an answer is a plain path segment.
func FuzzAppFromGitURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:5000/myapp.git", "git@h:a.git", "ssh://h/x/y.git", "://.git", "a:.git"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		app := AppFromGitURL(u)
		if strings.Contains(app, "/") || strings.HasSuffix(app, ".git") && app == ".git" {
			t.Fatalf("AppFromGitURL(%q) = %q", u, app)
		}
	})
}
