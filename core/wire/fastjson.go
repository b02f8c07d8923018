package wire

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paasd/paasd/core"
)

// Reflection-free JSON for the hottest messages: a drain's Deliver request
// (decoded on the plugin side) and answer, and the empty request and answer
// of Health and Configure. encoding/json's reflection costs little in a
// native process, but a Wasm guest runs it several times slower, and it was
// most of a Wasm Deliver call.
//
// The fast paths are exact on the inputs they accept and accept only a
// plain subset of JSON: the field names exactly as encoding/json writes
// them, each at most once; strings without surrogate \u escapes; integers without
// fraction or exponent; no null. Anything else (including every malformed
// input) makes them decline, and the caller falls back to encoding/json,
// so the wire format and its error messages are encoding/json's.
// FuzzDecodeFast checks the equivalence.

// decodeFast decodes b into v when v is a type with a fast path and b is in
// the accepted subset; it reports whether it did. On false, v may be
// partly written: the caller must decode into a fresh value.
func decodeFast(b []byte, v any) bool {
	switch p := v.(type) {
	case *empty:
		d := fastDecoder{b: b}
		return d.emptyObject() && d.end()
	case *core.DrainBatch:
		d := fastDecoder{b: b}
		return d.drainBatch(p) && d.end()
	case *core.DeliverResult:
		d := fastDecoder{b: b}
		return d.deliverResult(p) && d.end()
	}
	return false
}

// encodeFast encodes v when it is a type with a fast path, exactly as
// json.Marshal does.
func encodeFast(v any) ([]byte, bool) {
	switch r := v.(type) {
	case empty:
		return []byte("{}"), true
	case core.DeliverResult:
		b := make([]byte, 0, 24)
		b = append(b, `{"accepted":`...)
		b = strconv.AppendInt(b, int64(r.Accepted), 10)
		return append(b, '}'), true
	}
	return nil, false
}

// fastDecoder reads the accepted subset of JSON from b.
type fastDecoder struct {
	b   []byte
	i   int
	buf []byte // scratch for strings with escapes
}

func (d *fastDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end reports whether only white space is left.
func (d *fastDecoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// byte consumes c after optional white space.
func (d *fastDecoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peek returns the next byte after white space, or 0 at the end.
func (d *fastDecoder) peek() byte {
	d.space()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *fastDecoder) emptyObject() bool { return d.byte('{') && d.byte('}') }

// rawString returns the raw bytes of a string without escapes (no copy),
// including neither quote.
func (d *fastDecoder) rawString() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// str decodes a string: plain bytes, the escapes \" \\ \/ \b \f \n \r \t,
// and \u escapes other than surrogates. Invalid UTF-8 (which encoding/json
// replaces) and surrogate escapes decline.
//
// It avoids a loop per byte where it can: bytes.IndexByte is assembly on
// every port (wasm included), and plainASCII checks eight bytes a step. In a
// Go Wasm guest a Go loop costs tens of nanoseconds per iteration.
func (d *fastDecoder) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	q := bytes.IndexByte(d.b[start:], '"')
	if q < 0 {
		return "", false
	}
	s := d.b[start : start+q]
	if e := bytes.IndexByte(s, '\\'); e >= 0 {
		d.i = start + e
		if !validPlain(s[:e]) {
			return "", false
		}
		return d.escapedStr(start)
	}
	if !validPlain(s) {
		return "", false
	}
	d.i = start + q + 1
	return string(s), true
}

// validPlain reports whether s, a string's bytes without escapes, has no
// control character and is valid UTF-8.
func validPlain(s []byte) bool {
	if plainASCII(s) {
		return true
	}
	for _, c := range s {
		if c < 0x20 {
			return false
		}
	}
	return utf8.Valid(s)
}

// plainASCII reports whether every byte of s is in [0x20, 0x80).
func plainASCII(s []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		// A byte >= 0x80 sets its high bit in x; a byte < 0x20 (all bytes
		// being < 0x80) sets it in x - 0x20 per byte and not in x.
		if x&highs != 0 || (x-0x20*ones)&^x&highs != 0 {
			return false
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// escapedStr finishes a string that has escapes, from its first byte start.
func (d *fastDecoder) escapedStr(start int) (string, bool) {
	out := append(d.buf[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			d.buf = out
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return "", false
			}
			var r byte
			switch d.b[d.i+1] {
			case '"', '\\', '/':
				r = d.b[d.i+1]
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				// json.Marshal writes <, > and & as \u003c, \u003e and
				// \u0026. Surrogates (pairs or not) decline.
				if d.i+6 > len(d.b) {
					return "", false
				}
				v, err := strconv.ParseUint(string(d.b[d.i+2:d.i+6]), 16, 16)
				if err != nil || (v >= 0xd800 && v < 0xe000) {
					return "", false
				}
				out = utf8.AppendRune(out, rune(v))
				d.i += 6
				continue
			default:
				return "", false
			}
			out = append(out, r)
			d.i += 2
			continue
		}
		out = append(out, c)
		d.i++
	}
	return "", false
}

// integer decodes a JSON integer (no fraction, no exponent) that fits an
// int.
func (d *fastDecoder) integer() (int, bool) {
	d.space()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || (n > 1 && d.b[digits] == '0') {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, strconv.IntSize)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

// object calls field with each key of an object; keys must be plain
// strings, and each may appear once (seen tracks them by the index field
// returns; -1 declines).
func (d *fastDecoder) object(field func(key []byte) int) bool {
	if !d.byte('{') {
		return false
	}
	if d.peek() == '}' {
		d.i++
		return true
	}
	var seen uint64
	for {
		key, ok := d.rawString()
		if !ok || !d.byte(':') {
			return false
		}
		n := field(key)
		if n < 0 || n >= 64 || seen&(1<<n) != 0 {
			return false
		}
		seen |= 1 << n
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

func (d *fastDecoder) drainBatch(p *core.DrainBatch) bool {
	return d.object(func(key []byte) int {
		var ok bool
		switch string(key) {
		case "drain_id":
			p.DrainID, ok = d.str()
			return fieldIndex(0, ok)
		case "url":
			p.URL, ok = d.str()
			return fieldIndex(1, ok)
		case "app_name":
			p.AppName, ok = d.str()
			return fieldIndex(2, ok)
		case "frame_id":
			p.FrameID, ok = d.str()
			return fieldIndex(3, ok)
		case "messages":
			return fieldIndex(4, d.messages(&p.Messages))
		}
		return -1
	})
}

func fieldIndex(n int, ok bool) int {
	if !ok {
		return -1
	}
	return n
}

func (d *fastDecoder) messages(p *[]core.LogMessage) bool {
	if !d.byte('[') {
		return false
	}
	msgs := make([]core.LogMessage, 0, 4)
	if d.peek() == ']' {
		d.i++
		*p = msgs
		return true
	}
	for {
		msgs = append(msgs, core.LogMessage{})
		if !d.logMessage(&msgs[len(msgs)-1]) {
			return false
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			*p = msgs
			return true
		default:
			return false
		}
	}
}

func (d *fastDecoder) logMessage(m *core.LogMessage) bool {
	return d.object(func(key []byte) int {
		var ok bool
		switch string(key) {
		case "time":
			d.space()
			start := d.i
			raw, ok := d.rawString()
			if !ok {
				return -1
			}
			if t, ok := parseUTCTime(raw); ok {
				m.Time = t
				return 0
			}
			// time.Time's own decoder, on the quoted string: the same
			// result as encoding/json by construction.
			if err := m.Time.UnmarshalJSON(d.b[start:d.i]); err != nil {
				return -1
			}
			return 0
		case "priority":
			m.Priority, ok = d.integer()
			return fieldIndex(1, ok)
		case "host":
			m.Host, ok = d.str()
			return fieldIndex(2, ok)
		case "app":
			m.App, ok = d.str()
			return fieldIndex(3, ok)
		case "procid":
			m.ProcID, ok = d.str()
			return fieldIndex(4, ok)
		case "msgid":
			m.MsgID, ok = d.str()
			return fieldIndex(5, ok)
		case "text":
			m.Text, ok = d.str()
			return fieldIndex(6, ok)
		}
		return -1
	})
}

func (d *fastDecoder) deliverResult(p *core.DeliverResult) bool {
	return d.object(func(key []byte) int {
		if string(key) != "accepted" {
			return -1
		}
		var ok bool
		p.Accepted, ok = d.integer()
		return fieldIndex(0, ok)
	})
}

// parseUTCTime parses the times json.Marshal writes for UTC times,
// "2006-01-02T15:04:05Z" with an optional fraction of 1 to 9 digits, into
// exactly what time.Time.UnmarshalJSON returns for them (time.Parse builds
// the same time.Date in UTC). Anything else declines.
func parseUTCTime(b []byte) (time.Time, bool) {
	n := len(b)
	if n < 20 || b[n-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if n > 20 {
		frac := b[19 : n-1]
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return time.Time{}, false
		}
		v, ok := digits(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			v *= 10
		}
		nsec = v
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // e.g. February 30th: time.Parse refuses it
		return time.Time{}, false
	}
	return t, true
}

// digits parses b, ASCII digits only.
func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
