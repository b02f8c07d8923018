package process

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
)

func TestMain(m *testing.M) {
	conformance.RunRuntimeApp()
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(startAndExit(dir))
	}
	os.Exit(m.Run())
}

// TestConformance runs the dyno runtime suite against real host processes.
func TestConformance(t *testing.T) {
	conformance.Runtime(t, conformance.RuntimeTarget{
		New: func(ctx context.Context, dir string) (core.DynoRuntime, error) {
			return New(Config{StateDir: dir})
		},
	})
}

func TestStartInvalid(t *testing.T) {
	r, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		spec core.DynoSpec
		want error
	}{
		{desc: "empty id", spec: core.DynoSpec{Command: "true"}, want: core.ErrInvalid},
		{desc: "id with slash", spec: core.DynoSpec{ID: "a/b", Command: "true"}, want: core.ErrInvalid},
		{desc: "empty command", spec: core.DynoSpec{ID: "a"}, want: core.ErrInvalid},
		{desc: "remapped mount", spec: core.DynoSpec{ID: "a", Command: "true", Mounts: []core.Mount{{Source: "/x", Target: "/y"}}}, want: core.ErrUnsupported},
		{desc: "missing slug", spec: core.DynoSpec{ID: "a", Command: "true", Slug: "/nonexistent.tgz"}, want: os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := r.Start(context.Background(), tc.spec); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if _, err := r.Inspect(context.Background(), tc.spec.ID); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("failed start left dyno behind: %v", err)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	r := &Runtime{}
	if err := r.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: []byte(`{"state_dir": 5}`)}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("bad config: %v, want ErrInvalid", err)
	}
	if err := r.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: []byte(`{"state_dir": "` + t.TempDir() + `"}`)}); err != nil {
		t.Fatal(err)
	}
}
