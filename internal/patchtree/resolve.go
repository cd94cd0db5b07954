package patchtree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
)

// Resolver finds the pinned version of a module and its pristine source.
type Resolver interface {
	Resolve(modulePath string) (Module, error)
}

// GoResolver asks the go command, in the main module at Dir and outside any
// workspace, which version go.mod pins (after replaces) and downloads it.
type GoResolver struct {
	Dir string
}

func (r GoResolver) Resolve(modulePath string) (Module, error) {
	var listed struct {
		Path, Version string
		Replace       *struct{ Path, Version string }
	}
	if err := r.goJSON(&listed, "list", "-m", "-json", modulePath); err != nil {
		return Module{}, fmt.Errorf("staging/%s: %w (is it a module that go.mod requires?)", modulePath, err)
	}
	path, version := listed.Path, listed.Version
	if listed.Replace != nil {
		if listed.Replace.Version == "" {
			return Module{}, fmt.Errorf("staging/%s: go.mod replaces it with the directory %s; patch series apply only to versioned modules from the module cache", modulePath, listed.Replace.Path)
		}
		path, version = listed.Replace.Path, listed.Replace.Version
	}
	var dl struct{ Dir, Sum, Error string }
	if err := r.goJSON(&dl, "mod", "download", "-json", path+"@"+version); err != nil {
		return Module{}, err
	}
	if dl.Error != "" {
		return Module{}, fmt.Errorf("downloading %s@%s: %s", path, version, dl.Error)
	}
	return Module{Path: modulePath, Version: version, Dir: dl.Dir, Sum: dl.Sum}, nil
}

func (r GoResolver) goJSON(v any, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go %v: %v: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return json.Unmarshal(out, v)
}
