package cluster

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ThawFrozenCgroups writes "thawed" into every frozen cgroup below
// cgroupRoot whose path names one of containerIDs, and returns how many it
// thawed. On cgroup v1 hosts runc sometimes fails a container start with
// "unable to freeze" and leaves that container's cgroup FROZEN; a frozen
// process cannot die, so Docker cannot kill the node container and kind
// cannot delete the cluster. Thawing first lets the processes receive
// SIGKILL. cgroup v1 freezer.state and cgroup v2 cgroup.freeze are both
// handled, so the same code works whichever hierarchy the host has.
func ThawFrozenCgroups(cgroupRoot string, containerIDs []string) (int, error) {
	if len(containerIDs) == 0 {
		return 0, nil
	}
	thawed := 0
	var errs []error
	err := filepath.WalkDir(cgroupRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A cgroup can vanish while we walk; that is not a failure.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !belongsTo(path, containerIDs) {
			return nil
		}
		var thawedValue string
		switch d.Name() {
		case "freezer.state": // cgroup v1
			thawedValue = "THAWED"
		case "cgroup.freeze": // cgroup v2
			thawedValue = "0"
		default:
			return nil
		}
		state, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		if s := strings.TrimSpace(string(state)); s == thawedValue || s == "" {
			return nil
		}
		if err := os.WriteFile(path, []byte(thawedValue), 0); err != nil {
			errs = append(errs, err)
			return nil
		}
		thawed++
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return thawed, errors.Join(append(errs, err)...)
}

func belongsTo(path string, containerIDs []string) bool {
	for _, id := range containerIDs {
		if id != "" && strings.Contains(path, id) {
			return true
		}
	}
	return false
}
