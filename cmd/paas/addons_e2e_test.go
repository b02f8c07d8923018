package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/internal/testenv"
)

// TestAddonsAttachDetach: paas against a paasd that loads builtin:postgres
// from its config: addons:create --as, addons:attach --as to a second app
// (credentials of its own), addons:detach and addons:destroy.
func TestAddonsAttachDetach(t *testing.T) {
	pgURL := testenv.Postgres(t)
	raw, _ := json.Marshal(map[string]any{"brokers": []map[string]any{{"ref": "builtin:postgres",
		"config": map[string]any{"admin_url": pgURL, "name_prefix": "paasdpaas_"}}}})
	cfg := filepath.Join(t.TempDir(), "paasd.json")
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPaasd(t, "--config", cfg)
	p.ok("apps:create", "shop")
	p.ok("apps:create", "blog")
	r := p.ok("addons:create", "heroku-postgresql:essential-0", "-a", "shop", "--as", "PRIMARY_DB")
	contains(t, "addons:create", r.out, "Created postgresql-", " as PRIMARY_DB_URL")
	name := strings.Fields(strings.TrimPrefix(r.out[strings.Index(r.out, "Created "):], "Created "))[0]
	shopURL := strings.TrimSpace(p.ok("config:get", "PRIMARY_DB_URL", "-a", "shop").out)

	r = p.ok("addons:attach", name, "-a", "blog", "--as", "SHOP_DB")
	contains(t, "addons:attach", r.err, "Attaching "+name+" as SHOP_DB to ⬢ blog... done", "Setting SHOP_DB config vars and restarting ⬢ blog... done, v2")
	blogURL := strings.TrimSpace(p.ok("config:get", "SHOP_DB_URL", "-a", "blog").out)
	if !strings.HasPrefix(blogURL, "postgres://") || blogURL == shopURL {
		t.Fatalf("SHOP_DB_URL %q: want credentials of its own (shop's %q)", blogURL, shopURL)
	}
	contains(t, "addons", p.ok("addons", "-a", "shop").out, name, "as PRIMARY_DB", "as SHOP_DB on blog")
	r = p.fails(1, "addons:attach", name, "-a", "blog", "--as", "SHOP_DB")
	contains(t, "addons:attach twice", r.err, "SHOP_DB is already used")

	r = p.ok("addons:detach", "SHOP_DB", "-a", "blog")
	contains(t, "addons:detach", r.err, "Detaching SHOP_DB to "+name+" from ⬢ blog... done", "Unsetting SHOP_DB config vars and restarting ⬢ blog... done, v3")
	if out := p.ok("config", "-a", "blog", "--json").out; strings.Contains(out, "SHOP_DB_URL") {
		t.Fatalf("config after detach: %s", out)
	}
	r = p.fails(1, "addons:detach", "PRIMARY_DB", "-a", "shop")
	contains(t, "addons:detach of the owning attachment", r.err, "destroy the add-on instead")
	p.ok("addons:destroy", name, "-a", "shop", "--confirm", "shop")
	if out := p.ok("addons", "-a", "shop").out; !strings.Contains(out, "No add-ons") {
		t.Fatalf("addons after destroy: %s", out)
	}
}
