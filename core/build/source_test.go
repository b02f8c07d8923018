package build_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
)

// TestSourceBlobBuild serves a source tarball over HTTP, fetches it like
// POST /apps/{app}/builds does and builds it.
func TestSourceBlobBuild(t *testing.T) {
	p := fixturePipeline(t)
	tarball := tarOf(t, tarEntry{name: "chain.txt", body: "hi"}, tarEntry{name: "Procfile", body: "web: bin/web\n"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/source.tgz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(tarball)
	}))
	t.Cleanup(srv.Close)
	body, err := p.FetchSource(context.Background(), nil, srv.URL+"/source.tgz")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var out syncBuffer
	res, err := p.Build(context.Background(), build.Request{App: "blob", Source: body, Output: &out})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if res.Slug.ProcessTypes["web"] != "bin/web" {
		t.Fatalf("types %v", res.Slug.ProcessTypes)
	}
	for _, bad := range []string{srv.URL + "/missing", "file:///etc/passwd", "ftp://x/y", "::"} {
		if _, err := p.FetchSource(context.Background(), nil, bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("FetchSource(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
