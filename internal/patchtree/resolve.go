package patchtree

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
)

// Resolver finds the pinned version of a module and its pristine source.
type Resolver interface {
	Resolve(modulePath string) (Module, error)
}

// GoResolver asks the go command, in the main module at Dir and outside any
// workspace, which version go.mod pins (after replaces) and downloads it.
type GoResolver struct {
	Dir string
	// Host runs the go command; nil is exec.Host.
	Host exec.Cmder
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
	// go -C, not a working directory: the go command reads the go.mod of
	// the directory it is told, which is all a working directory did here.
	host := r.Host
	if host == nil {
		host = exec.Host
	}
	out, err := exec.Output(host.Command(context.Background(), "go", append([]string{"-C", r.Dir}, args...)...).SetEnv("GOWORK=off"))
	if err != nil {
		return fmt.Errorf("go %v: %v: %s", args, exec.Cause(err), exec.OutputOf(err))
	}
	return json.Unmarshal(out, v)
}

// GoEnv is one `go env` value.
func GoEnv(name string) (string, error) {
	out, err := exec.Output(exec.Host.Command(context.Background(), "go", "env", name))
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, exec.Cause(err))
	}
	return strings.TrimSpace(string(out)), nil
}
