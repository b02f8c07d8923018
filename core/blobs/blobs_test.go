package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newStore(t *testing.T) (*Store, *httptest.Server, *time.Time) {
	t.Helper()
	dir := t.TempDir()
	key, err := LoadKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s := &Store{SourceDir: filepath.Join(dir, "sources"), SlugDir: filepath.Join(dir, "slugs"), Key: key, MaxBytes: 1 << 10,
		Now: func() time.Time { return now }}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.BaseURL = srv.URL
	return s, srv, &now
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestSourceRoundTrip(t *testing.T) {
	s, _, now := newStore(t)
	get, put, err := s.NewSource()
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "GET", get, ""); code != 404 {
		t.Fatalf("GET before upload: %d %s", code, body)
	}
	if code, body := do(t, "PUT", put, "tarball"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := do(t, "GET", get, ""); code != 200 || body != "tarball" {
		t.Fatalf("GET: %d %q", code, body)
	}
	// A GET URL does not grant PUT, and URLs expire.
	if code, body := do(t, "PUT", get, "other"); code != 403 {
		t.Fatalf("PUT with the GET URL: %d %s", code, body)
	}
	*now = now.Add(2 * time.Hour)
	if code, body := do(t, "GET", get, ""); code != 403 || !strings.Contains(body, "expired") {
		t.Fatalf("GET after expiry: %d %s", code, body)
	}
}

func TestBadRequests(t *testing.T) {
	s, srv, _ := newStore(t)
	_, put, _ := s.NewSource()
	sum := sha256.Sum256([]byte("slug"))
	slugPut, err := s.SlugURL("SHA256:"+hex.EncodeToString(sum[:]), "put")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, method, url, body string
		code                    int
		want                    string
	}{
		{"tampered signature", "PUT", strings.Replace(put, "sig=", "sig=0", 1), "x", 403, "signature"},
		{"no signature", "GET", srv.URL + "/blobs/sources/" + strings.Repeat("a", 32), "", 403, "signature"},
		{"malformed name", "GET", srv.URL + "/blobs/sources/../../etc/passwd", "", 404, "No such blob"},
		{"unknown kind", "GET", srv.URL + "/blobs/other/x", "", 404, "No such blob"},
		{"wrong method", "DELETE", put, "", 405, "GET and PUT"},
		{"too large", "PUT", put, strings.Repeat("x", 2<<10), 422, "limit"},
		{"slug of other content", "PUT", slugPut, "not the slug", 422, "SHA-256"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			code, body := do(t, tc.method, tc.url, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%s: %d %s; want %d with %q", tc.desc, code, body, tc.code, tc.want)
			}
		})
	}
	// Nothing was stored by the failed uploads.
	for _, dir := range []string{s.SourceDir, s.SlugDir} {
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Fatalf("%s holds %d files after failed uploads", dir, len(entries))
		}
	}
	if code, body := do(t, "PUT", slugPut, "slug"); code != 200 {
		t.Fatalf("slug PUT: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(s.SlugDir, hex.EncodeToString(sum[:])+".tgz")); err != nil {
		t.Fatal(err)
	}
	if u, err := s.SlugURL("", "get"); err != nil || u != "" {
		t.Fatalf("slug without checksum: %q %v", u, err)
	}
	if _, err := s.SlugURL("SHA256:xyz", "get"); err == nil {
		t.Fatal("malformed checksum accepted")
	}
}

func TestKeyKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	k1, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second LoadKey: %v, same=%v", err, string(k1) == string(k2))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", fi.Mode().Perm())
	}
}

func FuzzServe(f *testing.F) {
	f.Add("GET", "/blobs/sources/0123", "expires=1&sig=00")
	f.Add("PUT", "/blobs/slugs/"+strings.Repeat("a", 64), "")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		dir := t.TempDir()
		s := &Store{SourceDir: filepath.Join(dir, "a"), SlugDir: filepath.Join(dir, "b"), Key: make([]byte, 32)}
		req := httptest.NewRequest("GET", "/", strings.NewReader("body"))
		req.Method, req.URL.Path, req.URL.RawQuery = method, path, query
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == 200 {
			t.Fatalf("%s %s?%s answered 200 without a valid signature", method, path, query)
		}
	})
}
