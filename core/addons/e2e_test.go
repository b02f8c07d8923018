package addons_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/builtins"
	"github.com/paasd/paasd/schemas"
)

// realService loads builtin:postgres and builtin:redis through a plugin
// host with CUE validation, as paasd does, against the test servers.
func realService(t *testing.T) (*addons.Service, *pluginhost.Host) {
	t.Helper()
	pgURL, redisURL := testenv.Postgres(t), testenv.Redis(t)
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	h := &pluginhost.Host{Registry: reg, Validator: v, Logger: slog.New(slog.DiscardHandler)}
	t.Cleanup(func() { _ = h.Close() })
	pgCfg, _ := json.Marshal(map[string]string{"admin_url": pgURL, "name_prefix": "paasde2e_"})
	redisCfg, _ := json.Marshal(map[string]string{"admin_url": redisURL, "name_prefix": "paasde2e"})
	s, err := addons.Load(context.Background(), h, []addons.BrokerConfig{
		{Ref: "builtin:postgres", Config: pgCfg},
		{Ref: "builtin:redis", Config: redisCfg},
	}, addons.Options{PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

func pgRoundTrip(ctx context.Context, u, value string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close(context.Background()) }()
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS kv (v text)`); err != nil {
		return "", err
	}
	if value != "" {
		if _, err := c.Exec(ctx, `INSERT INTO kv VALUES ($1)`, value); err != nil {
			return "", err
		}
	}
	var got string
	err = c.QueryRow(ctx, `SELECT coalesce(string_agg(v, ',' ORDER BY v), '') FROM kv`).Scan(&got)
	return got, err
}

// TestEndToEnd provisions two PostgreSQL databases and a Redis for one
// app on the real servers, checks the config var names and that each URL
// works and reaches only its own data, attaches a database to a second
// app, and deprovisions everything.
func TestEndToEnd(t *testing.T) {
	s, _ := realService(t)
	ctx := context.Background()
	app := addons.ProvisionRequest{AppID: "00000000-0000-4000-8000-0000000000a1", AppName: "shop"}
	var existing []string
	provision := func(plan string) addons.Result {
		t.Helper()
		req := app
		req.Plan, req.Existing = plan, existing
		r, err := s.Provision(ctx, req)
		if err != nil {
			t.Fatalf("provision %s: %v", plan, err)
		}
		t.Cleanup(func() { _, _ = s.Deprovision(context.Background(), r.Addon, nil) })
		existing = append(existing, r.Attachment.Name)
		return r
	}
	db1 := provision("heroku-postgresql")
	db2 := provision("heroku-postgresql:essential-2")
	kv := provision("heroku-redis")

	if db1.Attachment.Name != "DATABASE" || db1.Attachment.ConfigVars["DATABASE_URL"] == "" {
		t.Errorf("first database: %+v", db1.Attachment)
	}
	if !strings.HasPrefix(db1.Addon.Name, "postgresql-") || db1.Description != "Attach DATABASE ("+db1.Addon.Name+")" {
		t.Errorf("first database: name %q, description %q", db1.Addon.Name, db1.Description)
	}
	if !strings.HasPrefix(db2.Attachment.Name, "HEROKU_POSTGRESQL_") || db2.Attachment.ConfigVars[db2.Attachment.Name+"_URL"] == "" {
		t.Errorf("second database: %+v", db2.Attachment)
	}
	if kv.Attachment.Name != "REDIS" || kv.Attachment.ConfigVars["REDIS_URL"] == "" || kv.Attachment.ConfigVars["REDIS_KEY_PREFIX"] == "" {
		t.Errorf("redis: %+v", kv.Attachment)
	}

	url1, url2 := db1.Attachment.ConfigVars["DATABASE_URL"], db2.Attachment.ConfigVars[db2.Attachment.Name+"_URL"]
	if got, err := pgRoundTrip(ctx, url1, "one"); err != nil || got != "one" {
		t.Fatalf("DATABASE_URL: %q, %v", got, err)
	}
	if got, err := pgRoundTrip(ctx, url2, "two"); err != nil || got != "two" {
		t.Fatalf("%s_URL: %q, %v (want only its own row)", db2.Attachment.Name, got, err)
	}

	opts, err := goredis.ParseURL(kv.Attachment.ConfigVars["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opts)
	defer rc.Close()
	prefix := kv.Attachment.ConfigVars["REDIS_KEY_PREFIX"]
	if err := rc.Set(ctx, prefix+"cart:1", "3 items", 0).Err(); err != nil {
		t.Fatalf("REDIS_URL SET: %v", err)
	}
	if v, err := rc.Get(ctx, prefix+"cart:1").Result(); err != nil || v != "3 items" {
		t.Fatalf("REDIS_URL GET: %q, %v", v, err)
	}

	// The first database attached to another app: its own credentials,
	// the same data; detaching it revokes them.
	admin, err := s.Attach(ctx, addons.AttachRequest{Addon: db1.Addon, AppID: "00000000-0000-4000-8000-0000000000b2", AppName: "backoffice"})
	if err != nil {
		t.Fatal(err)
	}
	adminURL := admin.Attachment.ConfigVars["DATABASE_URL"]
	if adminURL == "" || adminURL == url1 {
		t.Fatalf("second app's DATABASE_URL %q (first app's %q)", adminURL, url1)
	}
	if got, err := pgRoundTrip(ctx, adminURL, ""); err != nil || got != "one" {
		t.Errorf("second app reads %q, %v; want the first app's row", got, err)
	}
	if d, err := s.Detach(ctx, db1.Addon, admin.Attachment); err != nil || d != "Detach DATABASE ("+db1.Addon.Name+")" {
		t.Errorf("Detach: %q, %v", d, err)
	}
	if _, err := pgRoundTrip(ctx, adminURL, ""); err == nil {
		t.Errorf("the detached app's DATABASE_URL still works")
	}
	if got, err := pgRoundTrip(ctx, url1, ""); err != nil || got != "one" {
		t.Errorf("first app after the second detached: %q, %v", got, err)
	}

	// Deprovision: URLs stop working, nothing remains on the servers.
	for _, r := range []addons.Result{db1, db2, kv} {
		descs, err := s.Deprovision(ctx, r.Addon, []addons.Attachment{r.Attachment})
		if err != nil {
			t.Fatalf("deprovision %s: %v", r.Addon.Name, err)
		}
		if len(descs) != 1 || descs[0] != "Detach "+r.Attachment.Name+" ("+r.Addon.Name+")" {
			t.Errorf("deprovision descriptions %v", descs)
		}
	}
	if _, err := pgRoundTrip(ctx, url1, ""); err == nil {
		t.Errorf("DATABASE_URL works after deprovision")
	}
	if err := rc.Get(ctx, prefix+"cart:1").Err(); err == nil {
		t.Errorf("REDIS_URL works after deprovision")
	}
	assertNothingLeft(t, "paasde2e")
}

// assertNothingLeft checks that no database, role, ACL user or key with
// the prefix remains on the test servers.
func assertNothingLeft(t *testing.T, prefix string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	var n int
	if err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)) + (SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1))`, prefix).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d databases and roles named %s* remain (%v)", n, prefix, err)
	}
	opts, err := goredis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opts)
	defer rc.Close()
	users, err := rc.Do(ctx, "ACL", "USERS").StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if strings.HasPrefix(u, prefix) {
			t.Errorf("ACL user %s remains", u)
		}
	}
	keys, _, err := rc.Scan(ctx, 0, prefix+"*", 1000).Result()
	if err != nil || len(keys) > 0 {
		t.Errorf("keys %v remain (%v)", keys, err)
	}
}

// failingBind wraps a real broker and fails every Bind after creating the
// binding, like a broker that dies before it answers.
type failingBind struct{ core.AddonBroker }

func (f failingBind) Bind(ctx context.Context, req core.BindRequest) (core.BindResponse, error) {
	if _, err := f.AddonBroker.Bind(ctx, req); err != nil {
		return core.BindResponse{}, err
	}
	return core.BindResponse{}, errors.New("connection reset by peer")
}

// TestLoadErrors checks that a bad broker entry fails the load, naming it.
func TestLoadErrors(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	h := &pluginhost.Host{Registry: reg, Validator: v, Logger: slog.New(slog.DiscardHandler)}
	defer h.Close()
	for _, tc := range []struct {
		desc    string
		brokers []addons.BrokerConfig
		want    error
	}{
		{desc: "unknown builtin", brokers: []addons.BrokerConfig{{Ref: "builtin:mysql"}}, want: core.ErrNotFound},
		{desc: "config breaks the schema", brokers: []addons.BrokerConfig{{Ref: "builtin:redis", Config: json.RawMessage(`{"admin_url":"http://x"}`)}}, want: core.ErrInvalid},
		{desc: "not a broker", brokers: []addons.BrokerConfig{{Ref: "builtin:redact"}}, want: core.ErrNotFound},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := addons.Load(context.Background(), h, tc.brokers, addons.Options{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.brokers[0].Ref) {
				t.Errorf("Load: %v, want %v naming %s", err, tc.want, tc.brokers[0].Ref)
			}
		})
	}
}

// TestFailedAttachLeavesNothing uses the real PostgreSQL broker behind a
// failing Bind: the database it provisioned is dropped again.
func TestFailedAttachLeavesNothing(t *testing.T) {
	pgURL := testenv.Postgres(t)
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	h := &pluginhost.Host{Registry: reg, Validator: v, Logger: slog.New(slog.DiscardHandler)}
	defer h.Close()
	raw, _ := json.Marshal(map[string]string{"admin_url": pgURL, "name_prefix": "paasdfail_"})
	l, err := h.Load(context.Background(), core.ContractBroker, "builtin:postgres", raw)
	if err != nil {
		t.Fatal(err)
	}
	s := addons.New(addons.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddBroker(context.Background(), "builtin:postgres", failingBind{l.Broker()}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Provision(context.Background(), addons.ProvisionRequest{AppID: "a", AppName: "shop", Plan: "heroku-postgresql"})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Provision: %v, want the bind failure", err)
	}
	assertNothingLeft(t, "paasdfail")
}
