package daemon

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// tgz is a gzipped tarball of files (mode 0755).
func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

func httpDo(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
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

func waitRouted(t *testing.T, router, app, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c, b, err := routed(router, app, "/")
		if err == nil && c == 200 && strings.Contains(b, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 with %q from %s: %d %q %v", want, app, c, b, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestUploadsThroughBlobURLs is the CI path of Heroku's API without git:
// POST /apps/{app}/sources, PUT the tarball to put_url, POST a build with
// source_blob.url = get_url; and the slug path: POST /apps/{app}/slugs with
// a checksum, PUT the archive to blob.url (a wrong archive is refused and
// nothing is stored), release it. Both apps then serve through the router.
func TestUploadsThroughBlobURLs(t *testing.T) {
	testenv.Short(t, "starts paasd, builds and runs real dynos")
	testenv.NeedCommand(t, "python3")
	rt := testRuntime()
	dataDir := filepath.Join(t.TempDir(), "data")
	d, router := startDaemonWithRouter(t, dataDir, "--runtime", rt)
	defer func() { d.stop(t) }()

	t.Run("source then build", func(t *testing.T) {
		if code, a := d.call(t, "POST", "/apps", map[string]any{"name": "ci-built"}); code != 201 {
			t.Fatalf("create app: %d %v", code, a)
		}
		code, src := d.call(t, "POST", "/apps/ci-built/sources", nil)
		if code != 201 {
			t.Fatalf("POST sources: %d %v", code, src)
		}
		blob, _ := src["source_blob"].(map[string]any)
		get, _ := blob["get_url"].(string)
		put, _ := blob["put_url"].(string)
		if get == "" || put == "" {
			t.Fatalf("source_blob %v", src)
		}
		if c, b := httpDo(t, "PUT", put, tgz(t, map[string]string{
			"Procfile":   "web: python3 -m http.server $PORT\n",
			"index.html": "<h1>built from an uploaded source</h1>\n",
		})); c != 200 {
			t.Fatalf("PUT source: %d %s", c, b)
		}
		code, b := d.call(t, "POST", "/apps/ci-built/builds", map[string]any{"source_blob": map[string]any{"url": get, "version": "ci-1"}})
		if code != 201 {
			t.Fatalf("POST builds: %d %v", code, b)
		}
		id, _ := b["id"].(string)
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
			_, b = d.call(t, "GET", "/apps/ci-built/builds/"+id, nil)
			if b["status"] != "pending" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("build still pending: %v", b)
			}
		}
		if b["status"] != "succeeded" {
			t.Fatalf("build %v\nlogs: %s", b, d.logs.String())
		}
		waitRouted(t, router, "ci-built", "built from an uploaded source")
	})

	t.Run("slug upload then release", func(t *testing.T) {
		if code, a := d.call(t, "POST", "/apps", map[string]any{"name": "ci-slug"}); code != 201 {
			t.Fatalf("create app: %d %v", code, a)
		}
		archive := tgz(t, map[string]string{"index.html": "<h1>uploaded slug</h1>\n"})
		sum := sha256.Sum256(archive)
		code, slug := d.call(t, "POST", "/apps/ci-slug/slugs", map[string]any{
			"process_types": map[string]string{"web": "python3 -m http.server $PORT"},
			"checksum":      "SHA256:" + hex.EncodeToString(sum[:]),
		})
		if code != 201 {
			t.Fatalf("POST slugs: %d %v", code, slug)
		}
		blob, _ := slug["blob"].(map[string]any)
		put, _ := blob["url"].(string)
		if put == "" || blob["method"] != "put" {
			t.Fatalf("slug blob %v", slug["blob"])
		}
		if c, b := httpDo(t, "PUT", put, []byte("not the archive")); c != 422 || !strings.Contains(b, "SHA-256") {
			t.Fatalf("PUT of the wrong archive: %d %s", c, b)
		}
		if _, err := os.Stat(filepath.Join(dataDir, "slugs", hex.EncodeToString(sum[:])+".tgz")); !os.IsNotExist(err) {
			t.Fatalf("a refused upload left a file: %v", err)
		}
		if c, b := httpDo(t, "PUT", put, archive); c != 200 {
			t.Fatalf("PUT archive: %d %s", c, b)
		}
		if code, rel := d.call(t, "POST", "/apps/ci-slug/releases", map[string]any{"slug": slug["id"]}); code != 201 {
			t.Fatalf("release: %d %v", code, rel)
		}
		waitRouted(t, router, "ci-slug", "uploaded slug")
		// GET /slugs/{id} answers a download URL of the same bytes.
		_, info := d.call(t, "GET", "/apps/ci-slug/slugs/"+slug["id"].(string), nil)
		blob, _ = info["blob"].(map[string]any)
		get, _ := blob["url"].(string)
		if c, b := httpDo(t, "GET", get, nil); c != 200 || b != string(archive) {
			t.Fatalf("GET slug blob: %d, %d bytes", c, len(b))
		}
	})
}
