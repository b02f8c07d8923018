package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
)

// fakeAttacher gives each attachment credentials of its own.
type fakeAttacher struct {
	fakeAddons
	fail     bool
	attached []string // "app/NAME"
	detached []string
}

func (f *fakeAttacher) Attach(_ context.Context, app core.App, ad core.Addon, req api.AttachRequest) (api.Attached, error) {
	if f.fail {
		return api.Attached{}, fmt.Errorf("bind %s: the broker is down: %w", ad.Name, core.ErrUnavailable)
	}
	name := req.Name
	if name == "" {
		name = "DATABASE"
		if slices.Contains(req.Existing, name) {
			name = "HEROKU_POSTGRESQL_AMBER"
		}
	}
	f.attached = append(f.attached, app.Name+"/"+name)
	return api.Attached{Name: name, Config: map[string]string{name + "_URL": "postgres://own-" + app.Name + "@127.0.0.1/" + ad.Name}}, nil
}

func (f *fakeAttacher) Detach(_ context.Context, ad core.Addon, at core.AddonAttachment) error {
	if f.fail {
		return fmt.Errorf("unbind: the broker is down: %w", core.ErrUnavailable)
	}
	f.detached = append(f.detached, at.Name)
	return nil
}

// TestAttachWithOwnCredentials: with an AddonAttacher, attaching asks the
// broker for credentials of the attachment's own, detaching revokes them,
// and a broker failure changes nothing.
func TestAttachWithOwnCredentials(t *testing.T) {
	fa := &fakeAttacher{}
	e := newEnv(t, api.Options{Addons: fa})
	e.createApp(e.alice, "shop")
	e.createApp(e.alice, "blog")
	e.mustStatus(e.do("POST", "/apps/shop/addons", e.alice, map[string]any{"plan": "heroku-postgresql", "name": "db-one"}), 201)

	fa.fail = true
	r := e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": map[string]string{"name": "db-one"}, "app": map[string]string{"name": "blog"}, "name": "SHOP_DB"})
	if r.status != 503 {
		t.Fatalf("attach with the broker down = %d %s", r.status, r.body)
	}
	var cfg map[string]string
	e.mustStatus(e.do("GET", "/apps/blog/config-vars", e.alice, nil), 200).json(t, &cfg)
	var ats []api.AttachmentJSON
	e.mustStatus(e.do("GET", "/apps/blog/addon-attachments", e.alice, nil), 200).json(t, &ats)
	if len(cfg) != 0 || len(ats) != 0 {
		t.Fatalf("a failed attach left config %v, attachments %+v", cfg, ats)
	}

	fa.fail = false
	var at api.AttachmentJSON
	// The Heroku CLI's body: {"addon": {"name"}, "app": {"name"}, "name", "confirm"}.
	e.mustStatus(e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": map[string]string{"name": "db-one"},
		"app": map[string]string{"name": "blog"}, "name": "SHOP_DB", "confirm": nil}), 201).json(t, &at)
	e.mustStatus(e.do("GET", "/apps/blog/config-vars", e.alice, nil), 200).json(t, &cfg)
	if at.Name != "SHOP_DB" || cfg["SHOP_DB_URL"] != "postgres://own-blog@127.0.0.1/db-one" || !slices.Equal(fa.attached, []string{"blog/SHOP_DB"}) {
		t.Fatalf("attachment %+v, config %v, attached %v", at, cfg, fa.attached)
	}
	// A second one without a name gets the service's default name.
	var at2 api.AttachmentJSON
	e.mustStatus(e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": "db-one", "app": "blog"}), 201).json(t, &at2)
	if at2.Name != "DATABASE" {
		t.Fatalf("default attachment name %q", at2.Name)
	}
	r = e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": "db-one", "app": "blog", "name": "SHOP_DB"})
	if r.status != 422 {
		t.Fatalf("a taken name = %d %s", r.status, r.body)
	}

	fa.fail = true
	r = e.do("DELETE", "/addon-attachments/"+at.ID, e.alice, nil)
	e.mustStatus(e.do("GET", "/apps/blog/config-vars", e.alice, nil), 200).json(t, &cfg)
	if r.status != 503 || cfg["SHOP_DB_URL"] == "" {
		t.Fatalf("detach with the broker down = %d %s; config %v", r.status, r.body, cfg)
	}
	fa.fail = false
	e.mustStatus(e.do("DELETE", "/addon-attachments/"+at.ID, e.alice, nil), 200)
	cfg = nil
	e.mustStatus(e.do("GET", "/apps/blog/config-vars", e.alice, nil), 200).json(t, &cfg)
	if _, ok := cfg["SHOP_DB_URL"]; ok || !slices.Equal(fa.detached, []string{"SHOP_DB"}) {
		t.Fatalf("after detach: config %v, detached %v", cfg, fa.detached)
	}
}

// TestResolveActions covers POST /actions/addons/resolve and
// /actions/addon-attachments/resolve as the Heroku CLI calls them.
func TestResolveActions(t *testing.T) {
	e := newEnv(t, api.Options{Addons: &fakeAttacher{}})
	e.createApp(e.alice, "shop")
	e.createApp(e.alice, "blog")
	e.createApp(e.bob, "bobs")
	var ad api.AddonJSON
	e.mustStatus(e.do("POST", "/apps/shop/addons", e.alice, map[string]any{"plan": "heroku-postgresql", "name": "db-one"}), 201).json(t, &ad)
	e.mustStatus(e.do("POST", "/addon-attachments", e.alice, map[string]any{"addon": "db-one", "app": "blog", "name": "SHOP_DB"}), 201)
	for _, tc := range []struct {
		desc   string
		path   string
		body   map[string]any
		who    string
		status int
		want   string // the name of the single match
	}{
		{"add-on by name", "/actions/addons/resolve", map[string]any{"addon": "db-one"}, "alice", 200, "db-one"},
		{"add-on by id, app null", "/actions/addons/resolve", map[string]any{"addon": ad.ID, "app": nil}, "alice", 200, "db-one"},
		{"add-on by attachment name on its app", "/actions/addons/resolve", map[string]any{"addon": "DATABASE", "app": "shop"}, "alice", 200, "db-one"},
		{"add-on by attachment name on another app", "/actions/addons/resolve", map[string]any{"addon": "SHOP_DB", "app": "blog"}, "alice", 200, "db-one"},
		{"add-on APP::ATTACHMENT", "/actions/addons/resolve", map[string]any{"addon": "blog::SHOP_DB"}, "alice", 200, "db-one"},
		{"add-on service filter", "/actions/addons/resolve", map[string]any{"addon": "db-one", "addon_service": "heroku-redis"}, "alice", 404, ""},
		{"add-on of someone else", "/actions/addons/resolve", map[string]any{"addon": "db-one"}, "bob", 404, ""},
		{"add-on unknown", "/actions/addons/resolve", map[string]any{"addon": "nope", "app": "shop"}, "alice", 404, ""},
		{"add-on missing", "/actions/addons/resolve", map[string]any{}, "alice", 422, ""},
		{"attachment by name", "/actions/addon-attachments/resolve", map[string]any{"addon_attachment": "SHOP_DB", "app": "blog"}, "alice", 200, "SHOP_DB"},
		{"attachment APP::NAME", "/actions/addon-attachments/resolve", map[string]any{"addon_attachment": "shop::DATABASE", "app": nil}, "alice", 200, "DATABASE"},
		{"attachment service filter", "/actions/addon-attachments/resolve", map[string]any{"addon_attachment": "SHOP_DB", "app": "blog", "addon_service": "heroku-postgresql"}, "alice", 200, "SHOP_DB"},
		{"attachment on another app", "/actions/addon-attachments/resolve", map[string]any{"addon_attachment": "SHOP_DB", "app": "shop"}, "alice", 404, ""},
		{"attachment of someone else", "/actions/addon-attachments/resolve", map[string]any{"addon_attachment": "blog::SHOP_DB"}, "bob", 404, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			who := e.alice
			if tc.who == "bob" {
				who = e.bob
			}
			r := e.do("POST", tc.path, who, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status == 404 && tc.who != "bob" {
				m := r.obj(t)
				if m["resource"] != "add_on" && m["resource"] != "add_on attachment" {
					t.Fatalf("404 without the resource the CLI checks: %s", r.body)
				}
			}
			if tc.want == "" {
				return
			}
			var got []map[string]any
			r.json(t, &got)
			if len(got) != 1 || got[0]["name"] != tc.want {
				t.Fatalf("got %v, want one named %s", got, tc.want)
			}
		})
	}
}
