package dynoplugin_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/schemas"
)

// BenchmarkBuild measures one Detect + Compile + Release of the example
// static buildpack over go-plugin, side by side: "host" is the plugin as a
// host process (loaded once, as paasd did before), "dyno" each call in its
// own runc build dyno (paasd's path now).
func BenchmarkBuild(b *testing.B) {
	bin := buildPlugin(b, "github.com/paasd/paasd/sdk/examples/buildpack-static")
	for _, where := range []string{"host", "dyno"} {
		b.Run(where, func(b *testing.B) {
			var bp core.Buildpack
			switch where {
			case "host":
				v, err := schemas.New()
				if err != nil {
					b.Fatal(err)
				}
				log := slog.New(slog.DiscardHandler)
				h := &pluginhost.Host{Validator: v, GoPlugin: &goplugin.Opener{Logger: log}, Logger: log}
				defer h.Close()
				target := conformance.HostBuildpack(h, "plugin:"+bin, nil)
				p, release, err := target.New(context.Background(), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = release() }()
				bp = p
			case "dyno":
				bp = newBuildpack(b, newRuntime(b), bin)
			}
			ctx := context.Background()
			build := filepath.Join(b.TempDir(), "build")
			cache, env := b.TempDir(), b.TempDir()
			if err := os.MkdirAll(filepath.Join(build, "public"), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(build, "public", "index.html"), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if d, err := bp.Detect(ctx, core.DetectRequest{BuildDir: build}); err != nil || !d.Detected {
					b.Fatal(d, err)
				}
				if _, err := bp.Compile(ctx, core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: io.Discard}); err != nil {
					b.Fatal(err)
				}
				if _, err := bp.Release(ctx, core.ReleaseRequest{BuildDir: build}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
