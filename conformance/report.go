package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Counts tallies a report's results.
type Counts struct {
	Passed  int `json:"passed"`
	Skipped int `json:"skipped"`
	// Failed counts every failed check; FailedByLevel splits it by level.
	Failed        int           `json:"failed"`
	FailedByLevel map[Level]int `json:"failed_by_level,omitempty"`
}

// Counts tallies the report's results by status, and failures by level.
func (r Report) Counts() Counts {
	c := Counts{FailedByLevel: map[Level]int{}}
	for _, res := range r.Results {
		switch res.Status {
		case Pass:
			c.Passed++
		case Skip:
			c.Skipped++
		case Fail:
			c.Failed++
			c.FailedByLevel[res.Level]++
		}
	}
	return c
}

// undeclared reports whether res was skipped because the implementation did
// not declare the capability the check needs.
func (r Report) undeclared(res Result) bool {
	return res.Status == Skip && res.Capability != "" && !r.Info.HasCapability(res.Capability)
}

// WriteSummary writes the human summary of r: a header naming the target and
// plugin, one line per check (status, level, id, title), the failures with
// their messages, the checks skipped for undeclared capabilities, and a final
// line "conformant: yes" or "conformant: no" with the counts.
func WriteSummary(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "paasd conformance: %s suite against %s\n", r.Contract, r.Target)
	if r.Info.ID != "" {
		caps := "none"
		if len(r.Info.Capabilities) > 0 {
			caps = strings.Join(r.Info.Capabilities, ", ")
		}
		fmt.Fprintf(&b, "plugin: %s", r.Info.ID)
		if r.Info.Version != "" {
			fmt.Fprintf(&b, " %s", r.Info.Version)
		}
		fmt.Fprintf(&b, " (contract %s, api versions %v, capabilities: %s)\n", r.Info.Contract, r.Info.APIVersions, caps)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, res := range r.Results {
		title := res.Title
		if r.undeclared(res) {
			title += fmt.Sprintf(" [needs capability %q]", res.Capability)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strings.ToUpper(string(res.Status)), res.Level, res.ID, title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	var failed, undeclared []Result
	for _, res := range r.Results {
		switch {
		case res.Status == Fail:
			failed = append(failed, res)
		case r.undeclared(res):
			undeclared = append(undeclared, res)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nfailures:\n")
		for _, res := range failed {
			fmt.Fprintf(&b, "  %s %s: %s\n", res.Level, res.ID, res.Title)
			for _, line := range strings.Split(strings.TrimRight(res.Message, "\n"), "\n") {
				if line != "" {
					fmt.Fprintf(&b, "      %s\n", line)
				}
			}
		}
	}
	if len(undeclared) > 0 {
		b.WriteString("\nskipped, capability not declared:\n")
		for _, res := range undeclared {
			fmt.Fprintf(&b, "  %s (%s)\n", res.ID, res.Capability)
		}
	}
	c := r.Counts()
	yes := "no"
	if r.Conformant {
		yes = "yes"
	}
	fmt.Fprintf(&b, "\nconformant: %s (%d passed, %d failed [MUST %d, SHOULD %d, MAY %d], %d skipped)\n",
		yes, c.Passed, c.Failed, c.FailedByLevel[Must], c.FailedByLevel[Should], c.FailedByLevel[May], c.Skipped)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// WriteJSON writes r as indented JSON (the [Report] struct's encoding).
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// JUnit XML, in the shape common CI readers (Jenkins, GitLab, GitHub
// actions reporters) accept: testsuites > testsuite > testcase with
// failure or skipped children.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes r as JUnit XML: one testsuite named after the contract,
// one testcase per check (name = requirement id). As under [RunTest], a
// failed MUST check is a <failure>; a failed SHOULD or MAY check passes with
// a "not met" note in <system-out>, so that a CI job fails exactly when the
// implementation is not conformant; skipped checks are <skipped> with the
// reason. The suite's properties carry the target, the plugin id and the
// verdict.
func WriteJUnit(w io.Writer, r Report) error {
	var total time.Duration
	s := junitSuite{
		Name: "paasd.conformance." + string(r.Contract),
		Properties: []junitProperty{
			{Name: "contract", Value: string(r.Contract)},
			{Name: "target", Value: r.Target},
			{Name: "plugin.id", Value: r.Info.ID},
			{Name: "conformant", Value: fmt.Sprint(r.Conformant)},
		},
	}
	for _, res := range r.Results {
		total += res.Duration
		c := junitCase{Name: res.ID, Classname: s.Name, Time: seconds(res.Duration)}
		detail := fmt.Sprintf("%s %s: %s", res.Level, res.ID, res.Title)
		switch {
		case res.Status == Fail && res.Level == Must:
			c.Failure = &junitMessage{Message: detail, Type: string(res.Level), Text: res.Message}
			s.Failures++
		case res.Status == Fail:
			c.SystemOut = "not met (" + detail + ")\n" + res.Message
		case res.Status == Skip:
			c.Skipped = &junitMessage{Message: res.Message}
			s.Skipped++
		default:
			if res.Message != "" {
				c.SystemOut = res.Message
			}
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	s.Time = seconds(total)
	doc := junitSuites{Name: "paasd conformance", Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped,
		Time: s.Time, Suites: []junitSuite{s}}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header+string(out)+"\n"); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}
