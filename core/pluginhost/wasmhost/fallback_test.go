package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

// TestUninstrumentableModuleFallsBack: a module using SIMD is not rewritten
// but still loads and runs (with wazero's context watching), and the host
// says why in its log.
func TestUninstrumentableModuleFallsBack(t *testing.T) {
	// One function () -> i32: v128.const 0; drop; i32.const 1; end,
	// exported as the ABI version.
	code := append([]byte{0x00, 0xfd, 0x0c}, make([]byte, 16)...)
	code = append(code, 0x1a, 0x41, 0x01, 0x0b)
	export := append([]byte{0x01, byte(len(ExportABIVersion))}, ExportABIVersion...)
	export = append(export, 0x00, 0x00)
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = append(bin, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f) // type () -> i32
	bin = append(bin, 0x03, 0x02, 0x01, 0x00)                   // one function of type 0
	bin = append(bin, 0x07, byte(len(export)))
	bin = append(bin, export...)
	bin = append(bin, 0x0a, byte(len(code)+2), 0x01, byte(len(code)))
	bin = append(bin, code...)
	path := filepath.Join(t.TempDir(), "simd.wasm")
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	o := New(Options{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer o.Close()
	// It gets as far as the ABI version (run in the guest) and then lacks
	// paasd_alloc.
	_, err := o.OpenModule(context.Background(), path, core.ContractDrain)
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), ExportAlloc) {
		t.Fatalf("err = %v, want ErrInvalid naming %s", err, ExportAlloc)
	}
	if !strings.Contains(logs.String(), "not instrumented") || !strings.Contains(logs.String(), "SIMD") {
		t.Fatalf("log does not say why the module was not instrumented:\n%s", logs.String())
	}
}
