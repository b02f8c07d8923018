package ps

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestParseScale(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		want    []Change
		wantErr string
	}{
		{"set", []string{"web=2"}, []Change{{Type: "web", Op: '=', Quantity: 2}}, ""},
		{"set with size", []string{"worker=1:standard-2x"}, []Change{{Type: "worker", Op: '=', Quantity: 1, Size: "standard-2x"}}, ""},
		{"size upper case", []string{"web=1:Standard-2X"}, []Change{{Type: "web", Op: '=', Quantity: 1, Size: "standard-2x"}}, ""},
		{"increment", []string{"web+3"}, []Change{{Type: "web", Op: '+', Quantity: 3}}, ""},
		{"decrement", []string{"web-1"}, []Change{{Type: "web", Op: '-', Quantity: 1}}, ""},
		{"size only", []string{"web=performance-m"}, []Change{{Type: "web", Size: "performance-m"}}, ""},
		{"size only with colon", []string{"web:basic"}, []Change{{Type: "web", Size: "basic"}}, ""},
		{"several", []string{"web=2", "worker=0"}, []Change{{Type: "web", Op: '=', Quantity: 2}, {Type: "worker", Op: '=', Quantity: 0}}, ""},
		{"underscore type", []string{"clock_1=1"}, []Change{{Type: "clock_1", Op: '=', Quantity: 1}}, ""},
		{"no value", []string{"web"}, nil, "no quantity or size"},
		{"negative", []string{"web=-2"}, nil, "Invalid argument"},
		{"not a number", []string{"web=2x"}, nil, "Invalid argument"},
		{"too many", []string{"web=100000"}, nil, "up to 10000"},
		{"twice", []string{"web=1", "web=2"}, nil, "scaled twice"},
		{"bad type", []string{"we b=1"}, nil, "process type"},
		{"bad size", []string{"web=1:st@ndard"}, nil, "dyno size"},
		{"empty", []string{""}, nil, "Invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseScale(tt.args)
			if tt.wantErr != "" {
				var ue *cli.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseScale(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		all     string
		per     map[string]string
		wantErr bool
	}{
		{"one size for all", []string{"Standard-2X"}, "standard-2x", nil, false},
		{"pairs", []string{"web=basic", "worker=performance-l"}, "", map[string]string{"web": "basic", "worker": "performance-l"}, false},
		{"none", nil, "", map[string]string{}, false},
		{"size and pair", []string{"basic", "web=eco"}, "", nil, true},
		{"twice", []string{"web=basic", "web=eco"}, "", nil, true},
		{"bad size", []string{"web=$$"}, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			all, per, err := ParseType(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && (all != tt.all || !reflect.DeepEqual(per, tt.per)) {
				t.Fatalf("ParseType = %q %v", all, per)
			}
		})
	}
}

func TestSizeName(t *testing.T) {
	for in, want := range map[string]string{"standard-1x": "Standard-1X", "basic": "Basic", "performance-m": "Performance-M", "": "", "eco": "Eco"} {
		if got := SizeName(in); got != want {
			t.Errorf("SizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatDynos(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 5, 3, 0, time.UTC)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	dynos := []apiclient.Dyno{
		{Name: "web.10", Type: "web", Size: "standard-1x", State: "up", Command: "npm start", UpdatedAt: at(2 * time.Minute)},
		{Name: "web.2", Type: "web", Size: "standard-1x", State: "up", Command: "npm start", UpdatedAt: at(3 * time.Hour)},
		{Name: "worker.1", Type: "worker", Size: "standard-2x", State: "crashed", Command: "node worker.js", UpdatedAt: at(30 * time.Second)},
		{Name: "run.4821", Type: "run", Size: "basic", State: "up", Command: "bash", UpdatedAt: at(49 * time.Hour)},
	}
	golden.Check(t, "ps", FormatDynos("myapp", dynos, now, time.UTC))
	golden.Check(t, "ps-empty", FormatDynos("myapp", nil, now, time.UTC))
	golden.Check(t, "ps-types", FormatTypes([]apiclient.Formation{{Type: "worker", Size: "basic", Quantity: 0}, {Type: "web", Size: "standard-2x", Quantity: 2}}))
	if got := FormatFormation([]apiclient.Formation{{Type: "worker", Size: "basic"}, {Type: "web", Size: "standard-2x", Quantity: 2}}); got != "web=2:Standard-2X worker=0:Basic" {
		t.Fatalf("FormatFormation = %q", got)
	}
}

// FuzzParseScale: the parser never panics, accepts only what it can
// format back, and every error is a usage error.
func FuzzParseScale(f *testing.F) {
	for _, s := range []string{"web=2", "worker+1:standard-2x", "web=basic", "web-1", "web:eco", "=", ":", "web=1:", "web=99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		cs, err := ParseScale([]string{arg})
		if err != nil {
			var ue *cli.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not a usage error", err)
			}
			return
		}
		c := cs[0]
		if !typeRE.MatchString(c.Type) || (c.Size != "" && !sizeRE.MatchString(c.Size)) || c.Quantity < 0 || c.Quantity > MaxQuantity {
			t.Fatalf("ParseScale(%q) = %+v", arg, c)
		}
		if c.Op == 0 && c.Size == "" {
			t.Fatalf("ParseScale(%q) changes nothing", arg)
		}
	})
}
