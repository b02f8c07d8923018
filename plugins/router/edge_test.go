package router

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

// TestResponseShapes checks responses without a body, a large body and an
// Expect: 100-continue upload through the fast path.
func TestResponseShapes(t *testing.T) {
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	be := backendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			_, _ = w.Write(big)
		case "/upload":
			n, _ := io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
		default:
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		}
	})
	r, addr := startRouter(t, Options{})
	setRoutes(t, r, 1, core.Route{App: "a", Backends: []core.Backend{{Dyno: "web.1", Address: be}}})
	for _, tc := range []struct {
		desc, method, path string
		status             int
		body               string
	}{
		{desc: "HEAD", method: "HEAD", path: "/", status: 200},
		{desc: "204", method: "GET", path: "/204", status: 204},
		{desc: "304", method: "GET", path: "/304", status: 304},
		{desc: "GET after them on the same connection", method: "GET", path: "/", status: 200, body: "hello"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
			req.Host = "a.localhost"
			resp, body := do(t, req)
			if resp.StatusCode != tc.status || string(body) != tc.body {
				t.Errorf("status %d body %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
	t.Run("3 MiB body", func(t *testing.T) {
		_, body := get(t, addr, "a.localhost", "/big", nil)
		if !bytes.Equal(body, big) {
			t.Errorf("got %d bytes, not the backend's %d", len(body), len(big))
		}
	})
	t.Run("Expect 100-continue", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/upload", strings.NewReader(strings.Repeat("u", 100000)))
		req.Host = "a.localhost"
		req.Header.Set("Expect", "100-continue")
		resp, body := do(t, req)
		if resp.StatusCode != 200 || string(body) != "100000" {
			t.Errorf("status %d body %q", resp.StatusCode, body)
		}
	})
}
