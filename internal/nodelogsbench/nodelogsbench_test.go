package nodelogsbench

import (
	"strings"
	"testing"
	"time"
)

func TestSummaryAndTargets(t *testing.T) {
	samples := []Sample{
		{Round: 1, Method: methodInProcess, Wall: 2 * time.Second, Lines: 300000, KubectlMaxRSS: 40 << 20, KubeletPeakRSS: 90 << 20},
		{Round: 2, Method: methodInProcess, Wall: 3 * time.Second, Lines: 300000, KubectlMaxRSS: 60 << 20},
		{Round: 3, Method: methodInProcess, Wall: 1 * time.Second, Lines: 300000},
		{Round: 1, Method: methodJournalctl, Wall: 4 * time.Second, Lines: 300000},
		{Round: 1, Method: methodFloor, Wall: time.Second, Lines: 300000},
	}
	var out strings.Builder
	writeSummary(&out, samples)
	got := out.String()
	for _, want := range []string{
		methodInProcess + "  150000", // the median of 100k, 150k, 300k lines/s
		"60.0 MiB",
		"in process / journalctl path = 2.00 (target >= 1): met",
		"kubectl in process / raw journalctl = 0.50 (target >= 0.5): met",
		"kubectl peak memory = 60.0 MiB (target < 100): met",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestMissedTargetsSaySo(t *testing.T) {
	var out strings.Builder
	writeSummary(&out, []Sample{
		{Method: methodInProcess, Wall: 4 * time.Second, Lines: 100, KubectlMaxRSS: 200 << 20},
		{Method: methodJournalctl, Wall: time.Second, Lines: 100},
	})
	if n := strings.Count(out.String(), "MISSED"); n != 3 {
		t.Errorf("%d targets missed, want 3 (the floor is missing too):\n%s", n, out.String())
	}
}

func TestParseKiB(t *testing.T) {
	if n, err := parseKiB("VmHWM:\t  123456 kB\n"); err != nil || n != 123456 {
		t.Errorf("%d %v", n, err)
	}
	if _, err := parseKiB("VmHWM: lots"); err == nil {
		t.Error("a line that is not kB must fail")
	}
}

func TestCheckNamesTheFlag(t *testing.T) {
	err := Config{Lines: 0, Rounds: 0}.Check()
	for _, want := range []string{"-kubeconfig", "-kubectl", "-lines=0", "-rounds=0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s in %v", want, err)
		}
	}
}
