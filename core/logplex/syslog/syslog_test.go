package syslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

var sample = core.LogMessage{
	Time:     time.Date(2026, 11, 22, 1, 2, 3, 123456789, time.UTC),
	Priority: 190,
	Host:     "host",
	App:      "app",
	ProcID:   "web.1",
	Text:     "Starting process with command `bundle exec puma -C config/puma.rb`",
}

func TestAppendMessage(t *testing.T) {
	tests := []struct {
		desc string
		m    core.LogMessage
		f    Flavor
		want string
	}{
		{"heroku flavour", sample, Heroku,
			"<190>1 2026-11-22T01:02:03.123456+00:00 host app web.1 - Starting process with command `bundle exec puma -C config/puma.rb`"},
		{"rfc5424 flavour adds the NILVALUE structured data", sample, RFC5424,
			"<190>1 2026-11-22T01:02:03.123456+00:00 host app web.1 - - Starting process with command `bundle exec puma -C config/puma.rb`"},
		{"non-UTC time is rendered in UTC", core.LogMessage{Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)), Priority: 45, Host: "host", App: "heroku", ProcID: "router", Text: "x"}, Heroku,
			"<45>1 2026-01-02T02:04:05.000006+00:00 host heroku router - x"},
		{"empty fields and zero time are NILVALUE", core.LogMessage{}, Heroku, "<0>1 - - - - - "},
		{"bad priority becomes 190, spaces in fields become _", core.LogMessage{Priority: 999, Host: "my host", App: "app", ProcID: "web.1", MsgID: "m", Text: "t"}, Heroku,
			"<190>1 - my_host app web.1 m t"},
		{"long app name is truncated", core.LogMessage{Priority: 1, App: strings.Repeat("a", 60)}, Heroku,
			"<1>1 - - " + strings.Repeat("a", 48) + " - - "},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := string(AppendMessage(nil, tc.m, tc.f))
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if n := MessageLen(tc.m, tc.f); n != len(got) {
				t.Errorf("MessageLen = %d, rendered %d bytes", n, len(got))
			}
		})
	}
}

func TestAppendFrameAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendFrame(buf[:0], sample, RFC5424)
	})
	if allocs != 0 {
		t.Errorf("AppendFrame allocated %.1f times per frame, want 0", allocs)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []Flavor{Heroku, RFC5424} {
		for _, text := range []string{"plain", "- leading dash", "[bracket] text", "", "ünïcödé ✓"} {
			t.Run(f.String()+"/"+text, func(t *testing.T) {
				m := sample
				m.Text = text
				m.Time = m.Time.Truncate(time.Microsecond)
				if f == Heroku && (strings.HasPrefix(text, "- ") || strings.HasPrefix(text, "[")) {
					t.Skip("ambiguous in Heroku's flavour: text looks like STRUCTURED-DATA")
				}
				got, err := Parse(AppendMessage(nil, m, f))
				if err != nil {
					t.Fatal(err)
				}
				if !got.Time.Equal(m.Time) {
					t.Errorf("time %v, want %v", got.Time, m.Time)
				}
				got.Time = m.Time
				if got != m {
					t.Errorf("got %+v\nwant %+v", got, m)
				}
			})
		}
	}
}

// TestParseGolden runs testdata/parse.txt: each input line followed by
// "=> " and the expected message as JSON, or "=> error: <substring>".
func TestParseGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/parse.txt")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines)%2 != 0 {
		t.Fatalf("testdata/parse.txt: %d lines, want input/expectation pairs", len(lines))
	}
	for i := 0; i < len(lines); i += 2 {
		in, want := lines[i], strings.TrimPrefix(lines[i+1], "=> ")
		t.Run(in, func(t *testing.T) {
			m, err := Parse([]byte(in))
			if sub, ok := strings.CutPrefix(want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), sub) || !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, sub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(m)
			var a, b any
			_ = json.Unmarshal(got, &a)
			if err := json.Unmarshal([]byte(want), &b); err != nil {
				t.Fatalf("bad golden JSON: %v", err)
			}
			ga, _ := json.Marshal(a)
			gb, _ := json.Marshal(b)
			if !bytes.Equal(ga, gb) {
				t.Errorf("got  %s\nwant %s", ga, gb)
			}
		})
	}
}

func TestDecoder(t *testing.T) {
	var body []byte
	for _, text := range []string{"one", "two", "three"} {
		m := sample
		m.Text = text
		body = AppendFrame(body, m, Heroku)
	}
	msgs, err := ParseFrames(body, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[0].Text != "one" || msgs[2].Text != "three" {
		t.Fatalf("got %+v", msgs)
	}

	tests := []struct {
		desc, in string
		max      int
		want     error
		sub      string
	}{
		{"clean end", "", 0, io.EOF, ""},
		{"end inside the length", "12", 0, io.ErrUnexpectedEOF, ""},
		{"end inside the message", "10 <190>1", 0, io.ErrUnexpectedEOF, ""},
		{"non-digit length", "1a <190>", 0, core.ErrInvalid, "MSG-LEN"},
		{"leading zero", "05 hello", 0, core.ErrInvalid, "starts with 0"},
		{"empty length", " hello", 0, core.ErrInvalid, "empty MSG-LEN"},
		{"over the limit", "99999999999999999999 x", 100, core.ErrInvalid, "100-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := NewDecoder(strings.NewReader(tc.in), tc.max).Next()
			if !errors.Is(err, tc.want) || !strings.Contains(errString(err), tc.sub) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.sub)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("testdata/parse.txt")
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "<") {
			f.Add([]byte(l))
		}
	}
	f.Add(AppendMessage(nil, sample, RFC5424))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// What parsed must render and parse back to the same header.
		m2, err := Parse(AppendMessage(nil, m, RFC5424))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", AppendMessage(nil, m, RFC5424), err)
		}
		if m2.Priority != m.Priority || m2.Host != m.Host || m2.App != m.App || m2.ProcID != m.ProcID || m2.MsgID != m.MsgID {
			t.Fatalf("header changed: %+v -> %+v", m, m2)
		}
		// The caching Encoder renders exactly what AppendMessage does.
		e := Encoder{Flavor: RFC5424}
		if a, b := e.AppendFrame(nil, m), AppendFrame(nil, m, RFC5424); string(a) != string(b) {
			t.Fatalf("Encoder %q != AppendFrame %q", a, b)
		}
	})
}

func FuzzFrames(f *testing.F) {
	f.Add([]byte("3 abc4 defg"), 16)
	f.Add(AppendFrame(AppendFrame(nil, sample, Heroku), sample, RFC5424), 0)
	f.Add([]byte("0 "), 10)
	f.Add([]byte("99999999999999999999999 x"), 10)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max > 1<<20 {
			max = 1 << 20
		}
		d := NewDecoder(bytes.NewReader(b), max)
		limit := max
		if limit <= 0 {
			limit = DefaultMaxMessage
		}
		total := 0
		for {
			frame, err := d.Next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("unexpected error type: %v", err)
				}
				return
			}
			if len(frame) > limit {
				t.Fatalf("frame of %d bytes over the %d limit", len(frame), limit)
			}
			total += len(frame)
			if total > len(b) {
				t.Fatalf("decoded more bytes than the input holds")
			}
		}
	})
}

func BenchmarkAppendFrame(b *testing.B) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], sample, RFC5424)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParse(b *testing.B) {
	msg := AppendMessage(nil, sample, RFC5424)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEncoderMatchesAppendFrame(t *testing.T) {
	var e Encoder
	e.Flavor = RFC5424
	base := sample.Time
	for i, d := range []time.Duration{0, time.Microsecond, 999 * time.Millisecond, time.Second, 36 * time.Hour, -time.Hour} {
		m := sample
		m.Time = base.Add(d)
		got := string(e.AppendFrame(nil, m))
		want := string(AppendFrame(nil, m, RFC5424))
		if got != want {
			t.Errorf("case %d: got %q, want %q", i, got, want)
		}
	}
	m := sample
	m.Time = time.Time{}
	if got, want := string(e.AppendFrame(nil, m)), string(AppendFrame(nil, m, RFC5424)); got != want {
		t.Errorf("zero time: got %q, want %q", got, want)
	}
}

func BenchmarkEncoderAppendFrame(b *testing.B) {
	buf := make([]byte, 0, 1024)
	e := Encoder{Flavor: RFC5424}
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendFrame(buf[:0], sample)
	}
}
