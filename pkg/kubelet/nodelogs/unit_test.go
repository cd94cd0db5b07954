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

func TestUnitName(t *testing.T) {
	for query, want := range map[string]string{
		"kubelet":         "kubelet.service",
		"kubelet.service": "kubelet.service",
		"kubelet.slice":   "kubelet.slice",
		"foo.bar":         "foo.bar.service",
		"getty@tty1":      "getty@tty1.service",
	} {
		if got := UnitName(query); got != want {
			t.Errorf("UnitName(%q) = %q, want %q", query, got, want)
		}
	}
}
