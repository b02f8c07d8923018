package wasmguest

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestModulesCompile(t *testing.T) {
	for _, tc := range []struct {
		desc string
		mod  []byte
	}{
		{desc: "add header", mod: AddHeader("X-A", "X-B", "v")},
		{desc: "loop", mod: Loop()},
		{desc: "loop with SIMD", mod: LoopSIMD()},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ctx := context.Background()
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			cm, err := rt.CompileModule(ctx, tc.mod)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			for _, fn := range []string{"handle_request", "handle_response"} {
				if cm.ExportedFunctions()[fn] == nil {
					t.Errorf("%s not exported", fn)
				}
			}
		})
	}
}
