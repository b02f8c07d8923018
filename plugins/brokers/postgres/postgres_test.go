package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

// configFor returns the broker config for the test server, with a name
// prefix of its own so that tests never touch other databases.
func configFor(t *testing.T) json.RawMessage {
	t.Helper()
	admin := testenv.Postgres(t)
	cfg, err := json.Marshal(Config{AdminURL: admin, NamePrefix: "paasdtest_"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// open returns a broker configured against the test server.
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

// roundTrip connects with url, writes a row and reads it back.
func roundTrip(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(context.Background()) }()
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS notes (body text)`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO notes VALUES ($1)`, "hello"); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM notes WHERE body = 'hello'`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("select: %d rows, %w", n, err)
	}
	return nil
}

func TestConformance(t *testing.T) {
	cfg := configFor(t)
	target := conformance.InProcessBroker(func() core.AddonBroker { return New() }, cfg)
	target.Plan, target.OtherPlan = "essential-0", "essential-2"
	target.OtherParameters = json.RawMessage(`{"connection_limit":5}`)
	target.CheckCredentials = func(ctx context.Context, c map[string]string) error { return roundTrip(ctx, c["URL"]) }
	conformance.Broker(t, target)
}

// admin connects to the test server as the admin.
func admin(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatalf("connect as admin: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// leftovers lists databases and roles whose names start with name.
func leftovers(t *testing.T, c *pgx.Conn, name string) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT 'database ' || datname FROM pg_database WHERE starts_with(datname, $1)
		UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE starts_with(rolname, $1)`, name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func provisionAndBind(t *testing.T, b *Broker, id string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := b.Provision(ctx, core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID}); err != nil {
		t.Fatalf("Provision %s: %v", id, err)
	}
	t.Cleanup(func() {
		_, _ = b.Deprovision(context.Background(), core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID})
	})
	resp, err := b.Bind(ctx, core.BindRequest{InstanceID: id, BindingID: id + "-app", ServiceID: ServiceID, PlanID: Plans[0].ID})
	if err != nil {
		t.Fatalf("Bind %s: %v", id, err)
	}
	return resp.Config["URL"]
}

// TestIsolation is end to end against the real server: two instances,
// each usable with its own URL, neither reachable with the other's
// credentials, and nothing left after deprovisioning.
func TestIsolation(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	idA, idB := "iso-a-"+strings.ToLower(time.Now().Format("150405.000000")), "iso-b-"+strings.ToLower(time.Now().Format("150405.000000"))
	urlA, urlB := provisionAndBind(t, b, idA), provisionAndBind(t, b, idB)
	if err := roundTrip(ctx, urlA); err != nil {
		t.Fatalf("instance A with its own URL: %v", err)
	}
	if err := roundTrip(ctx, urlB); err != nil {
		t.Fatalf("instance B with its own URL: %v", err)
	}
	// B's role pointed at A's database.
	ua, _ := url.Parse(urlA)
	ub, _ := url.Parse(urlB)
	cross := *ub
	cross.Path = ua.Path
	c, err := pgx.Connect(ctx, cross.String())
	if err == nil {
		_ = c.Close(ctx)
		t.Fatalf("B's credentials connected to A's database %s", ua.Path)
	}
	if !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("B on A's database: %v (want permission denied)", err)
	}
	// B's role on the admin database cannot read A's tables either (it is
	// not a member of A's owner), nor list its tables' contents.
	adm := admin(t)
	var member bool
	if err := adm.QueryRow(ctx, `SELECT pg_has_role($1, $2, 'MEMBER')`, ub.User.Username(), strings.TrimPrefix(ua.Path, "/")).Scan(&member); err != nil {
		t.Fatal(err)
	}
	if member {
		t.Errorf("B's role is a member of A's owner role")
	}
	var limit int
	if err := adm.QueryRow(ctx, `SELECT datconnlimit FROM pg_database WHERE datname = $1`, strings.TrimPrefix(ua.Path, "/")).Scan(&limit); err != nil || limit != Plans[0].ConnectionLimit {
		t.Errorf("connection limit of A's database: %d, %v; want %d", limit, err, Plans[0].ConnectionLimit)
	}

	// Deprovision leaves nothing: no database, no role; the URL fails.
	for _, id := range []string{idA, idB} {
		if _, err := b.Deprovision(ctx, core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID}); err != nil {
			t.Fatalf("Deprovision %s: %v", id, err)
		}
		if left := leftovers(t, adm, b.dbName(id)); len(left) > 0 {
			t.Errorf("after deprovisioning %s: %v remain", id, left)
		}
	}
	if err := roundTrip(ctx, urlA); err == nil {
		t.Errorf("A's URL still works after deprovision")
	}
}

// TestUnbindKeepsData checks that a table created through one binding
// survives its unbinding and is visible through another binding.
func TestUnbindKeepsData(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	id := "keep-" + strings.ToLower(time.Now().Format("150405.000000"))
	first := provisionAndBind(t, b, id)
	if err := roundTrip(ctx, first); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unbind(ctx, core.UnbindRequest{InstanceID: id, BindingID: id + "-app", ServiceID: ServiceID}); err != nil {
		t.Fatalf("Unbind: %v", err)
	}
	// The open session was terminated.
	if err := c.Ping(ctx); err == nil {
		t.Errorf("a session of the unbound role survived Unbind")
	}
	_ = c.Close(ctx)
	resp, err := b.Bind(ctx, core.BindRequest{InstanceID: id, BindingID: id + "-other", ServiceID: ServiceID})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := pgx.Connect(ctx, resp.Config["URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Close(ctx) }()
	var n int
	if err := c2.QueryRow(ctx, `SELECT count(*) FROM notes`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows written through the unbound binding: %d, %v; want 1", n, err)
	}
}

// TestFailedProvisionLeavesNothing fails Provision after each of its
// steps against the real server and checks nothing remains.
func TestFailedProvisionLeavesNothing(t *testing.T) {
	adm := admin(t)
	for step := 1; step <= 5; step++ {
		t.Run(fmt.Sprintf("after step %d", step), func(t *testing.T) {
			b := open(t)
			b.failAfter = step
			id := fmt.Sprintf("fail-%d-%s", step, strings.ToLower(time.Now().Format("150405.000000")))
			_, err := b.Provision(context.Background(), core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID})
			if err == nil {
				t.Fatal("Provision succeeded despite the injected failure")
			}
			if left := leftovers(t, adm, b.dbName(id)); len(left) > 0 {
				t.Errorf("after a failed provision: %v remain", left)
			}
			if _, err := b.Deprovision(context.Background(), core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID}); !errors.Is(err, core.ErrGone) {
				t.Errorf("Deprovision after a failed provision: %v, want ErrGone", err)
			}
		})
	}
}

// TestConcurrentProvision checks that a second operation while the first
// holds the instance's lock gets ErrConcurrency.
func TestConcurrentProvision(t *testing.T) {
	b := open(t)
	pool, err := b.conn()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "conc-" + strings.ToLower(time.Now().Format("150405.000000"))
	err = b.locked(ctx, pool, id, func(_ *pgxpool.Conn) error {
		_, err := b.Provision(ctx, core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID})
		return err
	})
	if !errors.Is(err, core.ErrConcurrency) {
		t.Errorf("Provision while the instance is locked: %v, want ErrConcurrency", err)
	}
}

func TestConfigureRejects(t *testing.T) {
	for _, tc := range []struct {
		desc, config string
	}{
		{desc: "no admin url", config: `{}`},
		{desc: "not postgres", config: `{"admin_url":"mysql://x@y/z"}`},
		{desc: "unknown field", config: `{"admin_url":"postgres://a@127.0.0.1/b","extra":1}`},
		{desc: "bad prefix", config: `{"admin_url":"postgres://a@127.0.0.1/b","name_prefix":"Bad-"}`},
		{desc: "not an object", config: `[1]`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := New().Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: json.RawMessage(tc.config)})
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Configure(%s) = %v, want ErrInvalid", tc.config, err)
			}
		})
	}
}

func TestQuoteLiteral(t *testing.T) {
	for _, tc := range []struct{ desc, in, want string }{
		{desc: "plain", in: "abc", want: `'abc'`},
		{desc: "quote", in: "it's", want: `'it''s'`},
		{desc: "backslash", in: `a\b'`, want: `E'a\\b'''`},
		{desc: "nul", in: "a\x00b", want: `'ab'`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := quoteLiteral(tc.in); got != tc.want {
				t.Errorf("quoteLiteral(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzQuoteLiteral checks, against the real server when there is one,
// that a quoted literal reads back as the string it quoted.
func FuzzQuoteLiteral(f *testing.F) {
	for _, s := range []string{"", "a", "'", `\`, `\'`, "''", "$$", "é", `E'\x41'`} {
		f.Add(s)
	}
	var conn *pgx.Conn
	f.Fuzz(func(t *testing.T, s string) {
		if conn == nil {
			u := testenv.Postgres(t)
			c, err := pgx.Connect(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			conn = c
		}
		want := strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
		var got string
		if err := conn.QueryRow(context.Background(), "SELECT "+quoteLiteral(want)).Scan(&got); err != nil {
			t.Fatalf("SELECT %s: %v", quoteLiteral(want), err)
		}
		if got != want {
			t.Errorf("%s reads back as %q, want %q", quoteLiteral(want), got, want)
		}
	})
}

// TestUpdateConnectionLimit checks that a plan change and the
// connection_limit parameter reach the server.
func TestUpdateConnectionLimit(t *testing.T) {
	b := open(t)
	adm := admin(t)
	ctx := context.Background()
	id := "limit-" + strings.ToLower(time.Now().Format("150405.000000"))
	if _, err := b.Provision(ctx, core.ProvisionRequest{InstanceID: id, ServiceID: ServiceID, PlanID: Plans[0].ID, Parameters: json.RawMessage(`{"connection_limit":5}`)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b.Deprovision(context.Background(), core.DeprovisionRequest{InstanceID: id, ServiceID: ServiceID})
	})
	limits := func() (int, int) {
		var db, role int
		if err := adm.QueryRow(ctx, `SELECT d.datconnlimit, r.rolconnlimit FROM pg_database d JOIN pg_roles r ON r.rolname = d.datname WHERE d.datname = $1`, b.dbName(id)).Scan(&db, &role); err != nil {
			t.Fatal(err)
		}
		return db, role
	}
	for _, tc := range []struct {
		desc, plan, params string
		want               int
	}{
		{desc: "provisioned with connection_limit 5", want: 5},
		{desc: "plan change keeps the parameter", plan: Plans[2].ID, want: 5},
		{desc: "new parameters", plan: Plans[2].ID, params: `{}`, want: Plans[2].ConnectionLimit},
		{desc: "back to essential-0", plan: Plans[0].ID, want: Plans[0].ConnectionLimit},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.plan != "" {
				req := core.UpdateRequest{InstanceID: id, ServiceID: ServiceID, PlanID: tc.plan}
				if tc.params != "" {
					req.Parameters = json.RawMessage(tc.params)
				}
				if _, err := b.Update(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			if db, role := limits(); db != tc.want || role != tc.want {
				t.Errorf("connection limits: database %d, role %d; want %d", db, role, tc.want)
			}
		})
	}
}
