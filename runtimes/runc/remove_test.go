package runc

import (
	"os"
	"testing"
)

// TestNoRecordAfterRemove: once Remove has claimed a dyno, a Stop returning
// at the same time (the dyno manager stops a dyno from one goroutine and
// removes it from another as soon as it exits) must not write the record
// back into the directory Remove is deleting; that left 2 of 800 state
// directories behind in BenchmarkManagerIdleDynos.
func TestNoRecordAfterRemove(t *testing.T) {
	tests := []struct {
		desc    string
		removed bool
		want    int
	}{
		{desc: "live dyno saves its record", want: 1},
		{desc: "removed dyno writes nothing", removed: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			d := &dyno{dir: t.TempDir(), removed: tc.removed}
			d.mu.Lock()
			err := d.saveLocked()
			d.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			left, err := os.ReadDir(d.dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != tc.want {
				t.Errorf("%d files in the state directory, want %d", len(left), tc.want)
			}
		})
	}
}
