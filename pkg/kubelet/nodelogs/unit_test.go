package nodelogs

import "testing"

func TestJournalHasUnit(t *testing.T) {
	units := []byte("containerd.service\nmykubelet.service\nsession-3.scope\nkubelet-extra.service\ngetty@tty1.service\r\n")
	tests := []struct {
		query string
		want  bool
	}{
		// The regression: a substring of another unit's name is not that unit.
		{"kubelet", false},
		{"ubelet", false},
		{"containerd", true},
		{"containerd.service", true},
		{"mykubelet", true},
		{"kubelet-extra", true},
		{"session-3.scope", true},
		{"session-3", false},
		{"getty@tty1", true},
		{"", false},
		{".service", false},
	}
	for _, tt := range tests {
		if got := JournalHasUnit(units, tt.query); got != tt.want {
			t.Errorf("JournalHasUnit(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestJournalHasUnitEmptyJournal(t *testing.T) {
	if JournalHasUnit(nil, "kubelet") {
		t.Fatal("an empty unit list must not match")
	}
}
