// Package conformance is the importable conformance suite of every paasd
// contract, and the engine behind `paas conformance`.
//
// A [Suite] is a list of [Check]s. Each check has a requirement id
// ("drain.deliver.order"), a [Level] (MUST, SHOULD, MAY) and, optionally, the
// capability it needs; checks for capabilities the implementation did not
// declare are skipped and reported as such. An implementation is conformant
// when every MUST check for its declared capabilities passed.
//
// Vendors use it two ways: from Go tests,
//
//	func TestMyDrain(t *testing.T) {
//		conformance.Drain(t, conformance.InProcessDrain(func() core.LogDrain { return mydrain.New() }, nil))
//	}
//
// or from the command line, against any plugin reference:
//
//	paas conformance drain --plugin plugin:./my-drain --junit out.xml
//
// A [Report] is written as a human summary ([WriteSummary]), JUnit XML
// ([WriteJUnit]) or JSON ([WriteJSON]). See docs/conformance.md for the
// requirement ids of each suite.
package conformance

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// Level is a requirement level, as in RFC 2119.
type Level string

// Requirement levels.
const (
	Must   Level = "MUST"
	Should Level = "SHOULD"
	May    Level = "MAY"
)

// Check is one requirement.
type Check struct {
	// ID is a dotted requirement id, unique within its suite.
	ID    string
	Level Level
	// Capability is the capability the check needs; "" means always run.
	Capability string
	// Title says what is required, in one sentence.
	Title string
	// Run performs the check; it reports through t.
	Run func(t *T)
}

// Suite is a contract's checks bound to one implementation under test.
type Suite struct {
	Contract core.Contract
	// Describe returns the implementation's self-description; its
	// Capabilities decide which checks run.
	Describe func(ctx context.Context) (core.PluginInfo, error)
	Checks   []Check
	// Timeout bounds each check; zero means 60 s.
	Timeout time.Duration
}

// Status is a check's outcome.
type Status string

// Outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is one check's outcome.
type Result struct {
	ID         string        `json:"id"`
	Level      Level         `json:"level"`
	Capability string        `json:"capability,omitempty"`
	Title      string        `json:"title"`
	Status     Status        `json:"status"`
	Message    string        `json:"message,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
}

// Report is a suite's outcome.
type Report struct {
	Contract core.Contract   `json:"contract"`
	Target   string          `json:"target"`
	Info     core.PluginInfo `json:"info"`
	Results  []Result        `json:"results"`
	// Conformant is true when every MUST check that ran passed and none
	// failed to run.
	Conformant bool `json:"conformant"`
}

// T is what a check reports through. It mirrors the parts of testing.T that
// checks need, so that the same checks run under go test and in the CLI.
type T struct {
	ctx      context.Context
	mu       sync.Mutex
	failed   bool
	skipped  bool
	msgs     []string
	cleanups []func()
	tempDirs []string
}

// Context returns the check's context; it ends at the check's timeout.
func (t *T) Context() context.Context { return t.ctx }

// Helper is a no-op kept for symmetry with testing.T.
func (t *T) Helper() {}

// Logf records a message.
func (t *T) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgs = append(t.msgs, fmt.Sprintf(format, args...))
}

// Errorf records a failure and continues.
func (t *T) Errorf(format string, args ...any) {
	t.Logf(format, args...)
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

// Fatalf records a failure and ends the check. Call it only from the
// check's own goroutine.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

// Skipf ends the check as skipped. Call it only from the check's goroutine.
func (t *T) Skipf(format string, args ...any) {
	t.Logf(format, args...)
	t.mu.Lock()
	t.skipped = true
	t.mu.Unlock()
	runtime.Goexit()
}

// Failed reports whether the check has failed so far.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// Cleanup registers fn to run when the check ends, last registered first.
func (t *T) Cleanup(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, fn)
}

// TempDir returns a new directory removed when the check ends.
func (t *T) TempDir() string {
	d, err := os.MkdirTemp("", "paasd-conformance-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.mu.Lock()
	t.tempDirs = append(t.tempDirs, d)
	t.mu.Unlock()
	return d
}

// runCheck runs c in its own goroutine and returns its outcome.
func runCheck(ctx context.Context, c Check, timeout time.Duration) Result {
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := &T{ctx: cctx}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("panic: %v", p)
			}
		}()
		c.Run(t)
	}()
	select {
	case <-done:
	case <-time.After(timeout + 5*time.Second):
		t.Errorf("check did not finish within %v", timeout)
	}
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	dirs := t.tempDirs
	t.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
	r := Result{ID: c.ID, Level: c.Level, Capability: c.Capability, Title: c.Title, Duration: time.Since(start)}
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Message = strings.Join(t.msgs, "\n")
	switch {
	case t.failed:
		r.Status = Fail
	case t.skipped:
		r.Status = Skip
	default:
		r.Status = Pass
	}
	return r
}

// Run runs every check of s and returns the report. target names the
// implementation in the report (e.g. its plugin reference).
func Run(ctx context.Context, s Suite, target string) Report {
	rep := Report{Contract: s.Contract, Target: target}
	info, err := s.Describe(ctx)
	if err != nil {
		rep.Results = append(rep.Results, Result{ID: string(s.Contract) + ".describe", Level: Must,
			Title: "the implementation describes itself", Status: Fail, Message: err.Error()})
		return rep
	}
	rep.Info = info
	rep.Conformant = true
	for _, c := range s.Checks {
		if c.Capability != "" && !info.HasCapability(c.Capability) {
			rep.Results = append(rep.Results, Result{ID: c.ID, Level: c.Level, Capability: c.Capability, Title: c.Title,
				Status: Skip, Message: fmt.Sprintf("capability %q not declared", c.Capability)})
			continue
		}
		r := runCheck(ctx, c, s.Timeout)
		if r.Status == Fail && c.Level == Must {
			rep.Conformant = false
		}
		rep.Results = append(rep.Results, r)
	}
	return rep
}

// RunTest runs s under go test, one subtest per check. A failed MUST fails
// its subtest; a failed SHOULD or MAY is logged; checks for undeclared
// capabilities are skipped.
func RunTest(t *testing.T, s Suite) {
	t.Helper()
	ctx := context.Background()
	info, err := s.Describe(ctx)
	if err != nil {
		t.Fatalf("%s: describe: %v", s.Contract, err)
	}
	for _, c := range s.Checks {
		t.Run(c.ID, func(t *testing.T) {
			if c.Capability != "" && !info.HasCapability(c.Capability) {
				t.Skipf("capability %q not declared by %s", c.Capability, info.ID)
			}
			r := runCheck(ctx, c, s.Timeout)
			switch {
			case r.Status == Fail && c.Level == Must:
				t.Errorf("%s %s: %s\n%s", c.Level, c.ID, c.Title, r.Message)
			case r.Status == Fail:
				t.Logf("%s not met (%s): %s\n%s", c.Level, c.ID, c.Title, r.Message)
			case r.Status == Skip:
				t.Skip(r.Message)
			}
		})
	}
}

// rank orders levels: MUST above SHOULD above MAY.
func (l Level) rank() int {
	switch l {
	case Must:
		return 3
	case Should:
		return 2
	case May:
		return 1
	}
	return 0
}

// ParseLevel parses "must", "should" or "may" (any case). It returns an
// error wrapping core.ErrInvalid naming the bad value otherwise.
func ParseLevel(s string) (Level, error) {
	l := Level(strings.ToUpper(strings.TrimSpace(s)))
	if l.rank() == 0 {
		return "", fmt.Errorf("requirement level %q: want must, should or may: %w", s, core.ErrInvalid)
	}
	return l, nil
}

// AtLeast returns a copy of s holding only the checks of level l or
// stronger: AtLeast(Must) runs only MUST checks, AtLeast(Should) MUST and
// SHOULD checks, AtLeast(May) every check.
func (s Suite) AtLeast(l Level) Suite {
	out := s
	out.Checks = nil
	for _, c := range s.Checks {
		if c.Level.rank() >= l.rank() {
			out.Checks = append(out.Checks, c)
		}
	}
	return out
}
