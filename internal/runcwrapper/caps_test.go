package runcwrapper

import (
	"reflect"
	"testing"
	"testing/fstest"
)

const statusText = `Name:	cat
Umask:	0022
State:	R (running)
CapInh:	0000000000000000
CapPrm:	000001fffeffffff
CapEff:	000001fffeffffff
CapBnd:	000001fffeffffff
CapAmb:	0000000000000000
NoNewPrivs:	0
`

func TestParseCapBnd(t *testing.T) {
	got, err := ParseCapBnd(statusText)
	if err != nil {
		t.Fatal(err)
	}
	if got != 0x000001fffeffffff {
		t.Fatalf("got %x", got)
	}
	if _, err := ParseCapBnd("Name:\tx\n"); err == nil {
		t.Fatal("want error without CapBnd")
	}
	if _, err := ParseCapBnd("CapBnd:\tzz\n"); err == nil {
		t.Fatal("want error for bad hex")
	}
}

func TestMissingCaps(t *testing.T) {
	if got := MissingCaps(0x000001fffeffffff, 40); !reflect.DeepEqual(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("firecracker host: got %v", got)
	}
	if got := MissingCaps(0x000001ffffffffff, 40); got != nil {
		t.Fatalf("full host: got %v", got)
	}
	// An older kernel (last cap 37) with the same full mask for its caps:
	// the newer caps it does not know are not "missing".
	if got := MissingCaps(0x0000003fffffffff, 37); got != nil {
		t.Fatalf("old kernel: got %v", got)
	}
	// A bit past the table still gets a name.
	if got := MissingCaps(0x000001ffffffffff, 41); !reflect.DeepEqual(got, []string{"CAP_41"}) {
		t.Fatalf("future cap: got %v", got)
	}
}

func TestCapNumber(t *testing.T) {
	for name, want := range map[string]int{
		"CAP_CHOWN": 0, "cap_sys_resource": 24, "SYS_RESOURCE": 24,
		"CAP_CHECKPOINT_RESTORE": 40, "CAP_NOPE": -1,
	} {
		if got := CapNumber(name); got != want {
			t.Errorf("CapNumber(%q) = %d, want %d", name, got, want)
		}
	}
	for n := 0; n <= 40; n++ {
		if CapNumber(CapName(n)) != n {
			t.Errorf("table entry %d does not round-trip", n)
		}
	}
}

func TestHostCaps(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/self/status":             {Data: []byte(statusText)},
		"proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")},
	}
	got, err := HostCaps(fsys)
	if err != nil || !reflect.DeepEqual(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestDropSet(t *testing.T) {
	drop := DropSet([]string{"CAP_SYS_RESOURCE", "CAP_99"})
	if !drop("CAP_SYS_RESOURCE") || !drop("cap_sys_resource") {
		t.Fatal("should drop CAP_SYS_RESOURCE")
	}
	if drop("CAP_SYS_ADMIN") || drop("CAP_99") || drop("CAP_UNKNOWN") {
		t.Fatal("dropped something the host has or that is unknown")
	}
}
