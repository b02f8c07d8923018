package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/runtimes/runc"
)

// dynoHost is the runc runtime's default bridge address on the host: the
// public_host apps in runc dynos reach the add-on servers at
// (scripts/setup.d/20-postgres-redis.sh makes both listen there).
const dynoHost = "10.247.0.1"

// addonApp is a web process that uses its add-ons from inside its dyno,
// with the stack's psql and redis-cli: /pg?v=X inserts X into a table of
// $DATABASE_URL (or ?url=) and answers every value; /redis?v=X sets a key
// under $REDIS_KEY_PREFIX (or ?key=) and answers its value; /dial?addr=
// opens a TCP connection. Each answer is "<exit code> <output>".
const addonApp = `import http.server, os, socket, subprocess, urllib.parse
def run(args, stdin=""):
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip().replace("\n", " | ")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/pg":
            sql = "SET client_min_messages = warning;\nCREATE TABLE IF NOT EXISTS kv (v text);\n"
            if q.get("v"):
                sql += "INSERT INTO kv VALUES (:'v');\n"
            sql += "SELECT coalesce(string_agg(v, ',' ORDER BY v), '') FROM kv;\n"
            code, out = run([os.environ["PSQL"], q.get("url") or os.environ["DATABASE_URL"], "-qAtX", "-v", "ON_ERROR_STOP=1", "-v", "v=" + q.get("v", "")], sql)
        elif u.path == "/redis":
            cli = [os.environ["REDIS_CLI"], "-u", os.environ["REDIS_URL"], "--no-auth-warning"]
            key = q.get("key") or os.environ["REDIS_KEY_PREFIX"] + "greeting"
            if q.get("v"):
                run(cli + ["SET", key, q["v"]])
            code, out = run(cli + ["GET", key])
        elif u.path == "/dial":
            host, port = q["addr"].rsplit(":", 1)
            try:
                socket.create_connection((host, int(port)), timeout=5).close()
                code, out = 0, "connected"
            except OSError as e:
                code, out = 1, str(e)
        else:
            code, out = 0, "dyno=" + os.environ.get("DYNO", "")
        body = ("%d %s\n" % (code, out)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("listening on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

// TestAddonsInRuncDynos is the add-on story end to end with real parts:
// paasd loads builtin:postgres and builtin:redis from its config (servers
// on the host, public_host the dyno bridge address), two apps each get a
// database and a Redis, and their web processes, in runc dynos, round-trip
// data through DATABASE_URL and REDIS_URL; dyno_host_ports lets dynos
// reach those two ports on the host and no other. One app's credentials cannot
// reach the other's database or keys, and addons:destroy leaves no
// database, role or ACL user behind.
func TestAddonsInRuncDynos(t *testing.T) {
	testenv.Short(t, "starts paasd, runc dynos and add-ons")
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "python3")
	redisCLI := testenv.NeedCommand(t, "redis-cli")
	pgURL, redisURL := testenv.Postgres(t), testenv.Redis(t)
	psqls, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(psqls) == 0 {
		testenv.Missing(t, "no /usr/lib/postgresql/*/bin/psql (postgresql-client)")
	}
	sort.Strings(psqls)
	psql := psqls[len(psqls)-1]

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "pr" + hex.EncodeToString(b) // per run: leftovers of other runs do not count
	// Dynos may reach the host on the two servers' ports only.
	hostPorts := []int{urlPort(t, pgURL, 5432), urlPort(t, redisURL, 6379)}
	t.Cleanup(func() { runc.RemoveHostRestriction("paasd0", hostPorts) })
	cfg := writeConfig(t, []map[string]any{
		{"ref": "builtin:postgres", "config": map[string]any{"admin_url": pgURL, "name_prefix": prefix + "_", "public_host": dynoHost}},
		{"ref": "builtin:redis", "config": map[string]any{"admin_url": redisURL, "name_prefix": prefix, "public_host": dynoHost}},
	}, "dyno_host_ports", hostPorts)
	dataDir := filepath.Join(t.TempDir(), "data")
	d, router := startDaemonWithRouter(t, dataDir, "--runtime", "builtin:runc", "--config", cfg)
	defer d.stop(t)
	if _, body := d.get(t, "/healthz", ""); !strings.Contains(body, "broker builtin:postgres: up (heroku-postgresql)") ||
		!strings.Contains(body, "broker builtin:redis: up (heroku-redis)") {
		t.Fatalf("healthz: %q", body)
	}

	sum := writeSlug(t, dataDir, map[string]string{"web.py": addonApp})
	addons := map[string][]string{}
	for _, app := range []string{"shop", "blog"} {
		if code, res := d.call(t, "POST", "/apps", map[string]any{"name": app}); code != 201 {
			t.Fatalf("create %s: %d %v", app, code, res)
		}
		for _, plan := range []string{"heroku-postgresql:essential-0", "heroku-redis:mini"} {
			code, res := d.call(t, "POST", "/apps/"+app+"/addons", map[string]any{"plan": plan})
			if code != 201 {
				t.Fatalf("addons:create %s on %s: %d %v", plan, app, code, res)
			}
			addons[app] = append(addons[app], fmt.Sprint(res["name"]))
		}
		d.call(t, "PATCH", "/apps/"+app+"/config-vars", map[string]any{"PSQL": psql, "REDIS_CLI": redisCLI})
		code, slug := d.call(t, "POST", "/apps/"+app+"/slugs", map[string]any{"process_types": map[string]string{"web": "python3 web.py"}, "checksum": sum})
		if code != 201 {
			t.Fatalf("slug: %d %v", code, slug)
		}
		if code, rel := d.call(t, "POST", "/apps/"+app+"/releases", map[string]any{"slug": slug["id"]}); code != 201 {
			t.Fatalf("release: %d %v", code, rel)
		}
		if code, f := d.call(t, "PATCH", "/apps/"+app+"/formation/web", map[string]any{"quantity": 1}); code != 200 {
			t.Fatalf("scale: %d %v", code, f)
		}
	}
	get := func(app, path string) string {
		t.Helper()
		var last string
		deadline := time.Now().Add(90 * time.Second)
		for {
			code, body, err := routed(router, app, path)
			if err == nil && code == 200 {
				return strings.TrimSpace(body)
			}
			last = fmt.Sprintf("%d %q %v", code, body, err)
			if time.Now().After(deadline) {
				t.Fatalf("GET %s%s through the router: %s\nlogs: %s", app, path, last, d.logs.String())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	vars := func(app string) map[string]any {
		t.Helper()
		_, cv := d.call(t, "GET", "/apps/"+app+"/config-vars", nil)
		return cv
	}
	shop, blog := vars("shop"), vars("blog")
	for _, cv := range []map[string]any{shop, blog} {
		for _, k := range []string{"DATABASE_URL", "REDIS_URL"} {
			if u, _ := url.Parse(fmt.Sprint(cv[k])); u == nil || u.Hostname() != dynoHost {
				t.Fatalf("%s = %v, want a URL at %s", k, cv[k], dynoHost)
			}
		}
	}

	// Round trips from inside each app's dyno.
	if got := get("shop", "/pg?v=apple"); got != "0 apple" {
		t.Fatalf("shop /pg = %q", got)
	}
	if got := get("shop", "/pg?v=pear"); got != "0 apple,pear" {
		t.Fatalf("shop /pg = %q", got)
	}
	if got := get("blog", "/pg?v=post"); got != "0 post" {
		t.Fatalf("blog /pg = %q (sees another app's rows?)", got)
	}
	if got := get("shop", "/redis?v=hello"); got != "0 hello" {
		t.Fatalf("shop /redis = %q", got)
	}
	if got := get("blog", "/redis"); got != "0" {
		t.Fatalf("blog /redis = %q, want an empty value of its own", got)
	}

	// Any other port on the host is closed to dynos.
	other, err := net.Listen("tcp", net.JoinHostPort(dynoHost, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() {
		for {
			c, err := other.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if got := get("shop", "/dial?addr="+url.QueryEscape(net.JoinHostPort(dynoHost, fmt.Sprint(hostPorts[0])))); got != "0 connected" {
		t.Fatalf("dial PostgreSQL's port from a dyno: %q", got)
	}
	if got := get("shop", "/dial?addr="+url.QueryEscape(other.Addr().String())); !strings.HasPrefix(got, "1 ") {
		t.Fatalf("a dyno reached %s, a host port dyno_host_ports does not list: %q", other.Addr(), got)
	}

	// blog's credentials against shop's database and keys, from blog's dyno.
	shopDB, _ := url.Parse(fmt.Sprint(shop["DATABASE_URL"]))
	cross, _ := url.Parse(fmt.Sprint(blog["DATABASE_URL"]))
	cross.Path = shopDB.Path
	got := get("blog", "/pg?url="+url.QueryEscape(cross.String()))
	if strings.HasPrefix(got, "0 ") || !strings.Contains(got, "permission denied for database") {
		t.Fatalf("blog's role in shop's database: %q, want permission denied", got)
	}
	got = get("blog", "/redis?key="+url.QueryEscape(fmt.Sprint(shop["REDIS_KEY_PREFIX"])+"greeting"))
	if strings.Contains(got, "hello") || !strings.Contains(got, "NOPERM") {
		t.Fatalf("blog's Redis user on shop's key: %q, want NOPERM", got)
	}

	// addons:destroy leaves nothing on either server.
	for app, names := range addons {
		for _, n := range names {
			if code, res := d.call(t, "DELETE", "/apps/"+app+"/addons/"+n, nil); code != 200 {
				t.Fatalf("addons:destroy %s: %d %v", n, code, res)
			}
		}
		if cv := vars(app); cv["DATABASE_URL"] != nil || cv["REDIS_URL"] != nil || cv["REDIS_KEY_PREFIX"] != nil {
			t.Errorf("config vars of %s after destroy: %v", app, cv)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pg, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	var dbs, roles int
	if err := pg.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)),
		(SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1))`, prefix).Scan(&dbs, &roles); err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || roles != 0 {
		t.Errorf("after addons:destroy: %d databases and %d roles named %s* left", dbs, roles, prefix)
	}
	opts, err := goredis.ParseURL(redisURL)
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
			t.Errorf("ACL user %s left after addons:destroy", u)
		}
	}
	keys, _ := rc.Keys(ctx, prefix+"*").Result()
	if len(keys) != 0 {
		t.Errorf("keys left after addons:destroy: %v", keys)
	}
}

// urlPort is the port of a server URL, def when it has none.
func urlPort(t *testing.T, raw string, def int) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return def
	}
	var n int
	fmt.Sscan(u.Port(), &n)
	return n
}
