package plegbench

import (
	"testing"
	"time"
)

func TestParseUptime(t *testing.T) {
	d, err := ParseUptime("12345.67 2345.00\n")
	if err != nil || d != 12345670*time.Millisecond {
		t.Errorf("ParseUptime = %v, %v", d, err)
	}
	if _, err := ParseUptime(""); err == nil {
		t.Error("empty text accepted")
	}
}

func TestProcessCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 50 ticks; the name has a space.
	stat := "279 (kube let) S 1 279 279 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 30 0 1000 2000000 3000"
	got, err := ProcessCPU(stat, 100)
	if err != nil || got != 3.0 {
		t.Errorf("ProcessCPU = %v, %v; want 3.0", got, err)
	}
	if _, err := ProcessCPU("garbage", 100); err == nil {
		t.Error("garbage accepted")
	}
}
