package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
)

// fakeBuildpacks knows heroku/go and heroku/nodejs, and names the URL of
// Heroku's Go buildpack heroku/go.
type fakeBuildpacks struct{}

func (fakeBuildpacks) CheckBuildpack(_ context.Context, ref string) (string, error) {
	switch ref {
	case "heroku/go", "heroku/nodejs":
		return ref, nil
	case "https://github.com/heroku/heroku-buildpack-go":
		return "heroku/go", nil
	}
	return "", fmt.Errorf("unknown buildpack %q: %w", ref, core.ErrInvalid)
}

func TestBuildpackInstallations(t *testing.T) {
	fb := &fakeBuilder{}
	e := newEnv(t, api.Options{Builder: fb, Buildpacks: fakeBuildpacks{}})
	e.createApp(e.alice, "app")
	var got []api.BuildpackInstallationJSON
	e.mustStatus(e.do("GET", "/apps/app/buildpack-installations", e.alice, nil), 200).json(t, &got)
	if got == nil || len(got) != 0 {
		t.Fatalf("new app's list = %#v, want []", got)
	}
	put := func(refs ...string) map[string]any {
		var ups []any
		for _, r := range refs {
			ups = append(ups, map[string]any{"buildpack": r})
		}
		return map[string]any{"updates": ups}
	}
	e.mustStatus(e.do("PUT", "/apps/app/buildpack-installations", e.alice,
		put("https://github.com/heroku/heroku-buildpack-go", "heroku/nodejs")), 200).json(t, &got)
	want := []api.BuildpackInstallationJSON{{Ordinal: 0}, {Ordinal: 1}}
	want[0].Buildpack.URL, want[0].Buildpack.Name = "https://github.com/heroku/heroku-buildpack-go", "heroku/go"
	want[1].Buildpack.URL, want[1].Buildpack.Name = "heroku/nodejs", "heroku/nodejs"
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("PUT answered %+v, want %+v", got, want)
	}
	e.mustStatus(e.do("GET", "/apps/app/buildpack-installations", e.alice, nil), 200).json(t, &got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("GET answered %+v, want %+v", got, want)
	}
	a, err := e.st.GetApp(context.Background(), "app")
	if err != nil || fmt.Sprint(a.Buildpacks) != "[https://github.com/heroku/heroku-buildpack-go heroku/nodejs]" {
		t.Fatalf("stored %v, %v", a.Buildpacks, err)
	}

	// A build without buildpacks of its own uses the app's list.
	e.mustStatus(e.do("POST", "/apps/app/builds", e.alice, map[string]any{
		"source_blob": map[string]any{"url": "https://example.com/src.tgz"}}), 201)
	if len(fb.builds) != 1 || fmt.Sprint(fb.builds[0].Buildpacks) != fmt.Sprint(a.Buildpacks) {
		t.Fatalf("builder saw %+v", fb.builds)
	}

	for _, tt := range []struct {
		desc    string
		body    any
		mention string
	}{
		{"unknown buildpack", put("heroku/cobol"), "heroku/cobol"},
		{"empty entry", put("heroku/go", ""), "updates[1].buildpack"},
		{"twice", put("heroku/go", "heroku/go"), "twice"},
		{"space", put("heroku/ go"), "spaces"},
		{"too many", put("a", "b", "c", "d", "e", "f", "g", "h", "i"), "at most"},
		{"not an object", `[]`, ""},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := e.do("PUT", "/apps/app/buildpack-installations", e.alice, tt.body)
			if r.status/100 != 4 || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s, want a 4xx mentioning %q", r.status, r.body, tt.mention)
			}
		})
	}
	// Nothing changed.
	e.mustStatus(e.do("GET", "/apps/app/buildpack-installations", e.alice, nil), 200).json(t, &got)
	if len(got) != 2 {
		t.Fatalf("list after bad updates = %+v", got)
	}
	// Another tenant sees nothing.
	e.mustStatus(e.do("GET", "/apps/app/buildpack-installations", e.bob, nil), 404)
	e.mustStatus(e.do("PUT", "/apps/app/buildpack-installations", e.bob, put("heroku/go")), 404)
	// An empty list clears it.
	e.mustStatus(e.do("PUT", "/apps/app/buildpack-installations", e.alice, map[string]any{"updates": []any{}}), 200).json(t, &got)
	if got == nil || len(got) != 0 {
		t.Fatalf("cleared list = %#v", got)
	}
	if a, _ := e.st.GetApp(context.Background(), "app"); len(a.Buildpacks) != 0 {
		t.Fatalf("stored %v after clearing", a.Buildpacks)
	}
}

func TestCheckBuildpackList(t *testing.T) {
	for _, tt := range []struct {
		refs []string
		ok   bool
	}{
		{nil, true},
		{[]string{"heroku/go", "plugin:/opt/bp"}, true},
		{[]string{""}, false},
		{[]string{"a\x00"}, false},
		{[]string{"x", "x"}, false},
		{[]string{strings.Repeat("x", 2049)}, false},
	} {
		err := api.CheckBuildpackList(tt.refs)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, core.ErrInvalid)) {
			t.Errorf("CheckBuildpackList(%q) = %v", tt.refs, err)
		}
	}
}

func TestBuildpackRegistry(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(api.BuildpackRegistryPattern, api.BuildpackRegistry(fakeBuildpacks{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tt := range []struct {
		path string
		code int
		blob string
	}{
		{"/buildpack-registry/buildpacks/heroku%2Fgo", 200, "heroku/go"},
		{"/buildpack-registry/buildpacks/heroku%2Fcobol", 404, ""},
		{"/buildpack-registry/buildpacks/go", 404, ""},
	} {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			BlobURL string `json:"blob_url"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tt.code || body.BlobURL != tt.blob {
			t.Errorf("GET %s = %d blob_url %q, want %d %q", tt.path, res.StatusCode, body.BlobURL, tt.code, tt.blob)
		}
	}
}
