package main_test

// paasd's API has no buildpack-installations endpoint yet, so the buildpacks
// commands run against a handler with Heroku's documented shape:
// GET /apps/{app}/buildpack-installations → [{ordinal, buildpack: {url, name}}],
// PUT with {"updates": [{"buildpack": URL}]} replaces the list.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

func TestBuildpacks(t *testing.T) {
	var mu sync.Mutex
	var list []string
	mux := http.NewServeMux()
	render := func(w http.ResponseWriter) {
		type bp struct {
			URL  string `json:"url"`
			Name string `json:"name"`
		}
		type inst struct {
			Ordinal   int `json:"ordinal"`
			Buildpack bp  `json:"buildpack"`
		}
		out := []inst{}
		for i, u := range list {
			out = append(out, inst{i, bp{u, u}})
		}
		json.NewEncoder(w).Encode(out)
	}
	mux.HandleFunc("GET /apps/bp/buildpack-installations", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		render(w)
	})
	mux.HandleFunc("PUT /apps/bp/buildpack-installations", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Updates []struct{ Buildpack string } `json:"updates"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		list = nil
		for _, u := range body.Updates {
			list = append(list, u.Buildpack)
		}
		render(w)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	paas := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(paasBin, append(args, "-a", "bp")...)
		cmd.Env = []string{"PAAS_API_URL=" + srv.URL, "PAAS_API_KEY=k", "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("paas %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := paas("buildpacks"); out != "⬢ bp has no Buildpack URL set.\n" {
		t.Fatalf("buildpacks = %q", out)
	}
	if out := paas("buildpacks:set", "heroku/go"); !strings.HasPrefix(out, "Buildpack set. Next release on bp will use heroku/go.") {
		t.Fatalf("buildpacks:set = %q", out)
	}
	paas("buildpacks:add", "--index", "1", "heroku/nodejs")
	if out := paas("buildpacks"); out != "=== bp Buildpack URLs\n1. heroku/nodejs\n2. heroku/go\n" {
		t.Fatalf("buildpacks = %q", out)
	}
	paas("buildpacks:remove", "-i", "1")
	if out := paas("buildpacks", "--json"); !strings.Contains(out, `"url": "heroku/go"`) || strings.Contains(out, "nodejs") {
		t.Fatalf("buildpacks --json = %q", out)
	}
	paas("buildpacks:clear")
	if len(list) != 0 {
		t.Fatalf("after clear: %v", list)
	}
}
