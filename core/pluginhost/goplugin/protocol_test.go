package goplugin

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

func TestFrames(t *testing.T) {
	tests := []struct {
		desc    string
		frame   []byte
		wantOut string
		wantErr error
	}{
		{desc: "result", frame: []byte(`R{"accepted":2}`), wantOut: `{"accepted":2}`},
		{desc: "empty result", frame: []byte(`R`), wantOut: ``},
		{desc: "plugin error", frame: append([]byte{'E'}, wire.EncodeError(fmt.Errorf("no app: %w", core.ErrNotFound))...), wantErr: core.ErrNotFound},
		{desc: "empty frame", frame: nil, wantErr: core.ErrPluginFailed},
		{desc: "unknown tag", frame: []byte(`X{}`), wantErr: core.ErrPluginFailed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out, err := decodeAnswer(wrapperspb.Bytes(tt.frame))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("decodeAnswer = %q, %v; want %v", out, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(out) != tt.wantOut {
				t.Fatalf("decodeAnswer = %q, %v; want %q", out, err, tt.wantOut)
			}
		})
	}
	if _, _, err := decodeRequest(wrapperspb.Bytes([]byte("no separator"))); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("decodeRequest without a method = %v; want ErrInvalid", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add("Deliver", []byte(`{"drain_id":"d.1"}`))
	f.Add("", []byte{})
	f.Add("Describe", []byte{0, 0, 'x'})
	f.Fuzz(func(t *testing.T, method string, req []byte) {
		if bytes.IndexByte([]byte(method), 0) >= 0 {
			t.Skip("method names carry no NUL")
		}
		m, r, err := decodeRequest(encodeRequest(method, req))
		if err != nil || m != method || !bytes.Equal(r, req) {
			t.Fatalf("round trip of (%q, %q) = (%q, %q, %v)", method, req, m, r, err)
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add([]byte(`R{"accepted":1}`))
	f.Add([]byte(`E{"code":"not_found","message":"x"}`))
	f.Add([]byte(`E not json`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		out, err := decodeAnswer(wrapperspb.Bytes(frame))
		if err == nil && (len(frame) == 0 || frame[0] != tagResult || !bytes.Equal(out, frame[1:])) {
			t.Fatalf("decodeAnswer(%q) = %q with no error", frame, out)
		}
		if err != nil && err.Error() == "" {
			t.Fatalf("decodeAnswer(%q): empty error message", frame)
		}
	})
}
