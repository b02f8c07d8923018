package ps

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Change is one argument of ps:scale: TYPE=N, TYPE+N, TYPE-N, each with an
// optional :SIZE, or TYPE=SIZE alone.
type Change struct {
	Type string
	// Op is '=', '+' or '-', or 0 when only the size changes.
	Op       byte
	Quantity int
	// Size is the dyno size as given (lower-cased); "" keeps the size.
	Size string
}

var (
	typeRE  = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)
	sizeRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,39}$`)
	scaleRE = regexp.MustCompile(`^([^=+:-]+)(?:([=+-])(\d{1,6}))?(?::(.+))?$`)
)

// MaxQuantity bounds a scale request.
const MaxQuantity = 10000

// ParseScale parses ps:scale's arguments ("web=2", "worker+1:standard-2x",
// "web=standard-2x"). A type given twice is an error.
func ParseScale(args []string) ([]Change, error) {
	var out []Change
	seen := map[string]bool{}
	for _, a := range args {
		c, err := parseOne(a)
		if err != nil {
			return nil, err
		}
		if seen[c.Type] {
			return nil, cli.Usagef("%s: process type %s is scaled twice", a, c.Type)
		}
		seen[c.Type] = true
		out = append(out, c)
	}
	return out, nil
}

func parseOne(a string) (Change, error) {
	bad := func(why string) (Change, error) {
		return Change{}, cli.Usagef("Invalid argument %q: %s. Use TYPE=QUANTITY[:SIZE], TYPE+N, TYPE-N or TYPE=SIZE (e.g. web=2:standard-2x)", a, why)
	}
	// TYPE=SIZE: the value is not a number.
	if t, v, ok := strings.Cut(a, "="); ok && v != "" && (v[0] < '0' || v[0] > '9') && !strings.Contains(v, ":") {
		if !typeRE.MatchString(t) {
			return bad("the process type must be letters, digits, - and _")
		}
		if !sizeRE.MatchString(v) {
			return bad("the dyno size must be letters, digits and -")
		}
		return Change{Type: t, Size: strings.ToLower(v)}, nil
	}
	m := scaleRE.FindStringSubmatch(a)
	if m == nil {
		return bad("not TYPE=QUANTITY")
	}
	c := Change{Type: m[1]}
	if !typeRE.MatchString(c.Type) {
		return bad("the process type must be letters, digits, - and _")
	}
	if m[2] == "" && m[4] == "" {
		return bad("no quantity or size")
	}
	if m[2] != "" {
		n, err := strconv.Atoi(m[3])
		if err != nil || n > MaxQuantity {
			return bad(fmt.Sprintf("the quantity must be a number up to %d", MaxQuantity))
		}
		c.Op, c.Quantity = m[2][0], n
	}
	if m[4] != "" {
		if !sizeRE.MatchString(m[4]) {
			return bad("the dyno size must be letters, digits and -")
		}
		c.Size = strings.ToLower(m[4])
	}
	return c, nil
}

// ParseType parses ps:type's arguments: one SIZE for every process type,
// or TYPE=SIZE pairs.
func ParseType(args []string) (all string, per map[string]string, err error) {
	per = map[string]string{}
	for _, a := range args {
		t, s, ok := strings.Cut(a, "=")
		if !ok {
			if len(args) != 1 {
				return "", nil, cli.Usagef("Invalid argument %q: give one SIZE for all process types, or TYPE=SIZE pairs", a)
			}
			if !sizeRE.MatchString(a) {
				return "", nil, cli.Usagef("Invalid dyno size %q", a)
			}
			return strings.ToLower(a), nil, nil
		}
		if !typeRE.MatchString(t) || !sizeRE.MatchString(s) {
			return "", nil, cli.Usagef("Invalid argument %q: use TYPE=SIZE (e.g. web=standard-2x)", a)
		}
		if _, dup := per[t]; dup {
			return "", nil, cli.Usagef("%s: process type %s is given twice", a, t)
		}
		per[t] = strings.ToLower(s)
	}
	return "", per, nil
}

// SizeName is a dyno size as Heroku shows it ("Standard-1X", "Basic").
func SizeName(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i > 0 {
			parts[i] = strings.ToUpper(p)
		} else {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}
