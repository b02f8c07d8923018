package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// BenchmarkDecodeDrainBatch decodes a batch of one 1 KiB message with the
// fast path and with encoding/json; run it under GOOS=wasip1 too, where the
// difference matters.
func BenchmarkDecodeDrainBatch(b *testing.B) {
	batch := core.DrainBatch{DrainID: "d.0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", URL: "syslog+tls://logs.example.com:6514",
		AppName: "myapp", FrameID: "f-000001",
		Messages: []core.LogMessage{{Time: time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC), Priority: 190,
			Host: "host", App: "app", ProcID: "web.1", Text: strings.Repeat("x", 1024)}}}
	in, err := json.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var got core.DrainBatch
			if !decodeFast(in, &got) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var got core.DrainBatch
			if err := json.Unmarshal(in, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("time-only", func(b *testing.B) {
		q := []byte(`"2026-11-22T01:02:03.456789Z"`)
		for range b.N {
			var t time.Time
			if err := t.UnmarshalJSON(q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text-only", func(b *testing.B) {
		q := []byte(`"` + strings.Repeat("x", 1024) + `"`)
		for range b.N {
			d := fastDecoder{b: q}
			if _, ok := d.str(); !ok {
				b.Fatal("declined")
			}
		}
	})
}
