package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestParseAssignments(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		want    map[string]string
		order   []string
		wantErr string
	}{
		{"simple", []string{"FOO=bar"}, map[string]string{"FOO": "bar"}, []string{"FOO"}, ""},
		{"value with =", []string{"URL=postgres://h/db?a=b"}, map[string]string{"URL": "postgres://h/db?a=b"}, []string{"URL"}, ""},
		{"empty value", []string{"EMPTY="}, map[string]string{"EMPTY": ""}, []string{"EMPTY"}, ""},
		{"last wins", []string{"A=1", "B=2", "A=3"}, map[string]string{"A": "3", "B": "2"}, []string{"A", "B"}, ""},
		{"spaces in value", []string{"MSG=hello world"}, map[string]string{"MSG": "hello world"}, []string{"MSG"}, ""},
		{"no =", []string{"FOO"}, nil, nil, "FOO is invalid. Must be in the format FOO=bar."},
		{"empty key", []string{"=bar"}, nil, nil, "=bar is invalid"},
		{"space in key", []string{"A B=1"}, nil, nil, "not a valid config var name"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, order, err := ParseAssignments(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(order, tt.order) {
				t.Fatalf("got %v %v %v", got, order, err)
			}
		})
	}
}

func TestFormatVars(t *testing.T) {
	vars := map[string]string{"DATABASE_URL": "postgres://u:p@h/db", "A": "it's", "EMPTY": "", "MULTI": "line1\nline2"}
	golden.Check(t, "config", FormatVars(vars, nil, false))
	golden.Check(t, "config-shell", FormatVars(vars, nil, true))
}

// FuzzParseAssignments: every accepted argument round-trips as KEY=VALUE.
func FuzzParseAssignments(f *testing.F) {
	for _, s := range []string{"FOO=bar", "A==", "=x", "K=v=w", "", "A B=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		vars, order, err := ParseAssignments([]string{arg})
		if err != nil {
			return
		}
		if len(order) != 1 || order[0]+"="+vars[order[0]] != arg {
			t.Fatalf("ParseAssignments(%q) = %v %v", arg, vars, order)
		}
	})
}
