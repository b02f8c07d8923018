package schemas

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// drainBatch1K returns a DrainBatch of about 1 KiB of JSON.
func drainBatch1K(tb testing.TB) []byte {
	tb.Helper()
	b := core.DrainBatch{
		DrainID: "d.01234567-89ab-cdef-0123-456789abcdef",
		URL:     "syslog+tls://logs.example.com:6514",
		AppName: "myapp",
		FrameID: "f-1",
	}
	for i := 0; i < 5; i++ {
		b.Messages = append(b.Messages, core.LogMessage{
			Time: time.Date(2024, 5, 1, 12, 0, i, 0, time.UTC), Priority: 190, Host: "host", App: "app",
			ProcID: fmt.Sprintf("web.%d", i+1), Text: "GET /healthz 200 in 1.2ms " + strings.Repeat("x", 60),
		})
	}
	data, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func pluginInfo(tb testing.TB) []byte {
	tb.Helper()
	data, err := json.Marshal(core.PluginInfo{ID: "paasd.drain.syslog", Contract: core.ContractDrain, APIVersions: []int{1}, Version: "0.1.0", Capabilities: []string{"dedup"}, ConfigSchema: "timeout?: int"})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkValidate measures CUE validation per message next to its peer,
// plain json.Unmarshal of the same bytes into the Go type, in the same run.
func BenchmarkValidate(b *testing.B) {
	v := newValidator(b)
	cases := []struct {
		name, def string
		data      []byte
		decode    func([]byte) error
	}{
		{"DrainBatch1KiB", "#DrainBatch", drainBatch1K(b), func(d []byte) error { var x core.DrainBatch; return json.Unmarshal(d, &x) }},
		{"PluginInfo", "#PluginInfo", pluginInfo(b), func(d []byte) error { var x core.PluginInfo; return json.Unmarshal(d, &x) }},
	}
	for _, c := range cases {
		if err := v.Validate(c.def, c.data); err != nil {
			b.Fatal(err)
		}
		// Every iteration validates new bytes (a counter in a string
		// field), so the memo of passed documents never hits: the cost of
		// a CUE evaluation.
		b.Run(c.name+"/cue", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			i := 0
			for b.Loop() {
				i++
				d := vary(c.data, i)
				if err := v.Validate(c.def, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The same bytes again: what a repetitive plugin answer costs.
		b.Run(c.name+"/cue-repeat", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if err := v.Validate(c.def, c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/json.Unmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if err := c.decode(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew measures compiling the embedded schemas (also the cost of
// each context recycle).
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

// vary returns data with its first "1" digit inside a string value replaced by
// a counter, so that each call gets distinct, still valid bytes.
func vary(data []byte, i int) []byte {
	s := string(data)
	for _, field := range []string{`"frame_id":"`, `"version":"`} {
		if j := strings.Index(s, field); j >= 0 {
			k := j + len(field)
			return []byte(s[:k] + fmt.Sprintf("v%d-", i) + s[k:])
		}
	}
	return data
}
