package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

func configFor(t *testing.T) json.RawMessage {
	t.Helper()
	cfg, err := json.Marshal(Config{AdminURL: testenv.Redis(t), NamePrefix: "paasdtest"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func open(t *testing.T) *Broker {
	t.Helper()
	b := New()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Configure(ctx, core.ConfigureRequest{APIVersion: 1, Config: configFor(t)}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// client connects with a binding's URL.
func client(t testing.TB, u string) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("binding URL %q: %v", u, err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes and reads a key under the binding's prefix.
func roundTrip(ctx context.Context, cfg map[string]string) error {
	opts, err := goredis.ParseURL(cfg["URL"])
	if err != nil {
		return err
	}
	opts.MaxRetries = -1
	c := goredis.NewClient(opts)
	defer c.Close()
	key := cfg["KEY_PREFIX"] + "greeting"
	if err := c.Set(ctx, key, "hello", 0).Err(); err != nil {
		return fmt.Errorf("SET %s: %w", key, err)
	}
	v, err := c.Get(ctx, key).Result()
	if err != nil || v != "hello" {
		return fmt.Errorf("GET %s = %q, %w", key, v, err)
	}
	return nil
}

func TestConformance(t *testing.T) {
	target := conformance.InProcessBroker(func() core.AddonBroker { return New() }, configFor(t))
	target.OtherParameters = json.RawMessage(`{"maxmemory_policy":"allkeys-lru"}`)
	target.CheckCredentials = roundTrip
	conformance.Broker(t, target)
}

func provisionAndBind(t *testing.T, b *Broker, id string) map[string]string {
	t.Helper()
	ctx := context.Background()
	if _, err := b.Provision(ctx, core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID}); err != nil {
		t.Fatalf("Provision %s: %v", id, err)
	}
	t.Cleanup(func() {
		_, _ = b.Deprovision(context.Background(), core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID})
	})
	resp, err := b.Bind(ctx, core.BindRequest{InstanceID: id, BindingID: id + "-app", ServiceID: ServiceID})
	if err != nil {
		t.Fatalf("Bind %s: %v", id, err)
	}
	return resp.Config
}

func isNoPerm(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOPERM") }

// TestIsolation is end to end against the real server: each instance's
// user reads and writes its own prefix only, cannot run server-wide
// commands, and deprovisioning leaves no user and no key.
func TestIsolation(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	stamp := strings.ToLower(time.Now().Format("150405.000000"))
	a, bb := provisionAndBind(t, b, "iso-a-"+stamp), provisionAndBind(t, b, "iso-b-"+stamp)
	if err := roundTrip(ctx, a); err != nil {
		t.Fatalf("A: %v", err)
	}
	if err := roundTrip(ctx, bb); err != nil {
		t.Fatalf("B: %v", err)
	}
	ca := client(t, a["URL"])
	if err := ca.Set(ctx, a["KEY_PREFIX"]+"list", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc string
		err  error
	}{
		{desc: "GET B's key", err: ca.Get(ctx, bb["KEY_PREFIX"]+"greeting").Err()},
		{desc: "SET B's key", err: ca.Set(ctx, bb["KEY_PREFIX"]+"greeting", "pwned", 0).Err()},
		{desc: "SET an unprefixed key", err: ca.Set(ctx, "global", "x", 0).Err()},
		{desc: "KEYS", err: ca.Keys(ctx, "*").Err()},
		{desc: "SCAN", err: ca.Scan(ctx, 0, "*", 10).Err()},
		{desc: "RANDOMKEY", err: ca.RandomKey(ctx).Err()},
		{desc: "DBSIZE", err: ca.DBSize(ctx).Err()},
		{desc: "FLUSHALL", err: ca.FlushAll(ctx).Err()},
		{desc: "FLUSHDB", err: ca.FlushDB(ctx).Err()},
		{desc: "CONFIG GET", err: ca.ConfigGet(ctx, "*").Err()},
		{desc: "INFO", err: ca.Info(ctx).Err()},
		{desc: "ACL LIST", err: ca.Do(ctx, "ACL", "LIST").Err()},
		{desc: "CLIENT LIST", err: ca.ClientList(ctx).Err()},
		{desc: "PUBLISH to B's channel", err: ca.Publish(ctx, bb["KEY_PREFIX"]+"events", "x").Err()},
		{desc: "PUBSUB CHANNELS", err: ca.PubSubChannels(ctx, "*").Err()},
		{desc: "SORT BY another key", err: ca.Do(ctx, "SORT", a["KEY_PREFIX"]+"list", "BY", bb["KEY_PREFIX"]+"*").Err()},
		{desc: "EVAL touching B's key", err: ca.Eval(ctx, `return redis.call("GET", KEYS[1])`, []string{bb["KEY_PREFIX"] + "greeting"}).Err()},
		{desc: "FUNCTION FLUSH", err: ca.FunctionFlush(ctx).Err()},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if !isNoPerm(tc.err) {
				t.Errorf("%s as A: %v, want NOPERM", tc.desc, tc.err)
			}
		})
	}
	if err := ca.Publish(ctx, a["KEY_PREFIX"]+"events", "x").Err(); err != nil {
		t.Errorf("PUBLISH to A's own channel: %v", err)
	}
	if v, err := client(t, bb["URL"]).Get(ctx, bb["KEY_PREFIX"]+"greeting").Result(); err != nil || v != "hello" {
		t.Errorf("B's key after A's attempts: %q, %v", v, err)
	}

	adm := b.rdb
	for _, tc := range []struct {
		id  string
		cfg map[string]string
	}{{"iso-a-" + stamp, a}, {"iso-b-" + stamp, bb}} {
		if _, err := b.Deprovision(ctx, core.DeprovisionRequest{InstanceID: tc.id, ServiceID: ServiceID}); err != nil {
			t.Fatalf("Deprovision %s: %v", tc.id, err)
		}
		keys, _, err := adm.Scan(ctx, 0, tc.cfg["KEY_PREFIX"]+"*", 1000).Result()
		if err != nil || len(keys) > 0 {
			t.Errorf("keys left after deprovisioning %s: %v, %v", tc.id, keys, err)
		}
		users, err := b.users(ctx, adm, tc.id)
		if err != nil || len(users) > 0 {
			t.Errorf("users left after deprovisioning %s: %v, %v", tc.id, users, err)
		}
		if n, err := adm.Exists(ctx, b.metaKey(tc.id), b.lockKey(tc.id)).Result(); err != nil || n != 0 {
			t.Errorf("record or lock left after deprovisioning %s: %d, %v", tc.id, n, err)
		}
		if err := roundTrip(ctx, tc.cfg); err == nil {
			t.Errorf("%s's URL still works after deprovision", tc.id)
		}
	}
}

// TestDeprovisionManyKeys checks that deprovisioning removes more keys than
// one SCAN page holds.
func TestDeprovisionManyKeys(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	id := "many-" + strings.ToLower(time.Now().Format("150405.000000"))
	cfg := provisionAndBind(t, b, id)
	c := client(t, cfg["URL"])
	pipe := c.Pipeline()
	for i := range 2500 {
		pipe.Set(ctx, fmt.Sprintf("%sk%d", cfg["KEY_PREFIX"], i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deprovision(ctx, core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID}); err != nil {
		t.Fatal(err)
	}
	var left []string
	var cursor uint64
	for {
		keys, next, err := b.rdb.Scan(ctx, cursor, cfg["KEY_PREFIX"]+"*", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, keys...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("%d keys left, e.g. %s", len(left), left[0])
	}
}

// TestFailedBindLeavesNoUser injects a failure after the user is created.
func TestFailedBindLeavesNoUser(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	id := "failbind-" + strings.ToLower(time.Now().Format("150405.000000"))
	if _, err := b.Provision(ctx, core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b.Deprovision(context.Background(), core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID})
	})
	b.failAfter = 1
	if _, err := b.Bind(ctx, core.BindRequest{InstanceID: id, BindingID: "x", ServiceID: ServiceID}); err == nil {
		t.Fatal("Bind succeeded despite the injected failure")
	}
	if users, err := b.users(ctx, b.rdb, id); err != nil || len(users) > 0 {
		t.Errorf("users after a failed bind: %v, %v", users, err)
	}
}

func TestConcurrentOperation(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	id := "conc-" + strings.ToLower(time.Now().Format("150405.000000"))
	err := b.locked(ctx, b.rdb, id, func() error {
		_, err := b.Provision(ctx, core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID})
		return err
	})
	if !errors.Is(err, core.ErrConcurrency) {
		t.Errorf("Provision while locked: %v, want ErrConcurrency", err)
	}
	if n, _ := b.rdb.Exists(ctx, b.lockKey(id)).Result(); n != 0 {
		t.Errorf("lock left behind")
	}
}

func TestConfigureRejects(t *testing.T) {
	for _, tc := range []struct{ desc, config string }{
		{desc: "no admin url", config: `{}`},
		{desc: "not redis", config: `{"admin_url":"http://x"}`},
		{desc: "unknown field", config: `{"admin_url":"redis://127.0.0.1","x":1}`},
		{desc: "bad prefix", config: `{"admin_url":"redis://127.0.0.1","name_prefix":"a:b"}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := New().Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: json.RawMessage(tc.config)})
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Configure(%s) = %v, want ErrInvalid", tc.config, err)
			}
		})
	}
}

func TestParamsRejects(t *testing.T) {
	for _, tc := range []struct{ desc, params string }{
		{desc: "unknown policy", params: `{"maxmemory_policy":"evict-everything"}`},
		{desc: "unknown field", params: `{"maxmemory":"1gb"}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := paramsHash(json.RawMessage(tc.params)); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("paramsHash(%s) = %v, want ErrInvalid", tc.params, err)
			}
		})
	}
}
