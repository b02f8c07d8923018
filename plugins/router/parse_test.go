package router

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestValidRequestID(t *testing.T) {
	for _, tc := range []struct {
		desc, id string
		ok       bool
	}{
		{desc: "uuid", id: "0b6f4c2e-8d1a-4b8e-9f6e-2a1b3c4d5e6f", ok: true},
		{desc: "base64 chars", id: "abcDEF0123456789+/=-xyz", ok: true},
		{desc: "exactly 20", id: strings.Repeat("a", 20), ok: true},
		{desc: "exactly 200", id: strings.Repeat("a", 200), ok: true},
		{desc: "19 chars", id: strings.Repeat("a", 19)},
		{desc: "201 chars", id: strings.Repeat("a", 201)},
		{desc: "space", id: "abcdefghij abcdefghij"},
		{desc: "underscore", id: "abcdefghij_abcdefghij"},
		{desc: "empty", id: ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := ValidRequestID([]byte(tc.id)); got != tc.ok {
				t.Errorf("ValidRequestID(%q) = %v, want %v", tc.id, got, tc.ok)
			}
		})
	}
}

func TestNormalizeHost(t *testing.T) {
	for _, tc := range []struct {
		desc, in, want string
		ok             bool
	}{
		{desc: "plain", in: "app.localhost", want: "app.localhost", ok: true},
		{desc: "upper case and port", in: "App.LocalHost:8080", want: "app.localhost", ok: true},
		{desc: "trailing dot", in: "app.example.com.", want: "app.example.com", ok: true},
		{desc: "ipv6 with port", in: "[::1]:80", want: "[::1]", ok: true},
		{desc: "empty", in: ""},
		{desc: "bad port", in: "app.localhost:http"},
		{desc: "slash", in: "app/x"},
		{desc: "userinfo", in: "user@app"},
		{desc: "space", in: "app localhost"},
		{desc: "unclosed ipv6", in: "[::1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := normalizeHost(nil, []byte(tc.in))
			if ok != tc.ok || (ok && string(got) != tc.want) {
				t.Errorf("normalizeHost(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLogLine(t *testing.T) {
	e := entry{method: []byte("GET"), path: []byte(`/a"b`), host: []byte("app.localhost"), requestID: []byte("id-1"),
		fwd: []byte("127.0.0.1"), dyno: "web.1", connect: time.Millisecond, service: 2 * time.Millisecond, status: 200, bytes: 123, protocol: "http"}
	want := `at=info method=GET path="/a\"b" host=app.localhost request_id=id-1 fwd="127.0.0.1" dyno=web.1 connect=1ms service=2ms status=200 bytes=123 protocol=http`
	if got := string(appendLogLine(nil, &e)); got != want {
		t.Errorf("info line\n got %s\nwant %s", got, want)
	}
	e = entry{code: errH12, method: []byte("GET"), path: []byte("/"), host: []byte("app.localhost"), requestID: []byte("id-2"),
		fwd: []byte("127.0.0.1"), dyno: "web.1", connect: 0, service: 30 * time.Second, status: 503, bytes: 0, protocol: "https"}
	want = `at=error code=H12 desc="Request timeout" method=GET path="/" host=app.localhost request_id=id-2 fwd="127.0.0.1" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https`
	if got := string(appendLogLine(nil, &e)); got != want {
		t.Errorf("error line\n got %s\nwant %s", got, want)
	}
}

// FuzzValidRequestID checks the rule against a plain restatement.
func FuzzValidRequestID(f *testing.F) {
	for _, s := range []string{"", "0b6f4c2e-8d1a-4b8e-9f6e-2a1b3c4d5e6f", strings.Repeat("=", 20), "a b c d e f g h i j k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) >= 20 && len(s) <= 200 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-") == ""
		if got := ValidRequestID([]byte(s)); got != want {
			t.Fatalf("ValidRequestID(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzNormalizeHost checks that accepted hosts are lower case, portless and
// stable.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"app.localhost", "APP.localhost:80", "[::1]:8080", "a..b.", ":80", "x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normalizeHost(nil, []byte(s))
		if !ok {
			return
		}
		if len(got) == 0 || bytes.ContainsAny(got, " /@\r\n") || string(got) != strings.ToLower(string(got)) {
			t.Fatalf("normalizeHost(%q) = %q", s, got)
		}
		again, ok2 := normalizeHost(nil, got)
		if !ok2 || (!bytes.Equal(again, got) && !bytes.HasSuffix(got, []byte("."))) {
			t.Fatalf("normalizeHost(%q) = %q, which normalises again to %q, %v", s, got, again, ok2)
		}
	})
}

// FuzzParseRequestHead runs the hand-written request-line and header
// parsers, and compares what they accept with net/http's reader.
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
		"POST /x?y=1 HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"G\x00T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, rest, _ := strings.Cut(s, "\r\n")
		method, target, minor, err := parseRequestLine([]byte(line))
		if err != nil {
			return
		}
		if len(method) == 0 || len(target) == 0 || (minor != 0 && minor != 1) {
			t.Fatalf("parseRequestLine(%q) = %q %q %d", line, method, target, minor)
		}
		if bytes.ContainsAny(target, " \r\n") {
			t.Fatalf("target %q has whitespace", target)
		}
		for _, hl := range strings.Split(rest, "\r\n") {
			name, value, err := parseHeaderLine([]byte(hl))
			if err != nil {
				continue
			}
			if len(name) == 0 || bytes.ContainsAny(name, " :\t") || bytes.ContainsAny(value, "\r\n") {
				t.Fatalf("parseHeaderLine(%q) = %q, %q", hl, name, value)
			}
		}
		// What net/http reads as a valid request line we must read too.
		if req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(line + "\r\nHost: x\r\n\r\n"))); err == nil && req.ProtoMajor == 1 {
			if string(method) != req.Method {
				t.Fatalf("method %q, net/http %q", method, req.Method)
			}
		}
	})
}

// FuzzParseStatusLine checks the status-line parser.
func FuzzParseStatusLine(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK", "HTTP/1.0 404", "HTTP/1.1 99 X", "HTTP/2 200", "HTTP/1.1 2000 OK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		minor, status, err := parseStatusLine([]byte(s))
		if err != nil {
			return
		}
		if status < 100 || status > 999 || (minor != 0 && minor != 1) {
			t.Fatalf("parseStatusLine(%q) = %d, %d", s, minor, status)
		}
	})
}

// FuzzCopyChunked passes arbitrary input through the chunked relay and
// checks that whatever it accepts decodes the same with net/http's chunked
// reader.
func FuzzCopyChunked(f *testing.F) {
	for _, s := range []string{"5\r\nhello\r\n0\r\n\r\n", "3;x=y\r\nabc\r\n0\r\nTrailer: v\r\n\r\n", "zz\r\n", "5\r\nhelloXX0\r\n\r\n", "0\r\n\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		err := copyChunked(w, bufio.NewReader(strings.NewReader(s)), 1<<20, wrapClient, keepErr)
		_ = w.Flush()
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, out.String()) {
			t.Fatalf("relay changed the stream: %q -> %q", s, out.String())
		}
	})
}

func FuzzContentLength(f *testing.F) {
	for _, s := range []string{"0", "123", "-1", "1e3", "99999999999999999999", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseContentLength([]byte(s))
		if ok && (n < 0 || strings.TrimLeft(s, "0123456789") != "") {
			t.Fatalf("parseContentLength(%q) = %d, true", s, n)
		}
	})
}

func TestSplitAbsoluteTarget(t *testing.T) {
	for _, tc := range []struct {
		desc, in, auth, path string
		ok                   bool
	}{
		{desc: "origin form", in: "/x"},
		{desc: "http", in: "http://a.localhost/x?y", auth: "a.localhost", path: "/x?y", ok: true},
		{desc: "https with port, no path", in: "HTTPS://a.localhost:443", auth: "a.localhost:443", path: "/", ok: true},
		{desc: "query without path", in: "http://a?q=1", auth: "a", path: "/?q=1", ok: true},
		{desc: "no authority", in: "http:///x"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			auth, path, ok := splitAbsoluteTarget([]byte(tc.in))
			if ok != tc.ok || (ok && (string(auth) != tc.auth || string(path) != tc.path)) {
				t.Errorf("splitAbsoluteTarget(%q) = %q, %q, %v", tc.in, auth, path, ok)
			}
		})
	}
}
