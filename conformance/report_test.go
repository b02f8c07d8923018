package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleReport covers every outcome: pass, MUST and SHOULD failures (one
// with a multi-line message), a skip for an undeclared capability and a skip
// by the check itself.
func sampleReport() Report {
	return Report{
		Contract: core.ContractDrain,
		Target:   "builtin:sample",
		Info: core.PluginInfo{ID: "vendor.drain.sample", Contract: core.ContractDrain, APIVersions: []int{1},
			Version: "0.1.0", Capabilities: []string{"filter"}},
		Results: []Result{
			{ID: "drain.describe.shape", Level: Must, Title: "describes itself", Status: Pass, Duration: 1200 * time.Microsecond},
			{ID: "drain.configure.reject-bad", Level: Should, Title: "rejects bad config", Status: Fail,
				Message: "config [1,2,3] was accepted\nconfig 42 was accepted", Duration: 2 * time.Millisecond},
			{ID: "drain.deliver.accepts", Level: Must, Title: "counts <accepted> & \"more\"", Status: Fail,
				Message: "Deliver of 50 messages: Accepted = 49, want 50", Duration: 3 * time.Millisecond},
			{ID: "drain.filter.order", Level: Must, Capability: "filter", Title: "keeps order", Status: Pass},
			{ID: "drain.syslog.framing", Level: Must, Capability: "syslog", Title: "frames syslog", Status: Skip,
				Message: `capability "syslog" not declared`},
			{ID: "drain.deliver.slow", Level: May, Title: "a skipped-by-itself check", Status: Skip, Message: "no receiver available"},
		},
	}
}

func zeroDurations(r Report) Report {
	r.Results = append([]Result(nil), r.Results...)
	for i := range r.Results {
		r.Results[i].Duration = 0
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestWriteSummaryGolden(t *testing.T) {
	tests := []struct {
		desc, file string
		conformant bool
	}{
		{desc: "not conformant", file: "summary-fail.golden", conformant: false},
		{desc: "conformant", file: "summary-pass.golden", conformant: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := zeroDurations(sampleReport())
			if tc.conformant {
				r.Results = append(r.Results[:1], r.Results[3:]...)
			}
			r.Conformant = tc.conformant
			var b bytes.Buffer
			if err := WriteSummary(&b, r); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

func TestWriteSummaryContents(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSummary(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"FAIL  MUST    drain.deliver.accepts",
		"      Deliver of 50 messages: Accepted = 49, want 50\n",
		"skipped, capability not declared:\n  drain.syslog.framing (syslog)\n",
		"\nconformant: no (2 passed, 2 failed [MUST 1, SHOULD 1, MAY 0], 2 skipped)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	if strings.Contains(out, "drain.deliver.slow (") {
		t.Errorf("a check that skipped itself is listed as skipped for a capability:\n%s", out)
	}
	if !strings.HasSuffix(out, "\n") || !strings.HasPrefix(lastLine(out), "conformant: ") {
		t.Errorf("last line %q is not the verdict", lastLine(out))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestWriteJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, zeroDurations(sampleReport())); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden", b.Bytes())
}

func TestWriteJUnitParses(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Time  string `xml:"time,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Time    string    `xml:"time,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, b.String())
	}
	if doc.Tests != 6 || doc.Failures != 1 || doc.Skipped != 2 {
		t.Errorf("tests/failures/skipped = %d/%d/%d, want 6/1/2", doc.Tests, doc.Failures, doc.Skipped)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "paasd.conformance.drain" || doc.Suites[0].Time != "0.006" {
		t.Fatalf("suites = %+v", doc.Suites)
	}
	c := doc.Suites[0].Cases
	if c[0].Name != "drain.describe.shape" || c[0].Time != "0.001" {
		t.Errorf("first case = %+v, want drain.describe.shape in 0.001 s", c[0])
	}
	if c[1].Failure != nil {
		t.Errorf("a failed SHOULD check is a JUnit failure; it must not fail CI")
	}
	if c[2].Failure == nil {
		t.Errorf("a failed MUST check is not a JUnit failure")
	}
	if c[4].Skipped == nil {
		t.Errorf("a skipped check is not <skipped>")
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	want := sampleReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, want); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("JSON report does not decode: %v", err)
	}
	if got.Contract != want.Contract || got.Info.ID != want.Info.ID || len(got.Results) != len(want.Results) ||
		got.Results[2].Message != want.Results[2].Message || got.Results[0].Duration != want.Results[0].Duration {
		t.Errorf("round trip lost data:\n got %+v\nwant %+v", got, want)
	}
	if !strings.Contains(b.String(), `"duration_ns": 1200000`) {
		t.Errorf("durations are not in nanoseconds:\n%s", b.String())
	}
}
