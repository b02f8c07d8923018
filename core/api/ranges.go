package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Page size limits of list endpoints: a Range header may ask for fewer
// (max=N), never more.
const (
	DefaultPageSize = 200
	MaxPageSize     = 200
)

// Range is a parsed Heroku Range request header:
//
//	Range: <field> [[]<start>]..[<end>][; max=<n>][, order=<asc|desc>]
//
// A "]" before start makes it exclusive (the form Next-Range uses). The
// parameters may be separated by ";" or ",".
type Range struct {
	Field          string
	Start, End     string
	StartExclusive bool
	Max            int
	Desc           bool
}

// ParseRange parses a Range header value. An empty value is the default
// range over defaultField. Errors name the part that is wrong.
func ParseRange(h, defaultField string) (Range, error) {
	rg := Range{Field: defaultField, Max: DefaultPageSize}
	h = strings.TrimSpace(h)
	if h == "" {
		return rg, nil
	}
	spec, params, _ := strings.Cut(h, ";")
	spec = strings.TrimSpace(spec)
	// "id ..; max=10, order=desc" and "id ..,order=desc" both occur.
	if i := strings.Index(spec, ","); i >= 0 {
		params = spec[i+1:] + "," + params
		spec = strings.TrimSpace(spec[:i])
	}
	field, bounds, _ := strings.Cut(spec, " ")
	if field == "" {
		return rg, fmt.Errorf("range: missing field name in %q", h)
	}
	for _, r := range field {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return rg, fmt.Errorf("range: field name %q has a bad character %q", field, r)
		}
	}
	rg.Field = field
	bounds = strings.TrimSpace(bounds)
	if bounds != "" {
		start, end, ok := strings.Cut(bounds, "..")
		if !ok {
			return rg, fmt.Errorf("range: bounds %q lack \"..\"", bounds)
		}
		if strings.HasPrefix(start, "]") {
			rg.StartExclusive = true
			start = start[1:]
		}
		rg.Start, rg.End = strings.TrimSpace(start), strings.TrimSpace(end)
	}
	for p := range strings.FieldsFuncSeq(params, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return rg, fmt.Errorf("range: parameter %q is not key=value", strings.TrimSpace(p))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "max":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return rg, fmt.Errorf("range: max=%q is not a positive integer", v)
			}
			rg.Max = min(n, MaxPageSize)
		case "order":
			switch v {
			case "asc":
				rg.Desc = false
			case "desc":
				rg.Desc = true
			default:
				return rg, fmt.Errorf("range: order=%q is neither asc nor desc", v)
			}
		default:
			return rg, fmt.Errorf("range: unknown parameter %q", k)
		}
	}
	return rg, nil
}

// String formats rg as a header value (the inverse of ParseRange).
func (rg Range) String() string {
	var b strings.Builder
	b.WriteString(rg.Field)
	b.WriteByte(' ')
	if rg.StartExclusive {
		b.WriteByte(']')
	}
	b.WriteString(rg.Start)
	b.WriteString("..")
	b.WriteString(rg.End)
	fmt.Fprintf(&b, "; max=%d", rg.Max)
	if rg.Desc {
		b.WriteString(", order=desc")
	}
	return b.String()
}

// sortKey is one Range field of a resource: key extracts the value and norm
// makes a client's bound comparable with it (zero-padding numbers).
type sortKey[T any] struct {
	key  func(T) string
	norm func(string) string
}

func byString[T any](key func(T) string) sortKey[T] {
	return sortKey[T]{key: key, norm: func(s string) string { return s }}
}

func padNumber(n int) string { return fmt.Sprintf("%020d", n) }

func byNumber[T any](key func(T) int) sortKey[T] {
	return sortKey[T]{
		key: func(v T) string { return padNumber(key(v)) },
		norm: func(s string) string {
			n, err := strconv.Atoi(s)
			if err != nil {
				return s
			}
			return padNumber(n)
		},
	}
}

// paginate writes the page of items the request's Range selects, rendered
// with render: 200 when it is the last page, 206 Partial Content with a
// Next-Range header otherwise. fields are the Range fields the resource
// sorts by; the first is the default.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T, defaultField string, fields map[string]sortKey[T], render func(T) any) {
	rg, err := ParseRange(r.Header.Get("Range"), defaultField)
	if err != nil {
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable", err.Error())
		return
	}
	sk, ok := fields[rg.Field]
	if !ok {
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		slices.Sort(names)
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable",
			fmt.Sprintf("range: cannot sort by %q; accepted ranges: %s", rg.Field, strings.Join(names, ", ")))
		return
	}
	type kv struct {
		k string
		v T
	}
	all := make([]kv, len(items))
	for i, it := range items {
		all[i] = kv{sk.key(it), it}
	}
	slices.SortStableFunc(all, func(a, b kv) int {
		if rg.Desc {
			return strings.Compare(b.k, a.k)
		}
		return strings.Compare(a.k, b.k)
	})
	start, end := sk.norm(rg.Start), sk.norm(rg.End)
	// before reports whether key a comes before b in the requested order.
	before := func(a, b string) bool {
		if rg.Desc {
			return a > b
		}
		return a < b
	}
	sel := make([]kv, 0, min(len(all), rg.Max))
	more := false
	for _, e := range all {
		if rg.Start != "" && (before(e.k, start) || rg.StartExclusive && e.k == start) {
			continue
		}
		if rg.End != "" && before(end, e.k) {
			break
		}
		if len(sel) == rg.Max {
			more = true
			break
		}
		sel = append(sel, e)
	}
	out := make([]any, len(sel))
	for i, e := range sel {
		out[i] = render(e.v)
	}
	accept := make([]string, 0, len(fields))
	for n := range fields {
		accept = append(accept, n)
	}
	slices.Sort(accept)
	w.Header().Set("Accept-Ranges", strings.Join(accept, ", "))
	status := http.StatusOK
	if more {
		last := sel[len(sel)-1]
		next := Range{Field: rg.Field, Start: rawBound(sk, last.v), StartExclusive: true, End: rg.End, Max: rg.Max, Desc: rg.Desc}
		w.Header().Set("Next-Range", next.String())
		status = http.StatusPartialContent
	}
	if len(sel) > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("%s %s..%s", rg.Field, rawBound(sk, sel[0].v), rawBound(sk, sel[len(sel)-1].v)))
	}
	writeJSON(w, status, out)
}

// rawBound is the client-facing value of v's key (numbers unpadded).
func rawBound[T any](sk sortKey[T], v T) string {
	k := sk.key(v)
	if sk.norm("1") != "1" { // numeric key
		if t := strings.TrimLeft(k, "0"); t != "" {
			return t
		}
		return "0"
	}
	return k
}
