package attach_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/attach"
)

// FuzzReadFrame: any byte stream either decodes into frames that
// re-encode to the same bytes, or fails with io.EOF or ErrProtocol.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	attach.WriteFrame(&seed, attach.FrameStdin, []byte("ls\n"))
	attach.WriteFrame(&seed, attach.FrameResize, attach.ResizePayload(core.TermSize{Rows: 24, Cols: 80}))
	attach.WriteFrame(&seed, attach.FrameStdinEOF, nil)
	attach.WriteFrame(&seed, attach.FrameExit, attach.ExitPayload(3))
	f.Add(seed.Bytes())
	f.Add([]byte{'x', 0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{'o', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'?', 0, 0, 0, 0})
	f.Add([]byte{'i', 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var again bytes.Buffer
		consumed := 0
		for {
			fr, err := attach.ReadFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, attach.ErrProtocol) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, io.EOF) && consumed != len(data) {
					t.Fatalf("EOF after %d of %d bytes", consumed, len(data))
				}
				break
			}
			if len(fr.Payload) > attach.MaxPayload {
				t.Fatalf("payload of %d bytes", len(fr.Payload))
			}
			if err := attach.WriteFrame(&again, fr.Type, fr.Payload); err != nil {
				t.Fatal(err)
			}
			consumed = len(data) - r.Len()
		}
		if !bytes.Equal(again.Bytes(), data[:consumed]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
