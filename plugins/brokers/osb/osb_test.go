package osb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jackc/pgx/v5"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/brokers/osb"
	"github.com/paasd/paasd/plugins/brokers/osbserver"
	"github.com/paasd/paasd/plugins/brokers/postgres"
	"github.com/paasd/paasd/plugins/brokers/redis"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

// serve exposes broker as an OSB API with basic credentials and returns
// the adapter's config for it.
func serve(t *testing.T, broker core.AddonBroker) json.RawMessage {
	t.Helper()
	srv := httptest.NewServer(&osbserver.Server{Broker: broker, Username: "paasd", Password: "s3cret"})
	t.Cleanup(srv.Close)
	cfg, _ := json.Marshal(osb.Config{URL: srv.URL, Username: "paasd", Password: "s3cret", Timeout: "60s"})
	return cfg
}

func newAdapter(t *testing.T, cfg json.RawMessage) *osb.Broker {
	t.Helper()
	b := osb.New()
	if err := b.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: cfg}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return b
}

// TestConformanceMemory runs the suite through adapter → osbserver → the
// asynchronous memory broker.
func TestConformanceMemory(t *testing.T) {
	mem := memory.New()
	target := conformance.InProcessBroker(func() core.AddonBroker { return osb.New() }, serve(t, mem))
	target.OtherParameters = json.RawMessage(`{"size":2}`)
	target.CheckCredentials = func(_ context.Context, cfg map[string]string) error {
		u, err := url.Parse(cfg["URL"])
		if err != nil {
			return err
		}
		if !mem.Valid(u.Host, strings.TrimPrefix(u.Path, "/"), cfg["TOKEN"]) {
			return errors.New("token not valid")
		}
		return nil
	}
	conformance.Broker(t, target)
}

// TestConformancePostgres is the round trip adapter → osbserver →
// PostgreSQL broker → the real server, with credentials checked by
// connecting.
func TestConformancePostgres(t *testing.T) {
	pgcfg, _ := json.Marshal(postgres.Config{AdminURL: testenv.Postgres(t), NamePrefix: "paasdosb_"})
	pg := postgres.New()
	if err := pg.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: pgcfg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })
	target := conformance.InProcessBroker(func() core.AddonBroker { return osb.New() }, serve(t, pg))
	target.Plan, target.OtherPlan = "essential-0", "essential-2"
	target.OtherParameters = json.RawMessage(`{"connection_limit":3}`)
	target.CheckCredentials = func(ctx context.Context, cfg map[string]string) error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, cfg["URL"])
		if err != nil {
			return err
		}
		defer func() { _ = c.Close(context.Background()) }()
		_, err = c.Exec(ctx, `CREATE TABLE IF NOT EXISTS t (v int); INSERT INTO t VALUES (1)`)
		return err
	}
	conformance.Broker(t, target)
}

// TestConformanceRedis is the same round trip to the Redis broker.
func TestConformanceRedis(t *testing.T) {
	rcfg, _ := json.Marshal(redis.Config{AdminURL: testenv.Redis(t), NamePrefix: "paasdosb"})
	rb := redis.New()
	if err := rb.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: rcfg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rb.Close() })
	target := conformance.InProcessBroker(func() core.AddonBroker { return osb.New() }, serve(t, rb))
	target.CheckCredentials = func(ctx context.Context, cfg map[string]string) error {
		opts, err := goredis.ParseURL(cfg["URL"])
		if err != nil {
			return err
		}
		opts.MaxRetries = -1
		c := goredis.NewClient(opts)
		defer c.Close()
		return c.Set(ctx, cfg["KEY_PREFIX"]+"k", "v", 0).Err()
	}
	conformance.Broker(t, target)
}

// fakeOSB is a scripted OSB broker: each request is answered by the
// function registered for "METHOD path".
type fakeOSB struct {
	mu       sync.Mutex
	handlers map[string]func(w http.ResponseWriter, r *http.Request)
	seen     []*http.Request
}

func (f *fakeOSB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r)
	h := f.handlers[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func reply(code int, body string, hdr ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func fake(t *testing.T, handlers map[string]func(http.ResponseWriter, *http.Request)) (*fakeOSB, *osb.Broker) {
	t.Helper()
	f := &fakeOSB{handlers: handlers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg, _ := json.Marshal(osb.Config{URL: srv.URL + "/broker/", Username: "u", Password: "p"})
	return f, newAdapter(t, cfg)
}

// TestProvisionAnswers maps each OSB provision answer to the core result.
func TestProvisionAnswers(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		code    int
		body    string
		want    core.OperationResponse
		wantErr error
	}{
		{desc: "201 created", code: 201, body: `{"dashboard_url":"https://dash/1"}`, want: core.OperationResponse{DashboardURL: "https://dash/1"}},
		{desc: "200 identical", code: 200, body: `{}`, want: core.OperationResponse{AlreadyExists: true}},
		{desc: "202 async", code: 202, body: `{"operation":"op-1"}`, want: core.OperationResponse{Async: true, Operation: "op-1"}},
		{desc: "409 conflict", code: 409, body: `{"description":"exists"}`, wantErr: core.ErrConflict},
		{desc: "422 async required", code: 422, body: `{"error":"AsyncRequired","description":"needs async"}`, wantErr: core.ErrAsyncRequired},
		{desc: "422 concurrency", code: 422, body: `{"error":"ConcurrencyError"}`, wantErr: core.ErrConcurrency},
		{desc: "422 other", code: 422, body: `{"error":"MaintenanceInfoConflict"}`, wantErr: core.ErrInvalid},
		{desc: "400 bad request", code: 400, body: `{"description":"plan_id is required"}`, wantErr: core.ErrInvalid},
		{desc: "401", code: 401, body: ``, wantErr: core.ErrPermissionDenied},
		{desc: "412 version", code: 412, body: `{}`, wantErr: core.ErrUnsupported},
		{desc: "500", code: 500, body: `oops`, wantErr: core.ErrUnavailable},
		{desc: "201 not JSON", code: 201, body: `<html>`, wantErr: core.ErrPluginFailed},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f, b := fake(t, map[string]func(http.ResponseWriter, *http.Request){
				"PUT /broker/v2/service_instances/inst 1": reply(tc.code, tc.body),
			})
			got, err := b.Provision(context.Background(), core.ProvisionRequest{InstanceID: "inst 1", ServiceID: "s", PlanID: "p",
				Parameters: json.RawMessage(`{"a":1}`), AppName: "app", AcceptsIncomplete: true})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			r := f.seen[0]
			if r.Header.Get("X-Broker-API-Version") != "2.17" {
				t.Errorf("X-Broker-API-Version = %q", r.Header.Get("X-Broker-API-Version"))
			}
			if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
				t.Errorf("basic auth = %q %q %v", u, p, ok)
			}
			if r.URL.Query().Get("accepts_incomplete") != "true" {
				t.Errorf("accepts_incomplete not sent: %s", r.URL.RawQuery)
			}
		})
	}
}

// TestLastOperationRetryAfter checks state and Retry-After handling.
func TestLastOperationRetryAfter(t *testing.T) {
	_, b := fake(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /broker/v2/service_instances/i/last_operation":    reply(200, `{"state":"in progress","description":"copying"}`, "Retry-After", "7"),
		"GET /broker/v2/service_instances/gone/last_operation": reply(410, `{}`),
		"GET /broker/v2/service_instances/bad/last_operation":  reply(200, `{"state":"running"}`),
	})
	lo, err := b.LastOperation(context.Background(), core.LastOperationRequest{InstanceID: "i", Operation: "op"})
	if err != nil || lo.State != core.OpInProgress || lo.RetryAfterSeconds != 7 || lo.Description != "copying" {
		t.Errorf("in progress: %+v, %v", lo, err)
	}
	if _, err := b.LastOperation(context.Background(), core.LastOperationRequest{InstanceID: "gone"}); !errors.Is(err, core.ErrGone) {
		t.Errorf("410: %v, want ErrGone", err)
	}
	if _, err := b.LastOperation(context.Background(), core.LastOperationRequest{InstanceID: "bad"}); !errors.Is(err, core.ErrPluginFailed) {
		t.Errorf("unknown state: %v, want ErrPluginFailed", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		desc, in string
		want     int
	}{
		{desc: "empty", in: "", want: 0},
		{desc: "seconds", in: "12", want: 12},
		{desc: "negative", in: "-3", want: 0},
		{desc: "capped", in: "99999", want: 3600},
		{desc: "date", in: now.Add(30 * time.Second).Format(http.TimeFormat), want: 30},
		{desc: "past date", in: now.Add(-time.Minute).Format(http.TimeFormat), want: 0},
		{desc: "garbage", in: "soon", want: 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := osb.RetryAfter(tc.in, now); got != tc.want {
				t.Errorf("RetryAfter(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestCredentialsConfig(t *testing.T) {
	for _, tc := range []struct {
		desc, in string
		want     map[string]string
		bad      bool
	}{
		{desc: "paasd shape", in: `{"URL":"postgres://x","KEY_PREFIX":"p:"}`, want: map[string]string{"URL": "postgres://x", "KEY_PREFIX": "p:"}},
		{desc: "uri", in: `{"uri":"mysql://a","username":"u","port":3306}`, want: map[string]string{"URL": "mysql://a", "USERNAME": "u", "PORT": "3306"}},
		{desc: "nested", in: `{"tls":{"ca":"x"}}`, want: map[string]string{"TLS": `{"ca":"x"}`}},
		{desc: "dashes", in: `{"access-key.id":"k"}`, want: map[string]string{"ACCESS_KEY_ID": "k"}},
		{desc: "uri wins over url", in: `{"url":"b","uri":"a"}`, want: map[string]string{"URL": "a"}},
		{desc: "null", in: `null`, want: map[string]string{}},
		{desc: "array", in: `[1]`, bad: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := osb.CredentialsConfig(json.RawMessage(tc.in))
			if tc.bad {
				if !errors.Is(err, core.ErrPluginFailed) {
					t.Errorf("err = %v, want ErrPluginFailed", err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func FuzzCredentialsConfig(f *testing.F) {
	for _, s := range []string{`{"uri":"x"}`, `{"a":{"b":[1,2]}}`, `null`, `[]`, `{"":"x"}`, `{"1a":"x"}`, `"str"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := osb.CredentialsConfig(json.RawMessage(in))
		if err != nil {
			if !errors.Is(err, core.ErrPluginFailed) {
				t.Fatalf("error %v does not wrap ErrPluginFailed", err)
			}
			return
		}
		for k := range cfg {
			if k == "" || !(k[0] >= 'A' && k[0] <= 'Z') || strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
				t.Fatalf("config var suffix %q is not an upper-case name", k)
			}
		}
	})
}

func TestConfigureRejects(t *testing.T) {
	for _, tc := range []struct{ desc, cfg string }{
		{desc: "no url", cfg: `{}`},
		{desc: "ftp", cfg: `{"url":"ftp://x"}`},
		{desc: "bad timeout", cfg: `{"url":"http://x","timeout":"soon"}`},
		{desc: "bad prefix", cfg: `{"url":"http://x","config_var_prefixes":{"a":"lower"}}`},
		{desc: "unknown field", cfg: `{"url":"http://x","x":1}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := osb.New().Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: json.RawMessage(tc.cfg)})
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Configure(%s) = %v, want ErrInvalid", tc.cfg, err)
			}
		})
	}
}

// TestCatalogPrefixes checks the config var prefix sources: metadata,
// configuration, the service name.
func TestCatalogPrefixes(t *testing.T) {
	f := &fakeOSB{handlers: map[string]func(http.ResponseWriter, *http.Request){
		"GET /v2/catalog": reply(200, `{"services":[
			{"id":"1","name":"pg","description":"d","bindable":true,"metadata":{"config_var_prefix":"DATABASE"},"plans":[{"id":"p1","name":"a","description":"d"}]},
			{"id":"2","name":"mq","description":"d","bindable":true,"plans":[{"id":"p2","name":"a","description":"d","free":false}]},
			{"id":"3","name":"cloud-amqp","description":"d","bindable":true,"plans":[{"id":"p3","name":"a","description":"d"}]}]}`),
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg, _ := json.Marshal(osb.Config{URL: srv.URL, ConfigVarPrefixes: map[string]string{"mq": "RABBITMQ"}})
	cat, err := newAdapter(t, cfg).Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, s := range cat.Services {
		got = append(got, s.ConfigVarPrefix)
	}
	if fmt.Sprint(got) != "[DATABASE RABBITMQ CLOUD_AMQP]" {
		t.Errorf("prefixes %v", got)
	}
	if !cat.Services[0].Plans[0].Free || cat.Services[1].Plans[0].Free {
		t.Errorf("free flags: %+v", cat.Services)
	}
}

// TestUnreachable maps a dead broker to ErrUnavailable.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	cfg, _ := json.Marshal(osb.Config{URL: u})
	b := newAdapter(t, cfg)
	if _, err := b.Catalog(context.Background()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Catalog of a dead broker: %v, want ErrUnavailable", err)
	}
	if err := b.Health(context.Background()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Health of a dead broker: %v, want ErrUnavailable", err)
	}
}
