package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paasd/paasd/internal/testenv"
)

// pgLogin reports whether the URL logs in to its database.
func pgLogin(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, `CREATE TABLE IF NOT EXISTS kv (v text); INSERT INTO kv VALUES ('x')`)
	return err
}

// TestHerokuCLIAddons drives the add-on attachment model with the
// official Heroku CLI against paasd loading builtin:postgres from its
// config: addons:create --as, addons:attach --as to another app with
// credentials of its own, addons:info and addons:detach (resolved through
// /actions/addons/resolve and /actions/addon-attachments/resolve), and
// addons:destroy revoking every credential.
func TestHerokuCLIAddons(t *testing.T) {
	testenv.Short(t, "runs the Heroku CLI (node) several times")
	heroku := testenv.NeedCommand(t, "heroku")
	pgURL := testenv.Postgres(t)
	cfg := writeConfig(t, []map[string]any{{"ref": "builtin:postgres", "config": map[string]any{"admin_url": pgURL, "name_prefix": "paasdcli_"}}})
	d := startDaemon(t, "--config", cfg)
	home := t.TempDir()
	env := herokuEnv(home, d)
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, heroku, args...)
		cmd.Env = env
		cmd.Dir = home
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("heroku %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	contains := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}
	vars := func(app string) map[string]any {
		_, cv := d.call(t, "GET", "/apps/"+app+"/config-vars", nil)
		return cv
	}
	for _, app := range []string{"shop", "blog"} {
		if code, res := d.call(t, "POST", "/apps", map[string]any{"name": app}); code != 201 {
			t.Fatalf("create %s: %d %v", app, code, res)
		}
	}

	out := run(t, "addons:create", "heroku-postgresql:essential-0", "-a", "shop", "--as", "PRIMARY_DB")
	contains(t, out, "Creating heroku-postgresql:essential-0 on", "shop", "Created postgresql-", " as PRIMARY_DB_URL")
	shopURL := fmt.Sprint(vars("shop")["PRIMARY_DB_URL"])
	if !strings.HasPrefix(shopURL, "postgres://") || vars("shop")["DATABASE_URL"] != nil {
		t.Fatalf("--as PRIMARY_DB: config vars %v", vars("shop"))
	}
	_, list := d.callList(t, "/apps/shop/addons")
	if len(list) != 1 {
		t.Fatalf("add-ons of shop: %v", list)
	}
	addon := fmt.Sprint(list[0]["name"])
	contains(t, run(t, "addons", "-a", "shop"), addon, "heroku-postgresql", "PRIMARY_DB")

	out = run(t, "addons:attach", addon, "-a", "blog", "--as", "SHOP_DB")
	contains(t, out, "Attaching "+addon+" as SHOP_DB to", "blog", "Setting SHOP_DB config vars and restarting", "done, v2")
	blogURL := fmt.Sprint(vars("blog")["SHOP_DB_URL"])
	if !strings.HasPrefix(blogURL, "postgres://") || blogURL == shopURL {
		t.Fatalf("the attachment's URL %q: want credentials of its own (shop's: %q)", blogURL, shopURL)
	}
	for name, u := range map[string]string{"shop's PRIMARY_DB_URL": shopURL, "blog's SHOP_DB_URL": blogURL} {
		if err := pgLogin(u); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	contains(t, run(t, "addons:info", "SHOP_DB", "-a", "blog"), "=== "+addon, "heroku-postgresql:essential-0", "shop::PRIMARY_DB", "blog::SHOP_DB")
	contains(t, run(t, "addons:info", addon), "=== "+addon)

	// The API's resolve actions, as the CLI calls them.
	res := postJSON(t, d, "/actions/addon-attachments/resolve", map[string]any{"addon_attachment": "blog::SHOP_DB"})
	if len(res) != 1 || res[0]["name"] != "SHOP_DB" {
		t.Fatalf("resolve blog::SHOP_DB = %v", res)
	}
	if got := postJSON(t, d, "/actions/addons/resolve", map[string]any{"addon": "PRIMARY_DB", "app": "shop"}); len(got) != 1 || got[0]["name"] != addon {
		t.Fatalf("resolve PRIMARY_DB on shop = %v", got)
	}

	out = run(t, "addons:detach", "SHOP_DB", "-a", "blog")
	contains(t, out, "Detaching SHOP_DB to "+addon+" from", "Unsetting SHOP_DB config vars and restarting", "done, v3")
	if cv := vars("blog"); cv["SHOP_DB_URL"] != nil {
		t.Fatalf("SHOP_DB_URL after detach: %v", cv)
	}
	if err := pgLogin(blogURL); err == nil {
		t.Fatal("the detached attachment's credentials still log in")
	}
	if err := pgLogin(shopURL); err != nil {
		t.Fatalf("detaching blog broke shop's credentials: %v", err)
	}

	out = run(t, "addons:destroy", addon, "-a", "shop", "--confirm", "shop")
	contains(t, out, "Destroying "+addon+" on", "shop", "done")
	if err := pgLogin(shopURL); err == nil {
		t.Fatal("the destroyed add-on's credentials still log in")
	}
	if cv := vars("shop"); cv["PRIMARY_DB_URL"] != nil {
		t.Fatalf("PRIMARY_DB_URL after destroy: %v", cv)
	}
}

// postJSON POSTs body to path and decodes the JSON array it answers.
func postJSON(t *testing.T, d *daemon, path string, body any) []map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", d.url+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := []map[string]any{}
	if res.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("POST %s = %d %s", path, res.StatusCode, b)
	}
	return out
}
