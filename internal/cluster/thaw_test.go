package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

func writeState(t *testing.T, path, state string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(state+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestThawFrozenCgroups(t *testing.T) {
	root := t.TempDir()
	node := "e30211f8f607"
	v1Frozen := filepath.Join(root, "freezer/docker", node+"aaaa", "kubelet.slice/pod1/cri-containerd-x.scope/freezer.state")
	v1Freezing := filepath.Join(root, "freezer/docker", node+"aaaa", "kubelet.slice/pod2/freezer.state")
	v1Thawed := filepath.Join(root, "freezer/docker", node+"aaaa", "freezer.state")
	v2Frozen := filepath.Join(root, "unified/system.slice/docker-"+node+"aaaa.scope/kubelet.slice/cgroup.freeze")
	otherFrozen := filepath.Join(root, "freezer/docker/ffffffffffff/freezer.state")
	writeState(t, v1Frozen, "FROZEN")
	writeState(t, v1Freezing, "FREEZING")
	writeState(t, v1Thawed, "THAWED")
	writeState(t, v2Frozen, "1")
	writeState(t, otherFrozen, "FROZEN")

	n, err := ThawFrozenCgroups(root, []string{node})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("thawed %d cgroups, want 3", n)
	}
	for path, want := range map[string]string{
		v1Frozen: "THAWED", v1Freezing: "THAWED", v1Thawed: "THAWED\n", v2Frozen: "0",
		otherFrozen: "FROZEN\n", // not one of the cluster's containers
	} {
		if got := readState(t, path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

func TestThawFrozenCgroupsNothingToDo(t *testing.T) {
	if n, err := ThawFrozenCgroups(filepath.Join(t.TempDir(), "absent"), []string{"abc"}); n != 0 || err != nil {
		t.Fatalf("missing root: %d, %v", n, err)
	}
	if n, err := ThawFrozenCgroups(t.TempDir(), nil); n != 0 || err != nil {
		t.Fatalf("no containers: %d, %v", n, err)
	}
}
