package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk/examples/buildpack-static/static"
)

// BenchmarkBuild measures one Detect + Compile + Release of the example app
// per transport: in process, over go-plugin, over Wasm (a fresh instance per
// call, with the dirs mounted).
func BenchmarkBuild(b *testing.B) {
	for _, tr := range []string{"inprocess", "goplugin", "wasm"} {
		b.Run(tr, func(b *testing.B) {
			var target conformance.BuildpackTarget
			switch tr {
			case "inprocess":
				target = conformance.InProcessBuildpack(func() core.Buildpack { return static.New("") }, nil)
			case "goplugin":
				target = conformance.HostBuildpack(host(b), "plugin:"+buildPlugin(b, "."), nil)
			case "wasm":
				target = conformance.HostBuildpack(host(b), "wasm:"+buildPlugin(b, "./wasm"), nil)
			}
			ctx := context.Background()
			bp, release, err := target.New(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if release != nil {
				defer func() { _ = release() }()
			}
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
