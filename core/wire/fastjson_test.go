package wire

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// fastSeeds are inputs for the fast paths: ones they accept and ones they
// must decline.
var fastSeeds = []string{
	`{}`,
	` { } `,
	`{"accepted":3}`,
	`{"accepted":-0}`,
	`{"accepted":1.5}`,
	`{"accepted":1e3}`,
	`{"accepted":01}`,
	`{"accepted":99999999999999999999}`,
	`{"Accepted":3}`,
	`{"accepted":3,"accepted":4}`,
	`{"drain_id":"d.1","url":"syslog://127.0.0.1:514","app_name":"myapp","frame_id":"f-1","messages":[{"time":"2026-11-22T01:02:03.456789Z","priority":190,"host":"host","app":"app","procid":"web.1","text":"hello"}]}`,
	`{"drain_id":"d.1","messages":[]}`,
	`{"drain_id":"d.1","messages":null}`,
	`{"drain_id":null}`,
	`{"messages":[{"text":"tab\there \"quoted\" back\\slash \/ \b\f\n\r"}]}`,
	`{"messages":[{"text":"\u00e9 \u003c\u0026\u003e \ud83d\ude00 \udc00 \u+123"}]}`,
	`{"messages":[{"text":"héllo wörld"}]}`,
	"{\"messages\":[{\"text\":\"bad \xff utf8\"}]}",
	`{"messages":[{"time":"2026-11-22T01:02:03+01:00","msgid":"-"}]}`,
	`{"messages":[{"time":"not a time"}]}`,
	`{"messages":[{"time":"2026-11-22T01:02:03Z","time":"2026-11-22T01:02:04Z"}]}`,
	`{"messages":[{},{"priority":-1}],"extra":1}`,
	"{\"text\":\"0123456789abcdef\x1f0123\"}",
	"{\"messages\":[{\"text\":\"0123456789abcdef\x1f0123\"}]}",
	"{\"messages\":[{\"text\":\"0123456789abcdef\x7f\x800123\"}]}",
	"{\"messages\":[{\"text\":\"0123456789\u00e9abcdef\\n0123\x01\"}]}",
	"{\"messages\":[{\"text\":\"0123456789 \x20\x21~\x7f 0123456789\"}]}",
	`{"messages":[{"time":"2026-02-29T01:02:03Z"},{"time":"2024-02-29T23:59:59.999999999Z"}]}`,
	`{"messages":[{"time":"2026-11-22T01:02:03.Z"},{"time":"2026-11-22T01:02:03.1234567891Z"}]}`,
	`{"messages":[{"time":"2026-11-22T24:02:03Z"},{"time":"0000-01-01T00:00:00.5Z"}]}`,
	`{"messages":[{"time":"2026-11-22T01:02:60Z"},{"time":"2026-13-22T01:02:03Z"}]}`,
	`{"messages":[{"time":"2026-11-22t01:02:03z"},{"time":"+026-11-22T01:02:03Z"}]}`,
	`{"drain_id":"a"} x`,
	`{"drain_id":"a",}`,
	`[1]`,
	``,
	`{"drain_id":"a"`,
	`{"drain_id" "a"}`,
}

// FuzzDecodeFast checks that whenever a fast path accepts an input,
// encoding/json accepts it too and decodes the same value, and that the
// fast encoders write what json.Marshal writes.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast[core.DrainBatch](t, b)
		checkFast[core.DeliverResult](t, b)
		checkFast[empty](t, b)
	})
}

func checkFast[T any](t *testing.T, b []byte) {
	t.Helper()
	var fast T
	if !decodeFast(b, &fast) {
		return
	}
	var slow T
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Fatalf("%T: fast path accepted %q, encoding/json rejects it: %v", fast, b, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%T: %q decodes to\n%#v (fast)\n%#v (encoding/json)", fast, b, fast, slow)
	}
	if out, ok := encodeFast(fast); ok {
		want, err := json.Marshal(fast)
		if err != nil || string(out) != string(want) {
			t.Fatalf("%T: fast encoding %q, json.Marshal %q (%v)", fast, out, want, err)
		}
	}
}

func TestDecodeFast(t *testing.T) {
	batch := core.DrainBatch{DrainID: "d.1", URL: "syslog://127.0.0.1:514", AppName: "myapp", FrameID: "f-1",
		Messages: []core.LogMessage{{Time: time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC), Priority: 190,
			Host: "host", App: "app", ProcID: "web.1", MsgID: "-", Text: strings.Repeat("x", 1024) + "\t\"<&>\""}}}
	enc, err := json.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc   string
		in     string
		accept bool
	}{
		{desc: "a batch as json.Marshal writes it", in: string(enc), accept: true},
		{desc: "white space between tokens", in: " {\n\"drain_id\" : \"a\" ,\t\"messages\" : [ ] } ", accept: true},
		{desc: "a \\u escape", in: `{"drain_id":"\u0061\u00e9\u20ac"}`, accept: true},
		{desc: "a surrogate pair goes to encoding/json", in: `{"drain_id":"\ud83d\ude00"}`},
		{desc: "a short \\u escape is declined", in: `{"drain_id":"\u00"}`},
		{desc: "a \\u escape with a sign is declined", in: `{"drain_id":"\u+0ff"}`},
		{desc: "a field name in another case goes to encoding/json", in: `{"Drain_ID":"a"}`},
		{desc: "an unknown field goes to encoding/json", in: `{"drain_id":"a","x":1}`},
		{desc: "a repeated field goes to encoding/json", in: `{"url":"a","url":"b"}`},
		{desc: "null goes to encoding/json", in: `{"url":null}`},
		{desc: "trailing data is declined", in: `{"url":"a"}{}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got core.DrainBatch
			if ok := decodeFast([]byte(tc.in), &got); ok != tc.accept {
				t.Fatalf("decodeFast(%q) = %v; want %v", tc.in, ok, tc.accept)
			}
			checkFast[core.DrainBatch](t, []byte(tc.in))
		})
	}
	var got core.DrainBatch
	if !decodeFast(enc, &got) || !reflect.DeepEqual(got, batch) {
		t.Fatalf("round trip = %+v; want %+v", got, batch)
	}
}

// TestHandleFallsBack checks that a request outside the fast subset still
// decodes (through encoding/json) and a malformed one still fails.
func TestHandleFallsBack(t *testing.T) {
	m := NewDrainMux(countingDrain{})
	tests := []struct {
		desc, in, want string
		fails          bool
	}{
		{desc: "fast", in: `{"messages":[{"text":"a"},{"text":"b"}]}`, want: `{"accepted":2}`},
		{desc: "surrogate escape, slow path", in: `{"messages":[{"text":"\ud83d\ude00"}]}`, want: `{"accepted":1}`},
		{desc: "fast path partly written then declined", in: `{"drain_id":"a","messages":[{"text":"a"},{"text":"b"}],"Messages":[{}]}`, want: `{"accepted":1}`},
		{desc: "malformed", in: `{"messages":[`, fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			out, err := m.Call(t.Context(), MethodDeliver, []byte(tc.in))
			if tc.fails {
				if err == nil {
					t.Fatalf("Deliver(%s) = %s; want an error", tc.in, out)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Fatalf("Deliver(%s) = %s, %v; want %s", tc.in, out, err, tc.want)
			}
		})
	}
}

// countingDrain accepts every message.
type countingDrain struct{}

var _ core.LogDrain = countingDrain{}

func (countingDrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.counting", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}
func (countingDrain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (countingDrain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

func TestPlainASCII(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want bool
	}{
		{desc: "empty", in: "", want: true},
		{desc: "printable, several words", in: " !~\x7f0123456789abcdefABCDEF", want: true},
		{desc: "control byte in a word", in: "0123456\x1f89abcdef", want: false},
		{desc: "control byte in the tail", in: "0123456789\x00", want: false},
		{desc: "high byte in a word", in: "01\xe9456789abcdef", want: false},
		{desc: "high byte in the tail", in: "0123456789\xff", want: false},
		{desc: "space is fine, 0x1f is not", in: "                \x1f", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := plainASCII([]byte(tc.in)); got != tc.want {
				t.Fatalf("plainASCII(%q) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}
