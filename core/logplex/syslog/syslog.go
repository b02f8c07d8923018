// Package syslog renders and parses log messages the way Logplex carries
// them: RFC 5424 messages, framed with RFC 6587 octet counting
// ("<len> <msg>").
//
// Formatting appends into a caller's []byte and allocates nothing, so that
// a drain can reuse one buffer for every frame it writes. Parsing and the
// frame [Decoder] enforce size limits and return errors wrapping
// core.ErrInvalid that say what was wrong and where.
//
// # Notes
//
// Heroku's Logplex sends RFC 5424 headers without the STRUCTURED-DATA field:
//
//	<190>1 2026-11-22T01:02:03.123456+00:00 host app web.1 - text
//
// ([Heroku] flavour, what HTTPS drains receive). Strict receivers such as
// rsyslog expect the NILVALUE for STRUCTURED-DATA before the text:
//
//	<190>1 2026-11-22T01:02:03.123456+00:00 host app web.1 - - text
//
// ([RFC5424] flavour). Both flavours parse back to the same message.
package syslog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/paasd/paasd/core"
)

// Flavor selects the header layout of a rendered message.
type Flavor int

const (
	// Heroku renders "<PRI>1 TIMESTAMP HOST APP PROCID MSGID TEXT", as
	// Heroku's Logplex does (no STRUCTURED-DATA field).
	Heroku Flavor = iota
	// RFC5424 renders "<PRI>1 TIMESTAMP HOST APP PROCID MSGID - TEXT", with
	// the NILVALUE for STRUCTURED-DATA, as strict RFC 5424 receivers expect.
	RFC5424
)

// String names the flavour.
func (f Flavor) String() string {
	if f == RFC5424 {
		return "rfc5424"
	}
	return "heroku"
}

// Limits from RFC 5424 §6 and Logplex.
const (
	// MaxHostname, MaxAppName, MaxProcID and MaxMsgID are the RFC 5424 header
	// field lengths; longer values are truncated when rendering.
	MaxHostname = 255
	MaxAppName  = 48
	MaxProcID   = 128
	MaxMsgID    = 32
	// DefaultMaxMessage is the largest message Logplex accepts (10,240 bytes).
	DefaultMaxMessage = 10240
	// DefaultPriority is local7.info, what Logplex uses for app and router lines.
	DefaultPriority = 190
)

// AppendMessage appends m rendered in flavour f to dst and returns the
// extended slice. Empty header fields render as the NILVALUE "-", header
// fields are truncated to their RFC 5424 lengths and characters outside
// PRINTUSASCII in them become '_'; a Priority outside 0..191 renders as 190.
// The time is rendered in UTC with microseconds, as
// 2026-11-22T01:02:03.123456+00:00 (the NILVALUE when m.Time is zero).
func AppendMessage(dst []byte, m core.LogMessage, f Flavor) []byte {
	pri := m.Priority
	if pri < 0 || pri > 191 {
		pri = DefaultPriority
	}
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	dst = append(dst, ">1 "...)
	if m.Time.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = AppendTimestamp(dst, m.Time)
	}
	dst = append(dst, ' ')
	dst = appendField(dst, m.Host, MaxHostname)
	dst = append(dst, ' ')
	dst = appendField(dst, m.App, MaxAppName)
	dst = append(dst, ' ')
	dst = appendField(dst, m.ProcID, MaxProcID)
	dst = append(dst, ' ')
	dst = appendField(dst, m.MsgID, MaxMsgID)
	if f == RFC5424 {
		dst = append(dst, " -"...)
	}
	dst = append(dst, ' ')
	return append(dst, m.Text...)
}

// MessageLen returns len(AppendMessage(nil, m, f)) without rendering.
func MessageLen(m core.LogMessage, f Flavor) int {
	pri := m.Priority
	if pri < 0 || pri > 191 {
		pri = DefaultPriority
	}
	n := 1 + digits(pri) + 3 // <PRI>1 + space
	if m.Time.IsZero() {
		n++
	} else {
		n += len("2006-01-02T15:04:05.000000+00:00")
	}
	n += 1 + fieldLen(m.Host, MaxHostname) + 1 + fieldLen(m.App, MaxAppName) +
		1 + fieldLen(m.ProcID, MaxProcID) + 1 + fieldLen(m.MsgID, MaxMsgID)
	if f == RFC5424 {
		n += 2
	}
	return n + 1 + len(m.Text)
}

// AppendFrame appends m as one RFC 6587 octet-counted frame, "<len> <msg>".
func AppendFrame(dst []byte, m core.LogMessage, f Flavor) []byte {
	dst = strconv.AppendInt(dst, int64(MessageLen(m, f)), 10)
	dst = append(dst, ' ')
	return AppendMessage(dst, m, f)
}

// AppendTimestamp appends t in UTC as 2026-11-22T01:02:03.123456+00:00.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	if year < 0 || year > 9999 {
		year = 0
	}
	dst = append4(dst, year)
	dst = append(dst, '-')
	dst = append2(dst, int(month))
	dst = append(dst, '-')
	dst = append2(dst, day)
	dst = append(dst, 'T')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, min)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	dst = append(dst, '.')
	us := t.Nanosecond() / 1000
	dst = append2(dst, us/10000)
	dst = append2(dst, us/100%100)
	dst = append2(dst, us%100)
	return append(dst, "+00:00"...)
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10%10), byte('0'+v%10))
}

func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

func digits(v int) int {
	switch {
	case v < 10:
		return 1
	case v < 100:
		return 2
	default:
		return 3
	}
}

func fieldLen(s string, max int) int {
	if s == "" {
		return 1
	}
	return min(len(s), max)
}

func appendField(dst []byte, s string, max int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// Parse parses one RFC 5424 message in either flavour. A STRUCTURED-DATA
// field is recognised when the text after MSGID is exactly "-" or starts with
// "- " or "["; it is dropped (Logplex carries none). Parse returns an error
// wrapping core.ErrInvalid that names the bad field.
func Parse(b []byte) (core.LogMessage, error) {
	var m core.LogMessage
	if len(b) < 4 || b[0] != '<' {
		return m, invalid("message does not start with <PRI>")
	}
	end := bytes.IndexByte(b[:min(len(b), 5)], '>')
	if end < 2 {
		return m, invalid("PRI: missing '>' within 3 digits")
	}
	pri, ok := atoi(b[1:end])
	if !ok || pri > 191 || (end > 2 && b[1] == '0') {
		return m, invalid(fmt.Sprintf("PRI %q: want 0..191 without leading zeros", b[1:end]))
	}
	m.Priority = pri
	rest := b[end+1:]
	if len(rest) < 2 || rest[0] != '1' || rest[1] != ' ' {
		return m, invalid("VERSION: want \"1\" followed by a space")
	}
	rest = rest[2:]
	var field []byte
	field, rest = cut(rest)
	if string(field) != "-" {
		t, err := ParseTimestamp(field)
		if err != nil {
			return m, err
		}
		m.Time = t
	}
	var err error
	if m.Host, rest, err = headerField(rest, "HOSTNAME", MaxHostname); err != nil {
		return m, err
	}
	if m.App, rest, err = headerField(rest, "APP-NAME", MaxAppName); err != nil {
		return m, err
	}
	if m.ProcID, rest, err = headerField(rest, "PROCID", MaxProcID); err != nil {
		return m, err
	}
	if m.MsgID, rest, err = headerField(rest, "MSGID", MaxMsgID); err != nil {
		return m, err
	}
	switch {
	case string(rest) == "-":
		rest = nil
	case bytes.HasPrefix(rest, []byte("- ")):
		rest = rest[2:]
	case len(rest) > 0 && rest[0] == '[':
		if rest, err = skipSD(rest); err != nil {
			return m, err
		}
	}
	m.Text = string(bytes.TrimSuffix(rest, []byte("\n")))
	return m, nil
}

// headerField takes one space-terminated header field; "-" is empty.
func headerField(b []byte, name string, max int) (string, []byte, error) {
	if len(b) == 0 {
		return "", nil, invalid(name + ": missing")
	}
	f, rest := cut(b)
	if len(f) == 0 {
		return "", nil, invalid(name + ": empty (two spaces)")
	}
	if len(f) > max {
		return "", nil, invalid(fmt.Sprintf("%s: %d bytes, longer than %d", name, len(f), max))
	}
	for _, c := range f {
		if c < 33 || c > 126 {
			return "", nil, invalid(fmt.Sprintf("%s: byte 0x%02x is not printable US-ASCII", name, c))
		}
	}
	if string(f) == "-" {
		return "", rest, nil
	}
	return string(f), rest, nil
}

// skipSD skips one or more SD-ELEMENTs and the space after them.
func skipSD(b []byte) ([]byte, error) {
	for len(b) > 0 && b[0] == '[' {
		i, inQuote := 1, false
		for ; i < len(b); i++ {
			c := b[i]
			if inQuote && c == '\\' {
				i++
				continue
			}
			if c == '"' {
				inQuote = !inQuote
			} else if c == ']' && !inQuote {
				break
			}
		}
		if i >= len(b) {
			return nil, invalid("STRUCTURED-DATA: unterminated '['")
		}
		b = b[i+1:]
	}
	if len(b) > 0 {
		if b[0] != ' ' {
			return nil, invalid("STRUCTURED-DATA: want a space after ']'")
		}
		b = b[1:]
	}
	return b, nil
}

func cut(b []byte) (field, rest []byte) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ParseTimestamp parses an RFC 5424 TIMESTAMP (RFC 3339 with at most six
// fraction digits), returning it in UTC. It returns an error wrapping
// core.ErrInvalid.
func ParseTimestamp(b []byte) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, invalid(fmt.Sprintf("TIMESTAMP %q is not RFC 3339", b))
	}
	if dot := bytes.IndexByte(b, '.'); dot >= 0 {
		n := 0
		for _, c := range b[dot+1:] {
			if c < '0' || c > '9' {
				break
			}
			n++
		}
		if n > 6 {
			return time.Time{}, invalid(fmt.Sprintf("TIMESTAMP %q: more than 6 fraction digits", b))
		}
	}
	return t.UTC(), nil
}

func invalid(msg string) error {
	return fmt.Errorf("syslog: %s: %w", msg, core.ErrInvalid)
}

// Decoder reads RFC 6587 octet-counted frames from a stream.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewDecoder returns a decoder reading from r that refuses frames longer
// than maxFrame bytes (DefaultMaxMessage when maxFrame <= 0).
func NewDecoder(r io.Reader, maxFrame int) *Decoder {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxMessage
	}
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10), max: maxFrame}
}

// Next returns the next frame's message bytes. The slice is valid until the
// next call. At a clean end of stream (between frames) it returns io.EOF; a
// stream that ends inside a frame gives io.ErrUnexpectedEOF. A malformed
// length gives an error wrapping core.ErrInvalid; the stream cannot be
// resynchronised after it.
func (d *Decoder) Next() ([]byte, error) {
	n, digitsRead := 0, 0
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF && digitsRead > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == ' ' {
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("syslog frame: byte 0x%02x in MSG-LEN (want digits then a space): %w", c, core.ErrInvalid)
		}
		if digitsRead == 0 && c == '0' {
			return nil, fmt.Errorf("syslog frame: MSG-LEN starts with 0: %w", core.ErrInvalid)
		}
		digitsRead++
		n = n*10 + int(c-'0')
		if n > d.max {
			return nil, fmt.Errorf("syslog frame: MSG-LEN over the %d-byte limit: %w", d.max, core.ErrInvalid)
		}
	}
	if digitsRead == 0 {
		return nil, fmt.Errorf("syslog frame: empty MSG-LEN: %w", core.ErrInvalid)
	}
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	d.buf = d.buf[:n]
	if _, err := io.ReadFull(d.r, d.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return d.buf, nil
}

// ParseFrames parses a whole body of octet-counted frames (an
// application/logplex-1 request body) into messages.
func ParseFrames(body []byte, maxFrame int) ([]core.LogMessage, error) {
	d := NewDecoder(bytes.NewReader(body), maxFrame)
	var out []core.LogMessage
	for i := 0; ; i++ {
		b, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("frame %d: %w", i, err)
		}
		m, err := Parse(b)
		if err != nil {
			return out, fmt.Errorf("frame %d: %w", i, err)
		}
		out = append(out, m)
	}
}

// Encoder renders frames like [AppendFrame], remembering the last rendered
// second so that a run of messages from the same second (the usual case
// on a busy drain) skips the calendar arithmetic. The zero value renders
// the Heroku flavour. An Encoder is not safe for concurrent use.
type Encoder struct {
	// Flavor is the header layout.
	Flavor Flavor
	sec    int64    // Unix second of prefix; valid when prefix[0] != 0
	prefix [19]byte // "2006-01-02T15:04:05"
}

// AppendFrame appends m as one octet-counted frame.
func (e *Encoder) AppendFrame(dst []byte, m core.LogMessage) []byte {
	dst = strconv.AppendInt(dst, int64(MessageLen(m, e.Flavor)), 10)
	dst = append(dst, ' ')
	return e.AppendMessage(dst, m)
}

// AppendMessage appends m rendered as [AppendMessage] does.
func (e *Encoder) AppendMessage(dst []byte, m core.LogMessage) []byte {
	if m.Time.IsZero() {
		return AppendMessage(dst, m, e.Flavor)
	}
	pri := m.Priority
	if pri < 0 || pri > 191 {
		pri = DefaultPriority
	}
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	dst = append(dst, ">1 "...)
	dst = e.appendTimestamp(dst, m.Time)
	dst = append(dst, ' ')
	dst = appendField(dst, m.Host, MaxHostname)
	dst = append(dst, ' ')
	dst = appendField(dst, m.App, MaxAppName)
	dst = append(dst, ' ')
	dst = appendField(dst, m.ProcID, MaxProcID)
	dst = append(dst, ' ')
	dst = appendField(dst, m.MsgID, MaxMsgID)
	if e.Flavor == RFC5424 {
		dst = append(dst, " -"...)
	}
	dst = append(dst, ' ')
	return append(dst, m.Text...)
}

func (e *Encoder) appendTimestamp(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	if e.prefix[0] == 0 || sec != e.sec {
		var tmp [32]byte
		copy(e.prefix[:], AppendTimestamp(tmp[:0], t))
		e.sec = sec
	}
	dst = append(dst, e.prefix[:]...)
	dst = append(dst, '.')
	us := t.Nanosecond() / 1000
	dst = append2(dst, us/10000)
	dst = append2(dst, us/100%100)
	dst = append2(dst, us%100)
	return append(dst, "+00:00"...)
}
