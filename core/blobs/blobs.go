// Package blobs keeps the files that Heroku's API has clients upload to
// pre-signed URLs: source tarballs (POST /sources, then a build's
// source_blob.url) and slug archives (POST /apps/{app}/slugs answers
// blob.url). paasd plays the object store itself: [Store] hands out signed,
// expiring URLs on paasd's own address and serves GET and PUT on them.
//
// # URLs
//
//	{BaseURL}/blobs/sources/{id}?expires={unix}&sig={hmac}
//	{BaseURL}/blobs/slugs/{sha256 hex}?expires={unix}&sig={hmac}
//
// The signature is HMAC-SHA256 over "METHOD name expires" with the store's
// key, so a URL grants one method on one blob until it expires; no API
// token is needed, as with S3 pre-signed URLs. A slug is content-addressed:
// its PUT is stored only if the body's SHA-256 is the name, and lands in
// the slug directory the dyno runtimes read. Uploads are bounded in size,
// written to a temporary file and renamed into place, so a failed upload
// leaves nothing behind and never replaces a stored blob with a partial one.
package blobs

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
)

// Kinds of blob.
const (
	KindSource = "sources"
	KindSlug   = "slugs"
)

// Store hands out signed URLs and serves them. Fields are read-only once
// it serves.
type Store struct {
	// BaseURL is paasd's API address as clients reach it ("http://127.0.0.1:5000").
	BaseURL string
	// SourceDir holds uploaded sources; SlugDir holds slug archives as
	// <sha256 hex>.tgz (the platform's slug directory). Both required.
	SourceDir, SlugDir string
	// Key signs URLs; at least 32 bytes. [LoadKey] makes and keeps one.
	Key []byte
	// TTL is how long a URL stays valid; default one hour, as Heroku's.
	TTL time.Duration
	// MaxBytes bounds an upload; default 500 MB (Heroku's slug limit).
	MaxBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var (
	sourceID = regexp.MustCompile(`^[0-9a-f]{32}$`)
	slugSum  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// LoadKey reads the signing key from path, creating a random one (mode
// 0600) when the file does not exist.
func LoadKey(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	if err == nil && len(k) >= 32 {
		return k, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob key: %w", err)
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("blob key: %w", err)
	}
	if err := os.WriteFile(path, k, 0o600); err != nil {
		return nil, fmt.Errorf("blob key: %w", err)
	}
	return k, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) sign(method, name string, expires int64) string {
	m := hmac.New(sha256.New, s.Key)
	fmt.Fprintf(m, "%s %s %d", method, name, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// URL returns a signed URL granting method (GET or PUT) on the blob name
// ("sources/<id>" or "slugs/<sha256 hex>").
func (s *Store) URL(method, name string) string {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	exp := s.now().Add(ttl).Unix()
	q := url.Values{"expires": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(method, name, exp)}}
	return strings.TrimSuffix(s.BaseURL, "/") + "/blobs/" + name + "?" + q.Encode()
}

// SourceRetention is how long an uploaded source is kept: builds fetch
// theirs within minutes, so older ones are removed as new ones are made.
const SourceRetention = 24 * time.Hour

// NewSource makes a source blob id and returns its GET and PUT URLs.
func (s *Store) NewSource() (getURL, putURL string, err error) {
	s.pruneSources()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("source id: %w", err)
	}
	name := KindSource + "/" + hex.EncodeToString(b[:])
	return s.URL(http.MethodGet, name), s.URL(http.MethodPut, name), nil
}

// pruneSources removes sources older than SourceRetention.
func (s *Store) pruneSources() {
	entries, err := os.ReadDir(s.SourceDir)
	if err != nil {
		return
	}
	cutoff := s.now().Add(-SourceRetention)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(s.SourceDir, e.Name()))
		}
	}
}

// SlugURL returns the URL to upload ("put") or download ("get") the
// archive of a slug with the given checksum ("SHA256:<hex>"). A slug
// without a checksum has no archive: the answer is "" and no error.
func (s *Store) SlugURL(checksum, method string) (string, error) {
	sum := strings.TrimPrefix(strings.ToLower(checksum), "sha256:")
	if sum == "" {
		return "", nil
	}
	if !slugSum.MatchString(sum) {
		return "", fmt.Errorf("slug checksum %q is not SHA256:<64 hex digits>: %w", checksum, core.ErrInvalid)
	}
	return s.URL(strings.ToUpper(method), KindSlug+"/"+sum), nil
}

// path maps a blob name to its file; ok is false for a malformed name.
func (s *Store) path(name string) (string, bool) {
	kind, id, _ := strings.Cut(name, "/")
	switch {
	case kind == KindSource && sourceID.MatchString(id):
		return filepath.Join(s.SourceDir, id), true
	case kind == KindSlug && slugSum.MatchString(id):
		return filepath.Join(s.SlugDir, id+".tgz"), true
	}
	return "", false
}

// ServeHTTP serves GET and PUT on /blobs/{kind}/{id} (mount it on
// "/blobs/"); errors are Heroku-style JSON.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/blobs/")
	file, ok := s.path(name)
	if !ok {
		fail(w, http.StatusNotFound, "not_found", "No such blob: URLs are /blobs/sources/<id> or /blobs/slugs/<sha256>.")
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if method != http.MethodGet && method != http.MethodPut {
		w.Header().Set("Allow", "GET, HEAD, PUT")
		fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "Blobs take GET and PUT.")
		return
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(s.sign(method, name, exp))) {
		fail(w, http.StatusForbidden, "forbidden", "This blob URL's signature is missing or does not match; ask the API for a new URL.")
		return
	}
	if s.now().Unix() > exp {
		fail(w, http.StatusForbidden, "forbidden", "This blob URL has expired; ask the API for a new URL.")
		return
	}
	if method == http.MethodGet {
		f, err := os.Open(file)
		if err != nil {
			fail(w, http.StatusNotFound, "not_found", "Nothing has been uploaded to this blob.")
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			fail(w, http.StatusInternalServerError, "internal_server_error", err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", fi.ModTime(), f)
		return
	}
	want := ""
	if kind, id, _ := strings.Cut(name, "/"); kind == KindSlug {
		want = id
	}
	if err := s.put(file, want, r.Body); err != nil {
		status, id := http.StatusUnprocessableEntity, "invalid_params"
		if !errors.Is(err, core.ErrInvalid) {
			status, id = http.StatusInternalServerError, "internal_server_error"
		}
		fail(w, status, id, err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// put stores body at file through a temporary file; with want set, only
// if the body's SHA-256 is want.
func (s *Store) put(file, want string, body io.Reader) error {
	max := s.MaxBytes
	if max <= 0 {
		max = 500 << 20
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("blob dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".upload-*")
	if err != nil {
		return fmt.Errorf("blob upload: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, max+1))
	if err != nil {
		return fmt.Errorf("blob upload: %w", err)
	}
	if n > max {
		return fmt.Errorf("the upload is larger than the %d MB limit: %w", max>>20, core.ErrInvalid)
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return fmt.Errorf("the upload's SHA-256 is %s, but this slug's checksum is SHA256:%s: %w", got, want, core.ErrInvalid)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("blob upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("blob upload: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("blob upload: %w", err)
	}
	return nil
}

func fail(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"id\":%q,\"message\":%q}\n", id, msg)
}

// SlugBlobs adapts a Store to the API's slug blob hook: BlobURL of a slug
// is the signed URL of its archive.
type SlugBlobs struct{ Store *Store }

// BlobURL implements api.SlugBlobs.
func (b SlugBlobs) BlobURL(_ context.Context, _ core.App, slug core.Slug, method string) (string, error) {
	return b.Store.SlugURL(slug.Checksum, method)
}
