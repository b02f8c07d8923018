package runc

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

func TestMain(m *testing.M) {
	Init()
	conformance.RunRuntimeApp()
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(startAndExit(dir))
	}
	os.Exit(m.Run())
}

// testConfig keeps the tests' dynos on their own bridge and subnet, away
// from a paasd running on the same host.
func testConfig(dir string) Config {
	return Config{StateDir: dir, Bridge: "paasdtest0", Subnet: "10.246.0.0/16", CgroupParent: "/paasd-test"}
}

// TestConformance runs the dyno runtime suite against real containers.
func TestConformance(t *testing.T) {
	testenv.NeedRoot(t)
	conformance.Runtime(t, conformance.RuntimeTarget{
		New: func(ctx context.Context, dir string) (core.DynoRuntime, error) {
			return New(testConfig(dir))
		},
	})
}

func TestStartInvalid(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(testConfig(t.TempDir()))
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
		{desc: "relative mount", spec: core.DynoSpec{ID: "a", Command: "true", Mounts: []core.Mount{{Source: "x", Target: "/y"}}}, want: core.ErrInvalid},
		{desc: "bad stack name", spec: core.DynoSpec{ID: "a", Command: "true", Stack: "../etc"}, want: core.ErrInvalid},
		{desc: "unknown stack", spec: core.DynoSpec{ID: "a", Command: "true", Stack: "heroku-99"}, want: core.ErrNotFound},
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

func TestConfigureInvalid(t *testing.T) {
	tests := []struct {
		desc string
		cfg  string
	}{
		{desc: "not json", cfg: `{`},
		{desc: "bad subnet", cfg: `{"subnet": "10.0.0.0"}`},
		{desc: "ipv6 subnet", cfg: `{"subnet": "fd00::/64"}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := &Runtime{}
			err := r.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: []byte(tc.cfg)})
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}
