package benchstat_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/benchstat/benchstattest"
)

func TestCPUShare(t *testing.T) {
	raw := benchstattest.CPUProfile(t,
		benchstattest.Sample{CPU: 300 * time.Millisecond, Stack: []string{"syscall.Syscall6", "main.other"}},
		// Matched at the root of the stack, not only at the leaf.
		benchstattest.Sample{CPU: 40 * time.Millisecond, Stack: []string{"k8s.io/cri-client/pkg.List", "example.com/a.(*T).Run"}},
		// Two matching frames: counted once.
		benchstattest.Sample{CPU: 10 * time.Millisecond, Stack: []string{"example.com/a.f", "example.com/b/c.g"}},
		// A package whose name only begins like a prefix is not matched.
		benchstattest.Sample{CPU: 5 * time.Millisecond, Stack: []string{"example.com/ax.f"}},
	)
	got, err := benchstat.CPUShare(bytes.NewReader(raw), []string{"example.com/a.", "example.com/b/"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (benchstat.Share{Total: 355 * time.Millisecond, Matched: 50 * time.Millisecond}); got != want {
		t.Errorf("CPUShare = %+v, want %+v", got, want)
	}
	if s, err := benchstat.CPUShare(bytes.NewReader(raw), nil); err != nil || s.Matched != 0 || s.Total != 355*time.Millisecond {
		t.Errorf("no prefixes: %+v, %v; want the total and nothing matched", s, err)
	}
	got.Add(benchstat.Share{Total: time.Second, Matched: time.Millisecond})
	if want := (benchstat.Share{Total: 1355 * time.Millisecond, Matched: 51 * time.Millisecond}); got != want {
		t.Errorf("Add = %+v, want %+v", got, want)
	}
}

func TestCPUShareRejectsOtherProfiles(t *testing.T) {
	if _, err := benchstat.CPUShare(bytes.NewReader(benchstattest.HeapProfile(t)), nil); err == nil {
		t.Error("a heap profile was accepted as a CPU profile")
	}
	if _, err := benchstat.CPUShare(bytes.NewReader([]byte("not a profile")), nil); err == nil {
		t.Error("garbage was accepted as a profile")
	}
}

func TestRatio(t *testing.T) {
	if r := benchstat.Ratio(3*time.Millisecond, 2*time.Millisecond); r != 1.5 {
		t.Errorf("Ratio(3ms, 2ms) = %v", r)
	}
	if r := benchstat.Ratio(1.0, 4.0); r != 0.25 {
		t.Errorf("Ratio(1, 4) = %v", r)
	}
	if r := benchstat.Ratio(0.0, 4.0); r != 0 {
		t.Errorf("Ratio(0, 4) = %v, want 0: a zero numerator is a result", r)
	}
	for _, r := range []float64{benchstat.Ratio(time.Second, 0), benchstat.Ratio(0.0, 0.0), benchstat.Ratio(5, 0)} {
		if !math.IsNaN(r) {
			t.Errorf("a ratio over zero is %v, want NaN", r)
		}
	}
	for r, want := range map[float64]string{1.5: "1.50", 0: "0.00", 10.004: "10.00", math.NaN(): "n/a"} {
		if got := benchstat.FormatRatio(r); got != want {
			t.Errorf("FormatRatio(%v) = %q, want %q", r, got, want)
		}
	}
}
