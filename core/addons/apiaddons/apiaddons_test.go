package apiaddons_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/addons/apiaddons"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/store"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/builtins"
	"github.com/paasd/paasd/schemas"
)

func TestParameters(t *testing.T) {
	got := apiaddons.Parameters(map[string]string{"connection_limit": "5", "flag": "true", "name": "blue", "ratio": "0.5", "quoted": `"x"`})
	raw, _ := json.Marshal(got)
	if want := `{"connection_limit":5,"flag":true,"name":"blue","quoted":"\"x\"","ratio":0.5}`; string(raw) != want {
		t.Errorf("Parameters = %s, want %s", raw, want)
	}
	if apiaddons.Parameters(nil) != nil {
		t.Errorf("Parameters(nil) is not nil")
	}
}

// client is a Platform API client with a token.
type client struct {
	t     *testing.T
	url   string
	token string
}

func (c client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
	if resp.StatusCode >= 300 {
		c.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// TestPlatformAPI drives the real Platform API with the add-on service on
// the real PostgreSQL and Redis: heroku addons:create, config vars, a
// second database's colour, a working DATABASE_URL, addons:destroy.
func TestPlatformAPI(t *testing.T) {
	pgURL, redisURL := testenv.Postgres(t), testenv.Redis(t)
	ctx := context.Background()
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	h := &pluginhost.Host{Registry: reg, Validator: v, Logger: slog.New(slog.DiscardHandler)}
	defer h.Close()
	pgCfg, _ := json.Marshal(map[string]string{"admin_url": pgURL, "name_prefix": "paasdapi_"})
	redisCfg, _ := json.Marshal(map[string]string{"admin_url": redisURL, "name_prefix": "paasdapi"})
	svc, err := addons.Load(ctx, h, []addons.BrokerConfig{{Ref: "builtin:postgres", Config: pgCfg}, {Ref: "builtin:redis", Config: redisCfg}},
		addons.Options{PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, core.User{Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	secret := api.NewTokenSecret()
	if _, err := st.CreateToken(ctx, store.Token{UserID: u.ID}, secret); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(st, api.Options{Addons: &apiaddons.Service{Addons: svc, Store: st}}))
	defer srv.Close()
	c := client{t: t, url: srv.URL, token: secret}

	if code := c.do("POST", "/apps", map[string]string{"name": "shop"}, nil); code != 201 {
		t.Fatalf("create app: %d", code)
	}
	var names []string
	for _, plan := range []string{"heroku-postgresql:essential-0", "heroku-postgresql", "heroku-redis"} {
		var ad struct {
			Name string `json:"name"`
		}
		if code := c.do("POST", "/apps/shop/addons", map[string]any{"plan": plan}, &ad); code != 201 {
			t.Fatalf("addons:create %s: %d", plan, code)
		}
		names = append(names, ad.Name)
	}
	if code := c.do("POST", "/apps/shop/addons", map[string]any{"plan": "heroku-postgresql:enterprise-9"}, nil); code != 404 {
		t.Errorf("unknown plan: %d, want 404", code)
	}
	var cfg map[string]string
	c.do("GET", "/apps/shop/config-vars", nil, &cfg)
	if cfg["DATABASE_URL"] == "" || cfg["REDIS_URL"] == "" || cfg["REDIS_KEY_PREFIX"] == "" {
		t.Fatalf("config vars %v", keys(cfg))
	}
	colored := ""
	for k := range cfg {
		if strings.HasPrefix(k, "HEROKU_POSTGRESQL_") && strings.HasSuffix(k, "_URL") {
			colored = k
		}
	}
	if colored == "" {
		t.Errorf("no HEROKU_POSTGRESQL_<COLOR>_URL among %v", keys(cfg))
	}
	dbURL := cfg["DATABASE_URL"]
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect with DATABASE_URL: %v", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (v int)`); err != nil {
		t.Error(err)
	}
	_ = conn.Close(ctx)

	for _, n := range names {
		if code := c.do("DELETE", "/apps/shop/addons/"+n, nil, nil); code != 200 {
			t.Errorf("addons:destroy %s: %d", n, code)
		}
	}
	cfg = nil
	c.do("GET", "/apps/shop/config-vars", nil, &cfg)
	if len(cfg) != 0 {
		t.Errorf("config vars after destroying every add-on: %v", keys(cfg))
	}
	if _, err := pgx.Connect(ctx, dbURL); err == nil {
		t.Errorf("DATABASE_URL works after addons:destroy")
	}
	pc, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	var n int
	if err := pc.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE starts_with(datname, 'paasdapi_')) + (SELECT count(*) FROM pg_roles WHERE starts_with(rolname, 'paasdapi_'))`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d databases and roles remain (%v)", n, err)
	}
}

func keys(m map[string]string) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return fmt.Sprint(out)
}
