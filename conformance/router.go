package conformance

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// RouterInstance is one router under test, configured and serving.
type RouterInstance struct {
	// Router is the implementation; checks call SetRoutes (and Logs).
	Router core.Router
	// HTTPAddr is the host:port where it serves plain HTTP.
	HTTPAddr string
	// HTTPSAddr is the host:port where it serves HTTPS (capability "tls").
	HTTPSAddr string
	// BaseDomain is the domain apps answer at as APP.<BaseDomain>; ""
	// means "localhost".
	BaseDomain string
}

// RouterTarget tells the router suite how to make routers under test.
type RouterTarget struct {
	// Describe describes the implementation (without serving).
	Describe func(ctx context.Context) (core.PluginInfo, error)
	// New returns a fresh router, serving, with an empty table; it
	// registers its own cleanup with t.Cleanup.
	New func(t *T) RouterInstance
}

// Router runs the router suite under go test.
func Router(t *testing.T, target RouterTarget) {
	t.Helper()
	RunTest(t, RouterSuite(target))
}

// RouterSuite returns the router contract's checks bound to target.
func RouterSuite(target RouterTarget) Suite {
	rc := routerChecks{target: target}
	return Suite{
		Contract: core.ContractRouter,
		Describe: target.Describe,
		Timeout:  90 * time.Second,
		Checks: []Check{
			{ID: "router.routes.apply", Level: Must, Title: "a new route table applies: APP.<base domain> reaches the app's backend", Run: rc.apply},
			{ID: "router.routes.custom-domain", Level: Must, Title: "a route's custom hostnames reach the app", Run: rc.customDomain},
			{ID: "router.routes.removed-backend", Level: Must, Title: "a backend absent from the new table gets no request once SetRoutes returns", Run: rc.removedBackend},
			{ID: "router.routes.older-version", Level: Must, Title: "a table with an older Version is ignored", Run: rc.olderVersion},
			{ID: "router.routes.invalid", Level: Must, Title: "a bad table is refused with ErrInvalid and the old one kept", Run: rc.invalid},
			{ID: "router.select.spread", Level: Should, Title: "requests spread across an app's backends", Run: rc.spread},
			{ID: "router.codes.unknown-host", Level: Must, Title: "a host naming no app gets 404", Run: rc.unknownHost},
			{ID: "router.codes.h14", Level: Must, Title: "an app with no web dynos gets 503 (H14)", Run: rc.code(core.Route{State: core.AppRunning}, "H14")},
			{ID: "router.codes.h10", Level: Must, Title: "a crashed app gets 503 (H10)", Run: rc.code(core.Route{State: core.AppCrashed}, "H10")},
			{ID: "router.codes.h80", Level: Must, Title: "an app in maintenance gets 503 (H80), even with backends", Run: rc.code(core.Route{Maintenance: true}, "H80")},
			{ID: "router.codes.h81", Level: Must, Title: "a blank app gets 503 (H81)", Run: rc.code(core.Route{State: core.AppBlank}, "H81")},
			{ID: "router.headers.request-id", Level: Must, Title: "X-Request-Id is generated, or passed through when valid", Run: rc.requestID},
			{ID: "router.headers.forwarded", Level: Must, Title: "X-Forwarded-For/Proto/Port reach the backend", Run: rc.forwarded},
			{ID: "router.websocket.upgrade", Level: Must, Capability: core.RouterCapWebSocket, Title: "WebSocket upgrades are passed through both ways", Run: rc.websocket},
			{ID: "router.tls.sni", Level: Must, Capability: core.RouterCapTLS, Title: "TLS is terminated with each domain's certificate chosen by SNI", Run: rc.tlsSNI},
			{ID: "router.logs.shape", Level: Must, Capability: core.RouterCapLogs, Title: "router log lines have Heroku's format (app heroku, procid router)", Run: rc.logShape},
		},
	}
}

type routerChecks struct{ target RouterTarget }

func (rc routerChecks) start(t *T) RouterInstance {
	in := rc.target.New(t)
	if in.BaseDomain == "" {
		in.BaseDomain = "localhost"
	}
	return in
}

// backend is a real HTTP server that reports which dyno served a request
// and what it saw.
type backend struct {
	dyno string
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
	last http.Header
}

func newBackend(t *T, dyno string) *backend {
	b := &backend{dyno: dyno}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits++
		b.last = r.Header.Clone()
		b.mu.Unlock()
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			wsEcho(w)
			return
		}
		w.Header().Set("X-Dyno", dyno)
		_ = json.NewEncoder(w).Encode(map[string]any{"dyno": dyno, "header": r.Header, "host": r.Host})
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

func (b *backend) core() core.Backend { return core.Backend{Dyno: b.dyno, Address: b.addr()} }

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

func (b *backend) lastHeader() http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// wsEcho completes a WebSocket handshake and echoes raw bytes.
func wsEcho(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", 500)
		return
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	_ = brw.Flush()
	buf := make([]byte, 4096)
	for {
		n, err := brw.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func setTable(t *T, in RouterInstance, version int64, routes ...core.Route) {
	if err := in.Router.SetRoutes(t.Context(), core.RouteTable{Version: version, Routes: routes}); err != nil {
		t.Fatalf("SetRoutes(version %d): %v", version, err)
	}
}

type reply struct {
	status int
	header http.Header
	body   string
}

var routerClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

func request(t *T, in RouterInstance, host, path string, hdr http.Header) reply {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+in.HTTPAddr+path, nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := routerClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", path, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (rc routerChecks) apply(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	setTable(t, in, 1, core.Route{App: "alpha", State: core.AppRunning, Backends: []core.Backend{b.core()}})
	r := request(t, in, "alpha."+in.BaseDomain, "/", nil)
	if r.status != 200 || r.header.Get("X-Dyno") != "web.1" {
		t.Fatalf("GET alpha.%s: status %d, X-Dyno %q; want 200 from web.1\n%s", in.BaseDomain, r.status, r.header.Get("X-Dyno"), r.body)
	}
	// A second table moves the app to another backend.
	b2 := newBackend(t, "web.2")
	setTable(t, in, 2, core.Route{App: "alpha", State: core.AppRunning, Backends: []core.Backend{b2.core()}})
	r = request(t, in, "alpha."+in.BaseDomain, "/", nil)
	if r.header.Get("X-Dyno") != "web.2" {
		t.Fatalf("after table 2: served by %q, want web.2", r.header.Get("X-Dyno"))
	}
}

func (rc routerChecks) customDomain(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	setTable(t, in, 1, core.Route{App: "alpha", Hosts: []string{"www.example.test"}, Backends: []core.Backend{b.core()}})
	r := request(t, in, "www.example.test", "/", nil)
	if r.status != 200 || r.header.Get("X-Dyno") != "web.1" {
		t.Fatalf("GET www.example.test: status %d; want 200 from web.1\n%s", r.status, r.body)
	}
	r = request(t, in, "WWW.Example.Test:80", "/", nil)
	if r.status != 200 {
		t.Errorf("Host header with upper case and port: status %d, want 200", r.status)
	}
}

func (rc routerChecks) removedBackend(t *T) {
	in := rc.start(t)
	b1, b2 := newBackend(t, "web.1"), newBackend(t, "web.2")
	setTable(t, in, 1, core.Route{App: "alpha", Backends: []core.Backend{b1.core(), b2.core()}})
	for i := 0; i < 20; i++ {
		request(t, in, "alpha."+in.BaseDomain, "/", nil)
	}
	setTable(t, in, 2, core.Route{App: "alpha", Backends: []core.Backend{b2.core()}})
	before := b1.count()
	for i := 0; i < 50; i++ {
		if r := request(t, in, "alpha."+in.BaseDomain, "/", nil); r.status != 200 {
			t.Fatalf("request %d after removal: status %d", i, r.status)
		}
	}
	if after := b1.count(); after != before {
		t.Fatalf("removed backend web.1 got %d requests after SetRoutes returned", after-before)
	}
}

func (rc routerChecks) olderVersion(t *T) {
	in := rc.start(t)
	b1, b2 := newBackend(t, "web.1"), newBackend(t, "web.2")
	setTable(t, in, 5, core.Route{App: "alpha", Backends: []core.Backend{b1.core()}})
	if err := in.Router.SetRoutes(t.Context(), core.RouteTable{Version: 4, Routes: []core.Route{{App: "alpha", Backends: []core.Backend{b2.core()}}}}); err != nil {
		t.Logf("SetRoutes with an older version returned %v (ignoring is enough)", err)
	}
	if r := request(t, in, "alpha."+in.BaseDomain, "/", nil); r.header.Get("X-Dyno") != "web.1" {
		t.Fatalf("after an older table: served by %q, want web.1 (the older table must be ignored)", r.header.Get("X-Dyno"))
	}
}

func (rc routerChecks) invalid(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	setTable(t, in, 1, core.Route{App: "alpha", Backends: []core.Backend{b.core()}})
	for _, tc := range []struct {
		desc  string
		table core.RouteTable
	}{
		{"backend address without a port", core.RouteTable{Version: 2, Routes: []core.Route{{App: "alpha", Backends: []core.Backend{{Dyno: "web.1", Address: "nowhere"}}}}}},
		{"two apps claim one hostname", core.RouteTable{Version: 2, Routes: []core.Route{
			{App: "alpha", Hosts: []string{"same.example.test"}}, {App: "beta", Hosts: []string{"same.example.test"}}}}},
		{"empty app name", core.RouteTable{Version: 2, Routes: []core.Route{{App: ""}}}},
	} {
		err := in.Router.SetRoutes(t.Context(), tc.table)
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: SetRoutes returned %v, want an error wrapping ErrInvalid", tc.desc, err)
		}
	}
	if r := request(t, in, "alpha."+in.BaseDomain, "/", nil); r.status != 200 {
		t.Fatalf("after refused tables: status %d, want 200 (the old table must be kept)", r.status)
	}
}

func (rc routerChecks) spread(t *T) {
	in := rc.start(t)
	bs := []*backend{newBackend(t, "web.1"), newBackend(t, "web.2"), newBackend(t, "web.3")}
	var cb []core.Backend
	for _, b := range bs {
		cb = append(cb, b.core())
	}
	setTable(t, in, 1, core.Route{App: "alpha", Backends: cb})
	for i := 0; i < 90; i++ {
		request(t, in, "alpha."+in.BaseDomain, "/", nil)
	}
	for _, b := range bs {
		if b.count() == 0 {
			t.Errorf("%s got none of 90 requests", b.dyno)
		}
	}
}

func (rc routerChecks) unknownHost(t *T) {
	in := rc.start(t)
	setTable(t, in, 1)
	if r := request(t, in, "nosuchapp."+in.BaseDomain, "/", nil); r.status != 404 {
		t.Fatalf("unknown host: status %d, want 404", r.status)
	}
}

// code checks that an app in the given state gets 503 and, with the logs
// capability, an at=error line with the code.
func (rc routerChecks) code(route core.Route, code string) func(t *T) {
	return func(t *T) {
		in := rc.start(t)
		route.App = "alpha"
		if route.Maintenance {
			route.Backends = []core.Backend{newBackend(t, "web.1").core()}
		}
		lines := rc.collectLogs(t, in)
		setTable(t, in, 1, route)
		r := request(t, in, "alpha."+in.BaseDomain, "/", nil)
		if r.status != 503 {
			t.Fatalf("status %d, want 503 (%s)\n%s", r.status, code, r.body)
		}
		if !strings.Contains(strings.ToLower(r.header.Get("Content-Type")), "text/html") || len(r.body) == 0 {
			t.Errorf("want an HTML error page, got Content-Type %q and %d bytes", r.header.Get("Content-Type"), len(r.body))
		}
		if lines != nil {
			l := lines.wait(t, "code="+code)
			if !strings.HasPrefix(l, "at=error code="+code+" desc=\"") || !strings.Contains(l, " status=503") {
				t.Errorf("log line %q: want at=error code=%s desc=\"…\" … status=503", l, code)
			}
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (rc routerChecks) requestID(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	setTable(t, in, 1, core.Route{App: "alpha", Backends: []core.Backend{b.core()}})
	host := "alpha." + in.BaseDomain
	request(t, in, host, "/", nil)
	if id := b.lastHeader().Get("X-Request-Id"); !uuidRE.MatchString(id) {
		t.Errorf("without a client id: backend saw X-Request-Id %q, want a generated UUID", id)
	}
	valid := "abcdefghij0123456789+/=-XYZ"
	request(t, in, host, "/", http.Header{"X-Request-Id": {valid}})
	if id := b.lastHeader().Get("X-Request-Id"); id != valid {
		t.Errorf("valid client id %q: backend saw %q, want it passed through", valid, id)
	}
	for _, bad := range []string{"short", "has spaces in it and is long enough", strings.Repeat("a", 201)} {
		request(t, in, host, "/", http.Header{"X-Request-Id": {bad}})
		if id := b.lastHeader().Get("X-Request-Id"); !uuidRE.MatchString(id) {
			t.Errorf("invalid client id %q: backend saw %q, want a generated UUID", bad, id)
		}
	}
}

func (rc routerChecks) forwarded(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	setTable(t, in, 1, core.Route{App: "alpha", Backends: []core.Backend{b.core()}})
	request(t, in, "alpha."+in.BaseDomain, "/", http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}})
	h := b.lastHeader()
	xff := h.Get("X-Forwarded-For")
	if !strings.HasPrefix(xff, "203.0.113.7, ") || !strings.HasSuffix(xff, "127.0.0.1") {
		t.Errorf("X-Forwarded-For %q: want the client's chain then the peer (203.0.113.7, …, 127.0.0.1)", xff)
	}
	if p := h.Get("X-Forwarded-Proto"); p != "http" {
		t.Errorf("X-Forwarded-Proto %q, want http (the router's, not the client's)", p)
	}
	_, port, _ := net.SplitHostPort(in.HTTPAddr)
	if p := h.Get("X-Forwarded-Port"); p != port {
		t.Errorf("X-Forwarded-Port %q, want %s", p, port)
	}
	if h.Get("X-Request-Start") == "" {
		t.Errorf("no X-Request-Start")
	}
}

func (rc routerChecks) websocket(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	setTable(t, in, 1, core.Route{App: "alpha", Backends: []core.Backend{b.core()}})
	c, err := net.DialTimeout("tcp", in.HTTPAddr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: alpha.%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", in.BaseDomain)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read upgrade response: %v", err)
	}
	if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("upgrade: status %d, Upgrade %q; want 101 websocket", resp.StatusCode, resp.Header.Get("Upgrade"))
	}
	for _, msg := range []string{"hello", "second frame"} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatalf("write through tunnel: %v", err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo through tunnel: got %q, %v; want %q", buf, err, msg)
		}
	}
}

func (rc routerChecks) tlsSNI(t *T) {
	in := rc.start(t)
	if in.HTTPSAddr == "" {
		t.Fatalf("the target declares tls but gave no HTTPSAddr")
	}
	b := newBackend(t, "web.1")
	certA, poolA := selfSigned(t, "alpha.example.test")
	certB, poolB := selfSigned(t, "beta.example.test")
	setTable(t, in, 1,
		core.Route{App: "alpha", Hosts: []string{"alpha.example.test"}, Backends: []core.Backend{b.core()}, Certificates: []core.Certificate{certA}},
		core.Route{App: "beta", Hosts: []string{"beta.example.test"}, Backends: []core.Backend{b.core()}, Certificates: []core.Certificate{certB}})
	for _, tc := range []struct {
		host string
		pool *x509.CertPool
	}{{"alpha.example.test", poolA}, {"beta.example.test", poolB}} {
		for _, proto := range []string{"http/1.1", "h2"} {
			tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: tc.host, RootCAs: tc.pool, NextProtos: []string{proto}}, ForceAttemptHTTP2: proto == "h2"}
			cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+in.HTTPSAddr+"/", nil)
			req.Host = tc.host
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatalf("%s over %s: %v (the certificate must match the SNI name)", tc.host, proto, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if resp.StatusCode != 200 {
				t.Fatalf("%s over %s: status %d", tc.host, proto, resp.StatusCode)
			}
			if wantMajor := map[string]int{"h2": 2, "http/1.1": 1}[proto]; resp.ProtoMajor != wantMajor {
				t.Errorf("%s: asked for %s, got HTTP/%d", tc.host, proto, resp.ProtoMajor)
			}
			if p := b.lastHeader().Get("X-Forwarded-Proto"); p != "https" {
				t.Errorf("%s over %s: X-Forwarded-Proto %q, want https", tc.host, proto, p)
			}
		}
	}
}

// selfSigned makes a certificate for host and a pool trusting it.
func selfSigned(t *T, host string) (core.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return core.Certificate{Hosts: []string{host},
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))}, pool
}

// logLines collects lines from a RouterLogSource.
type logLines struct {
	mu    sync.Mutex
	lines []string
	msgs  []core.LogMessage
	apps  []string
}

func (rc routerChecks) collectLogs(t *T, in RouterInstance) *logLines {
	src, ok := in.Router.(core.RouterLogSource)
	if !ok {
		return nil
	}
	l := &logLines{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Logs(ctx, func(app string, msg core.LogMessage) error {
			l.mu.Lock()
			l.lines = append(l.lines, msg.Text)
			l.msgs = append(l.msgs, msg)
			l.apps = append(l.apps, app)
			l.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(50 * time.Millisecond) // let the subscription register
	return l
}

// wait returns the first line containing s (and its message and app).
func (l *logLines) wait(t *T, s string) string {
	line, _, _ := l.waitMsg(t, s)
	return line
}

func (l *logLines) waitMsg(t *T, s string) (string, core.LogMessage, string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for i, line := range l.lines {
			if strings.Contains(line, s) {
				m, a := l.msgs[i], l.apps[i]
				l.mu.Unlock()
				return line, m, a
			}
		}
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("no router log line containing %q within 30s; got %q", s, l.lines)
	return "", core.LogMessage{}, ""
}

var infoLineRE = regexp.MustCompile(`^at=info method=GET path="/logged\?x=1" host=alpha\.\S+ request_id=\S+ fwd="[^"]*127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=\d+ protocol=http$`)

func (rc routerChecks) logShape(t *T) {
	in := rc.start(t)
	b := newBackend(t, "web.1")
	lines := rc.collectLogs(t, in)
	setTable(t, in, 1, core.Route{App: "alpha", Backends: []core.Backend{b.core()}}, core.Route{App: "beta"})
	request(t, in, "alpha."+in.BaseDomain, "/logged?x=1", nil)
	line, msg, app := lines.waitMsg(t, `path="/logged?x=1"`)
	if !infoLineRE.MatchString(line) {
		t.Errorf("log line\n  %s\ndoes not match Heroku's shape\n  %s", line, infoLineRE)
	}
	if app != "alpha" || msg.App != "heroku" || msg.ProcID != "router" {
		t.Errorf("line for app %q with app-name %q procid %q; want alpha, heroku, router", app, msg.App, msg.ProcID)
	}
	request(t, in, "beta."+in.BaseDomain, "/down", nil)
	errLine := lines.wait(t, `path="/down"`)
	errRE := regexp.MustCompile(`^at=error code=H14 desc="No web processes running" method=GET path="/down" host=beta\.\S+ request_id=\S+ fwd="[^"]*" dyno= connect= service= status=503 bytes=\d+ protocol=http$`)
	if !errRE.MatchString(errLine) {
		t.Errorf("error line\n  %s\ndoes not match\n  %s", errLine, errRE)
	}
}
