package classic

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paasd/paasd/core"
)

// MaxReleaseSize is the largest bin/release output accepted.
const MaxReleaseSize = 64 << 10

// ParseRelease parses bin/release output: the small YAML subset classic
// buildpacks print.
//
//	---
//	addons:
//	  - heroku-postgresql
//	default_process_types:
//	  web: bin/server --port $PORT
//
// Top-level keys are "addons" (a block or flow sequence of strings) and
// "default_process_types" (a block mapping of process type to command, or
// "{}"); other top-level keys (the legacy "config_vars") are skipped with
// their nested lines. Scalars may be plain, 'single' or "double" quoted.
// Comments, blank lines, "---" and "..." are ignored. Empty output is an
// empty response. Errors wrap core.ErrInvalid and name the line.
func ParseRelease(b []byte) (core.ReleaseResponse, error) {
	var resp core.ReleaseResponse
	if len(b) > MaxReleaseSize {
		return resp, fmt.Errorf("release YAML is %d bytes, more than %d: %w", len(b), MaxReleaseSize, core.ErrInvalid)
	}
	if !utf8.Valid(b) {
		return resp, fmt.Errorf("release YAML is not UTF-8: %w", core.ErrInvalid)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxReleaseSize+1)
	section := ""
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || trimmed == "---" || trimmed == "..." {
			continue
		}
		if strings.ContainsRune(raw, '\t') && strings.HasPrefix(strings.TrimLeft(raw, " "), "\t") {
			return resp, fmt.Errorf("release YAML line %d: tab in indentation: %w", n, core.ErrInvalid)
		}
		indented := raw[0] == ' '
		if !indented {
			key, val, ok := cutKey(raw)
			if !ok {
				return resp, fmt.Errorf("release YAML line %d: want \"key:\" at the top level, got %s: %w", n, clip(raw), core.ErrInvalid)
			}
			section = key
			val = stripComment(val)
			switch key {
			case "addons":
				if val != "" {
					items, err := flowSeq(val)
					if err != nil {
						return resp, fmt.Errorf("release YAML line %d: addons: %w", n, err)
					}
					resp.Addons = append(resp.Addons, items...)
				}
			case "default_process_types":
				if val != "" && val != "{}" && val != "~" && val != "null" {
					return resp, fmt.Errorf("release YAML line %d: default_process_types must be a mapping on the following lines: %w", n, core.ErrInvalid)
				}
			}
			continue
		}
		switch section {
		case "":
			return resp, fmt.Errorf("release YAML line %d: indented line before any key: %w", n, core.ErrInvalid)
		case "addons":
			if !strings.HasPrefix(trimmed, "-") {
				return resp, fmt.Errorf("release YAML line %d: addons entries must be \"- name\": %w", n, core.ErrInvalid)
			}
			v, err := scalar(strings.TrimSpace(trimmed[1:]))
			if err != nil {
				return resp, fmt.Errorf("release YAML line %d: %w", n, err)
			}
			if v == "" {
				return resp, fmt.Errorf("release YAML line %d: empty add-on: %w", n, core.ErrInvalid)
			}
			resp.Addons = append(resp.Addons, v)
		case "default_process_types":
			key, val, ok := cutKey(trimmed)
			if !ok {
				return resp, fmt.Errorf("release YAML line %d: want \"type: command\", got %s: %w", n, clip(trimmed), core.ErrInvalid)
			}
			k, err := scalar(key)
			if err != nil {
				return resp, fmt.Errorf("release YAML line %d: %w", n, err)
			}
			if !validType(k) {
				return resp, fmt.Errorf("release YAML line %d: process type %q: want 1-63 letters, digits, '_' or '-': %w", n, clip(k), core.ErrInvalid)
			}
			cmd, err := scalar(val)
			if err != nil {
				return resp, fmt.Errorf("release YAML line %d: %w", n, err)
			}
			if cmd == "" {
				return resp, fmt.Errorf("release YAML line %d: process type %q has an empty command: %w", n, k, core.ErrInvalid)
			}
			if resp.DefaultProcessTypes == nil {
				resp.DefaultProcessTypes = map[string]string{}
			}
			if _, dup := resp.DefaultProcessTypes[k]; dup {
				return resp, fmt.Errorf("release YAML line %d: process type %q declared twice: %w", n, k, core.ErrInvalid)
			}
			resp.DefaultProcessTypes[k] = cmd
		default:
			// Nested lines of a key we do not use (config_vars).
		}
	}
	if err := sc.Err(); err != nil {
		return resp, fmt.Errorf("release YAML: %v: %w", err, core.ErrInvalid)
	}
	return resp, nil
}

// cutKey splits "key: value" (or "key:"); the key may be quoted.
func cutKey(s string) (string, string, bool) {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", "", false
		}
		key := s[:end+2]
		rest := s[end+2:]
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		return key, strings.TrimSpace(rest[1:]), true
	}
	i := strings.Index(s, ":")
	for i >= 0 && i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '\t' {
		j := strings.Index(s[i+1:], ":")
		if j < 0 {
			return "", "", false
		}
		i += j + 1
	}
	if i <= 0 {
		return "", "", false
	}
	return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
}

// stripComment removes a " #" comment from a plain value.
func stripComment(s string) string {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		return s
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// scalar decodes a plain, single- or double-quoted scalar.
func scalar(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", nil
	case s[0] == '"':
		end := closingDouble(s)
		if end < 0 {
			return "", fmt.Errorf("unterminated double-quoted string %s: %w", clip(s), core.ErrInvalid)
		}
		if rest := strings.TrimSpace(s[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("text after quoted string %s: %w", clip(s), core.ErrInvalid)
		}
		v, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return "", fmt.Errorf("double-quoted string %s: %v: %w", clip(s), err, core.ErrInvalid)
		}
		return v, nil
	case s[0] == '\'':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				if rest := strings.TrimSpace(s[i+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
					return "", fmt.Errorf("text after quoted string %s: %w", clip(s), core.ErrInvalid)
				}
				return b.String(), nil
			}
			b.WriteByte(s[i])
		}
		return "", fmt.Errorf("unterminated single-quoted string %s: %w", clip(s), core.ErrInvalid)
	}
	s = stripComment(s)
	switch s {
	case "~", "null":
		return "", nil
	}
	return s, nil
}

// closingDouble returns the index of the quote closing s, which starts
// with one, honouring backslash escapes; -1 if there is none.
func closingDouble(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// flowSeq parses "[a, 'b', "c"]" or "[]".
func flowSeq(s string) ([]string, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("want a sequence [a, b] or entries on the following lines, got %s: %w", clip(s), core.ErrInvalid)
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	if body == "" {
		return nil, nil
	}
	var out []string
	for _, part := range strings.Split(body, ",") {
		v, err := scalar(part)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, fmt.Errorf("empty entry in %s: %w", clip(s), core.ErrInvalid)
		}
		out = append(out, v)
	}
	return out, nil
}

func validType(t string) bool {
	if t == "" || len(t) > 63 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 60 {
		return strconv.Quote(s[:60] + "…")
	}
	return strconv.Quote(s)
}
