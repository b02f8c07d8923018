package router

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestSlowUpload trickles a body for longer than the client idle timeout:
// each piece arrives within the rolling idle window, so it goes through.
func TestSlowUpload(t *testing.T) {
	be := echoBackend(t, "web.1")
	r, addr := startRouter(t, Options{IdleTimeout: 3 * time.Second, ClientIdleTimeout: time.Second})
	setRoutes(t, r, 1, core.Route{App: "a", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 10\r\n\r\n")
	for i := 0; i < 10; i++ {
		time.Sleep(200 * time.Millisecond) // 2 s in all, each gap well inside the window
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.BodyLen != 10 {
		t.Fatalf("status %d, backend saw %d bytes (%v)", resp.StatusCode, e.BodyLen, err)
	}
}
