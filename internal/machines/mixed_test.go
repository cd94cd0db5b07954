package machines

import "testing"

func TestGinkgoProgressOf(t *testing.T) {
	log := "\x1b[38;5;10m• [4.277 seconds]\x1b[0m\n" +
		"STEP: something\n" +
		"\x1b[38;5;9m• [FAILED] [2.000 seconds]\x1b[0m\n" +
		"  • [0.047 seconds]\n" +
		"S [SKIPPED] [0.001 seconds]\n"
	p := ginkgoProgressOf([]byte(log))
	if p.Finished != 3 || p.Failed != 1 || p.Summary != "" {
		t.Fatalf("got %+v", p)
	}
	if got := p.String(); got != "3 specs finished, 1 failed" {
		t.Errorf("String() = %q", got)
	}
	p = ginkgoProgressOf([]byte(log + "\x1b[1mRan 3 of 61 Specs in 40.1 seconds\x1b[0m\n"))
	if want := "Ran 3 of 61 Specs in 40.1 seconds (1 failed)"; p.String() != want {
		t.Errorf("String() = %q, want %q", p.String(), want)
	}
}
