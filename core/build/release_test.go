package build_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/core/dynos"
)

// TestRunReleasePhase runs release commands in one-off dynos of a real
// dyno manager over the process runtime, on a slug made by CreateSlug.
func TestRunReleasePhase(t *testing.T) {
	rt := newRuntime(t, processRT)
	m := dynos.New(rt, dynos.Options{CycleEvery: -1})
	t.Cleanup(m.Close)
	slugs := t.TempDir()
	marker := filepath.Join(t.TempDir(), "migrated")
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "migrate.sh"), []byte("#!/bin/sh\necho migrating; echo \"$RELEASE_VAR\" > \""+marker+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, _, err := build.CreateSlug(context.Background(), src, slugs, 0)
	if err != nil {
		t.Fatal(err)
	}
	slugPath := build.SlugFile(slugs, sum)
	tests := []struct {
		desc        string
		types       map[string]string
		timeout     time.Duration
		wantRan     bool
		wantPromote bool
		wantStatus  string
		wantCode    int
		wantMarker  bool
	}{
		{desc: "no release type promotes at once", types: map[string]string{"web": "x"}, wantPromote: true, wantStatus: core.ReleaseSucceeded},
		{desc: "release exits 0", types: map[string]string{"release": "./migrate.sh"}, wantRan: true, wantPromote: true,
			wantStatus: core.ReleaseSucceeded, wantMarker: true},
		{desc: "release exits non-zero", types: map[string]string{"release": "exit 3"}, wantRan: true, wantStatus: core.ReleaseFailed, wantCode: 3},
		{desc: "release times out", types: map[string]string{"release": "sleep 600"}, timeout: 500 * time.Millisecond, wantRan: true,
			wantStatus: core.ReleaseFailed, wantCode: -1},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_ = os.Remove(marker)
			var out bytes.Buffer
			d, err := build.RunReleasePhase(context.Background(), m, build.ReleasePhase{
				App: "relapp", ProcessTypes: tc.types, Timeout: tc.timeout, Output: &out,
				Release: dynos.Desired{Release: i + 1, Slug: slugPath, Config: map[string]string{"RELEASE_VAR": "v-config"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if d.Ran != tc.wantRan || d.Promote != tc.wantPromote || d.Status != tc.wantStatus || d.ExitCode != tc.wantCode {
				t.Fatalf("decision = %+v, want ran=%v promote=%v status=%s code=%d\n%s", d, tc.wantRan, tc.wantPromote, tc.wantStatus, tc.wantCode, out.String())
			}
			b, err := os.ReadFile(marker)
			if tc.wantMarker && (err != nil || strings.TrimSpace(string(b)) != "v-config") {
				t.Fatalf("release command did not run with the release's config: %v %q", err, b)
			}
			if !tc.wantPromote && d.Reason == "" {
				t.Fatalf("failed release has no reason")
			}
		})
	}
}
