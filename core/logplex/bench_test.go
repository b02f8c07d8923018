package logplex

import (
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

const benchText = `at=info method=GET path="/" host=myapp.example.com request_id=1 fwd="10.0.0.1" dyno=web.1 connect=0ms service=3ms status=200 bytes=1234`

// BenchmarkWriteLine measures one router-style line into an app with a live
// tail, no drain.
func BenchmarkWriteLine(b *testing.B) {
	lp := New(Config{})
	defer lp.Close()
	t, _ := lp.Tail("bench", TailOptions{})
	defer t.Close()
	b.ReportAllocs()
	buf := make([]core.LogMessage, 0, DefaultTailBuffer)
	i := 0
	for b.Loop() {
		_ = lp.Router("bench", benchText)
		if i++; i%512 == 0 {
			buf, _ = t.Next(b.Context(), buf)
		}
	}
}

// BenchmarkDynoWrite measures dyno output arriving 64 lines per write.
func BenchmarkDynoWrite(b *testing.B) {
	lp := New(Config{})
	defer lp.Close()
	w := lp.Dyno("bench", "web.1")
	chunk := []byte(strings.Repeat(benchText+"\n", 64))
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		_, _ = w.Write(chunk)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "lines/s")
}
