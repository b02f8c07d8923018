package main_test

import (
	"strings"
	"testing"
)

// TestBuildpacks drives the buildpacks commands against a real paasd
// (GET/PUT /apps/{app}/buildpack-installations).
func TestBuildpacks(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "bpapp")
	if r := p.ok("buildpacks", "-a", "bpapp"); r.out != "⬢ bpapp has no Buildpack URL set.\n" {
		t.Fatalf("buildpacks = %q", r.out)
	}
	if r := p.ok("buildpacks:set", "heroku/go", "-a", "bpapp"); !strings.HasPrefix(r.out, "Buildpack set. Next release on bpapp will use heroku/go.") {
		t.Fatalf("buildpacks:set = %q", r.out)
	}
	p.ok("buildpacks:add", "--index", "1", "https://github.com/heroku/heroku-buildpack-nodejs", "-a", "bpapp")
	if r := p.ok("buildpacks", "-a", "bpapp"); r.out != "=== bpapp Buildpack URLs\n1. https://github.com/heroku/heroku-buildpack-nodejs\n2. heroku/go\n" {
		t.Fatalf("buildpacks = %q", r.out)
	}
	// paasd names the official URL by its short name.
	if r := p.ok("buildpacks", "--json", "-a", "bpapp"); !strings.Contains(r.out, `"name": "heroku/nodejs"`) {
		t.Fatalf("buildpacks --json = %q", r.out)
	}
	// An unknown buildpack is refused by paasd, naming the ones it has.
	r := p.fails(1, "buildpacks:add", "heroku/cobol", "-a", "bpapp")
	contains(t, "buildpacks:add heroku/cobol", r.err, "heroku/cobol", "heroku/go, heroku/nodejs")
	p.ok("buildpacks:remove", "-i", "1", "-a", "bpapp")
	if r := p.ok("buildpacks", "--json", "-a", "bpapp"); !strings.Contains(r.out, `"url": "heroku/go"`) || strings.Contains(r.out, "nodejs") {
		t.Fatalf("buildpacks --json = %q", r.out)
	}
	p.ok("buildpacks:clear", "-a", "bpapp")
	if r := p.ok("buildpacks", "-a", "bpapp"); r.out != "⬢ bpapp has no Buildpack URL set.\n" {
		t.Fatalf("buildpacks after clear = %q", r.out)
	}
}
