package api

import (
	"fmt"
	"net/http"

	"github.com/paasd/paasd/core"
)

// Sources hands out upload URLs for build sources, as Heroku's POST
// /sources does (package blobs implements it).
type Sources interface {
	// NewSource returns a URL to upload a source tarball to (PUT) and the
	// URL a build's source_blob.url then names (GET).
	NewSource() (getURL, putURL string, err error)
}

// SourceJSON is the source resource.
type SourceJSON struct {
	SourceBlob struct {
		GetURL string `json:"get_url"`
		PutURL string `json:"put_url"`
	} `json:"source_blob"`
}

// createSource is POST /sources and POST /apps/{app}/sources: a place to
// upload a source tarball before POST /apps/{app}/builds.
func (s *Server) createSource(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("app") != "" {
		if _, ok := s.app(w, r); !ok {
			return
		}
	}
	if s.opts.Sources == nil {
		s.fail(w, fmt.Errorf("this paasd has no source store: %w", core.ErrUnsupported))
		return
	}
	get, put, err := s.opts.Sources.NewSource()
	if err != nil {
		s.fail(w, err)
		return
	}
	var out SourceJSON
	out.SourceBlob.GetURL, out.SourceBlob.PutURL = get, put
	writeJSON(w, http.StatusCreated, out)
}
