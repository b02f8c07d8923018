package conformance

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

func infoWith(caps ...string) func(context.Context) (core.PluginInfo, error) {
	return func(context.Context) (core.PluginInfo, error) {
		return core.PluginInfo{ID: "test.drain.x", Contract: core.ContractDrain, APIVersions: []int{1}, Capabilities: caps}, nil
	}
}

func TestRun(t *testing.T) {
	var dir string
	var order []string
	s := Suite{
		Contract: core.ContractDrain,
		Describe: infoWith("filter"),
		Checks: []Check{
			{ID: "x.pass", Level: Must, Run: func(t *T) {
				dir = t.TempDir()
				t.Cleanup(func() { order = append(order, "first") })
				t.Cleanup(func() { order = append(order, "second") })
			}},
			{ID: "x.errorf", Level: Should, Run: func(t *T) { t.Errorf("one"); t.Errorf("two") }},
			{ID: "x.fatalf", Level: May, Run: func(t *T) { t.Fatalf("stop"); t.Errorf("not reached") }},
			{ID: "x.panic", Level: Should, Run: func(t *T) { panic("boom") }},
			{ID: "x.skipf", Level: Must, Run: func(t *T) { t.Skipf("not here") }},
			{ID: "x.cap", Level: Must, Capability: "filter", Run: func(t *T) {}},
			{ID: "x.nocap", Level: Must, Capability: "syslog", Run: func(t *T) { t.Errorf("must not run") }},
		},
	}
	rep := Run(context.Background(), s, "test:x")
	want := []struct {
		id     string
		status Status
		msg    string
	}{
		{"x.pass", Pass, ""},
		{"x.errorf", Fail, "one\ntwo"},
		{"x.fatalf", Fail, "stop"},
		{"x.panic", Fail, "panic: boom"},
		{"x.skipf", Skip, "not here"},
		{"x.cap", Pass, ""},
		{"x.nocap", Skip, `capability "syslog" not declared`},
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(want))
	}
	for i, w := range want {
		r := rep.Results[i]
		if r.ID != w.id || r.Status != w.status || r.Message != w.msg {
			t.Errorf("result %d = %s %s %q, want %s %s %q", i, r.ID, r.Status, r.Message, w.id, w.status, w.msg)
		}
	}
	if !rep.Conformant {
		t.Errorf("failed SHOULD and MAY checks made the report non-conformant")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %q survived its check: %v", dir, err)
	}
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("cleanups ran in order %v, want last registered first", order)
	}
}

func TestRunMustFailure(t *testing.T) {
	s := Suite{Contract: core.ContractDrain, Describe: infoWith(),
		Checks: []Check{{ID: "x.must", Level: Must, Run: func(t *T) { t.Errorf("no") }}}}
	if rep := Run(context.Background(), s, "t"); rep.Conformant {
		t.Errorf("a failed MUST check left the report conformant")
	}
}

func TestRunDescribeError(t *testing.T) {
	s := Suite{Contract: core.ContractDrain,
		Describe: func(context.Context) (core.PluginInfo, error) { return core.PluginInfo{}, errors.New("cannot start") },
		Checks:   []Check{{ID: "x.must", Level: Must, Run: func(t *T) {}}}}
	rep := Run(context.Background(), s, "t")
	if rep.Conformant || len(rep.Results) != 1 || rep.Results[0].ID != "drain.describe" || rep.Results[0].Message != "cannot start" {
		t.Errorf("report = %+v, want one failed drain.describe naming the error", rep)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		desc, in string
		want     Level
		wantErr  bool
	}{
		{desc: "lower", in: "must", want: Must},
		{desc: "upper", in: "SHOULD", want: Should},
		{desc: "mixed with space", in: " May ", want: May},
		{desc: "unknown", in: "could", wantErr: true},
		{desc: "empty", in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseLevel(tc.in)
			if tc.wantErr {
				if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), tc.in) {
					t.Errorf("ParseLevel(%q) = %v, want an ErrInvalid naming the value", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseLevel(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestAtLeast(t *testing.T) {
	s := Suite{Checks: []Check{{ID: "a", Level: Must}, {ID: "b", Level: Should}, {ID: "c", Level: May}}}
	tests := []struct {
		desc  string
		level Level
		want  string
	}{
		{desc: "must", level: Must, want: "a"},
		{desc: "should", level: Should, want: "a,b"},
		{desc: "may", level: May, want: "a,b,c"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var ids []string
			for _, c := range s.AtLeast(tc.level).Checks {
				ids = append(ids, c.ID)
			}
			if got := strings.Join(ids, ","); got != tc.want {
				t.Errorf("AtLeast(%s) = %s, want %s", tc.level, got, tc.want)
			}
		})
	}
	if len(s.Checks) != 3 {
		t.Errorf("AtLeast changed the original suite")
	}
}
