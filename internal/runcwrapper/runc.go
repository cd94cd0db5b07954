package runcwrapper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// findRealRunc resolves the runc to exec. self is excluded from the PATH
// search so that a wrapper installed as "runc" cannot exec itself forever.
func findRealRunc(env, path, self string) (string, error) {
	if env != "" {
		if sameFile(env, self) {
			return "", fmt.Errorf("%s=%s points at the wrapper itself", RealRuncEnv, env)
		}
		if !isExecutable(env) {
			return "", fmt.Errorf("%s=%s is not an executable file", RealRuncEnv, env)
		}
		return env, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		cand := filepath.Join(dir, "runc")
		if isExecutable(cand) && !sameFile(cand, self) {
			return cand, nil
		}
	}
	return "", errors.New("no runc found: set " + RealRuncEnv + " or put runc on PATH")
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

func sameFile(a, b string) bool {
	if b == "" {
		return false
	}
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}
