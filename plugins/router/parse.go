package router

import (
	"bytes"
	"errors"
	"fmt"
)

// Hand-written HTTP/1.x parsing for the hot path. Every function here works
// on byte slices borrowed from a bufio buffer and allocates nothing; each has
// a fuzz target in parse_test.go.

// errMalformed is returned for a request or response that is not HTTP/1.x.
var errMalformed = errors.New("malformed HTTP message")

// parseRequestLine splits "METHOD SP TARGET SP HTTP/1.x" (without CRLF).
// minor is the protocol's minor version (0 or 1).
func parseRequestLine(line []byte) (method, target []byte, minor int, err error) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, nil, 0, fmt.Errorf("request line: no method: %w", errMalformed)
	}
	method = line[:sp1]
	for _, c := range method {
		if !isTokenChar(c) {
			return nil, nil, 0, fmt.Errorf("request line: bad method: %w", errMalformed)
		}
	}
	rest := line[sp1+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, nil, 0, fmt.Errorf("request line: no target: %w", errMalformed)
	}
	target = rest[:sp2]
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return nil, nil, 0, fmt.Errorf("request line: bad target: %w", errMalformed)
		}
	}
	proto := rest[sp2+1:]
	switch string(proto) {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
		minor = 0
	default:
		return nil, nil, 0, fmt.Errorf("request line: unsupported protocol %q: %w", proto, errMalformed)
	}
	return method, target, minor, nil
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT [SP reason]".
func parseStatusLine(line []byte) (minor, status int, err error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, fmt.Errorf("status line %q: %w", truncate(line), errMalformed)
	}
	switch line[7] {
	case '0':
		minor = 0
	case '1':
		minor = 1
	default:
		return 0, 0, fmt.Errorf("status line %q: %w", truncate(line), errMalformed)
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, 0, fmt.Errorf("status line %q: %w", truncate(line), errMalformed)
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 || (len(line) > 12 && line[12] != ' ') {
		return 0, 0, fmt.Errorf("status line %q: %w", truncate(line), errMalformed)
	}
	return minor, status, nil
}

// parseHeaderLine splits "Name: value" and trims the value's optional
// whitespace. Obsolete line folding and empty names are errors.
func parseHeaderLine(line []byte) (name, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, fmt.Errorf("header line %q: %w", truncate(line), errMalformed)
	}
	name = line[:colon]
	for _, c := range name {
		if !isTokenChar(c) {
			return nil, nil, fmt.Errorf("header name %q: %w", truncate(name), errMalformed)
		}
	}
	value = bytes.Trim(line[colon+1:], " \t")
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, fmt.Errorf("header %s: control character in value: %w", name, errMalformed)
		}
	}
	return name, value, nil
}

// parseContentLength parses a Content-Length value: decimal digits only,
// at most 18 of them.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseChunkSize parses a chunk-size line (hex digits, optional
// ";extension"), without CRLF.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// ValidRequestID reports whether id may be passed through as X-Request-Id:
// 20 to 200 characters of letters, digits, '+', '/', '=' and '-' (Heroku's
// rule; anything else is replaced by a generated UUID).
func ValidRequestID(id []byte) bool {
	if len(id) < 20 || len(id) > 200 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '+', c == '/', c == '=', c == '-':
		default:
			return false
		}
	}
	return true
}

// normalizeHost lowercases a Host header value into dst and strips the port.
// It reports false for an empty or malformed host (spaces, control
// characters, '/', '@', an unbalanced IPv6 literal, a non-numeric port).
func normalizeHost(dst, host []byte) ([]byte, bool) {
	dst = dst[:0]
	if len(host) == 0 || len(host) > 255 {
		return dst, false
	}
	h := host
	ipv6 := h[0] == '['
	if ipv6 {
		end := bytes.IndexByte(h, ']')
		if end < 0 {
			return dst, false
		}
		rest := h[end+1:]
		if len(rest) > 0 && (rest[0] != ':' || !allDigits(rest[1:])) {
			return dst, false
		}
		h = h[:end+1]
	} else if i := bytes.LastIndexByte(h, ':'); i >= 0 {
		if !allDigits(h[i+1:]) {
			return dst, false
		}
		h = h[:i]
	}
	if len(h) == 0 {
		return dst, false
	}
	for _, c := range h {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		case ipv6 && (c == '[' || c == ']' || c == ':'):
		default:
			return dst[:0], false
		}
		dst = append(dst, c)
	}
	if ipv6 && (bytes.IndexByte(dst[1:], '[') >= 0 || bytes.IndexByte(dst, ']') != len(dst)-1) {
		return dst[:0], false
	}
	// A trailing dot names the same host.
	if n := len(dst); n > 1 && dst[n-1] == '.' {
		dst = dst[:n-1]
	}
	return dst, true
}

func allDigits(b []byte) bool {
	if len(b) == 0 || len(b) > 5 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// headerIs reports whether the header name equals want (lower case),
// ignoring case.
func headerIs(name []byte, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether a comma-separated header value contains token
// (lower case), ignoring case.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		if headerIs(bytes.Trim(part, " \t"), token) {
			return true
		}
	}
	return false
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// splitAbsoluteTarget splits an absolute-form request target
// ("http://host:port/path?q") into its authority and origin-form path ("/"
// when empty). ok is false for any other form.
func splitAbsoluteTarget(target []byte) (authority, path []byte, ok bool) {
	var rest []byte
	switch {
	case len(target) > 7 && headerIs(target[:7], "http://"):
		rest = target[7:]
	case len(target) > 8 && headerIs(target[:8], "https://"):
		rest = target[8:]
	default:
		return nil, nil, false
	}
	end := bytes.IndexAny(rest, "/?")
	if end < 0 {
		return rest, []byte("/"), len(rest) > 0
	}
	authority, path = rest[:end], rest[end:]
	if path[0] == '?' {
		return authority, append([]byte("/"), path...), len(authority) > 0
	}
	return authority, path, len(authority) > 0
}
