package release

import (
	"os/exec"
	"testing"
)

func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		git, tool, want string
	}{
		{"v1.37.2+kubenext.2425128c8d", "", "1.37.2-1.1+kubenext.20261201130000.2425128c8d"},
		{"v1.37.2+kubenext.2425128c8d.dirty", "", "1.37.2-1.1+kubenext.20261201130000.2425128c8d.dirty"},
		{"v1.37.2", "", "1.37.2-1.1"},
		{"v1.37.2", "v1.36.0", "1.36.0-1.1"},
		{"v1.37.2+kubenext.2425128c8d", "v2.3.4", "2.3.4-1.1+kubenext.20261201130000.2425128c8d"},
		{"v1.38.0-rc.1+kubenext.abc", "", "1.38.0~rc.1-1.1+kubenext.20261201130000.abc"},
	} {
		v, err := ParseVersion(tc.git, testDate)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Deb(tc.tool)
		if err != nil || got != tc.want {
			t.Errorf("%s %s: got %q, %v; want %q", tc.git, tc.tool, got, err, tc.want)
		}
	}
	for _, bad := range []string{"1.37", "v1.37.2+abc", "v1.37.2+kubenext.", "v1.37.2+kubenext.a_b"} {
		if _, err := ParseVersion(bad, testDate); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if got := DockerTag("v1.37.2+kubenext.abc"); got != "v1.37.2_kubenext.abc" {
		t.Errorf("DockerTag: %s", got)
	}
}

// The versions must sort where apt needs them: above upstream's package of
// the same release (an upgrade from pkgs.k8s.io), below the next upstream
// release, later builds above earlier ones.
func TestVersionOrderWithDpkg(t *testing.T) {
	need(t, "dpkg")
	ours := func(git string, date string) string {
		d := testDate
		if date != "" {
			d = mustTime(t, date)
		}
		v, err := ParseVersion(git, d)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := v.Deb("")
		return s
	}
	a := ours("v1.37.2+kubenext.2425128c8d", "")
	b := ours("v1.37.2+kubenext.0000000000", "2026-12-02T00:00:00Z")
	pristine := ours("v1.37.2", "")
	if pristine != "1.37.2-1.1" {
		t.Fatalf("pristine build: %s", pristine)
	}
	for _, c := range [][3]string{
		{a, "gt", "1.37.2-1.1"},
		{a, "lt", "1.37.3-1.1"},
		{a, "lt", "1.38.0~rc.1-1.1"},
		{a, "gt", "1.37.2-1.0"},
		{b, "gt", a},
		{pristine, "eq", "1.37.2-1.1"},
	} {
		if err := exec.Command("dpkg", "--compare-versions", c[0], c[1], c[2]).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %s %s %s: false", c[0], c[1], c[2])
		}
	}
}
