package patchtree

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OwnModule is the module whose packages patches may call into.
const OwnModule = "github.com/kubenext/kubenext"

// Source is a go.mod that pins modules we may patch. Kubernetes' modules
// come from the root module and are built through the generated go.work
// (InWorkspace); tools' modules (kind) come from hack/tools and are only
// materialized, for the build steps that read files from them.
type Source struct {
	Resolver    Resolver
	InWorkspace bool
}

// Sources are the go.mod files of the repository at root, in the order
// they are asked.
func Sources(root string) []Source {
	return []Source{
		{GoResolver{Dir: root}, true},
		{GoResolver{Dir: filepath.Join(root, "hack", "tools")}, false},
	}
}

// Tool is `patchtree apply` and `patchtree verify` over one repository.
type Tool struct {
	Root string // holds go.mod and staging/
	Out  string // patched trees and go.work go here
	// Stdout gets one progress line per module.
	Stdout io.Writer
	// Sources pin the modules; nil means Sources(Root).
	Sources []Source
	// ModCache is the module cache Out must stay out of; empty asks
	// `go env GOMODCACHE`.
	ModCache string
}

// Run runs the named command, as the patchtree binary does.
func Run(command, root, out string, stdout io.Writer) error {
	t := &Tool{Root: root, Out: out, Stdout: stdout}
	switch command {
	case "apply":
		return t.Apply()
	case "verify":
		return t.Verify()
	}
	return fmt.Errorf("unknown command %q: use apply or verify", command)
}

func (t *Tool) sources() []Source {
	if t.Sources != nil {
		return t.Sources
	}
	return Sources(t.Root)
}

// resolve finds the first go.mod that pins the module.
func (t *Tool) resolve(module string) (Module, bool, error) {
	var errs []string
	for _, src := range t.sources() {
		mod, err := src.Resolver.Resolve(module)
		if err == nil {
			return mod, src.InWorkspace, nil
		}
		errs = append(errs, err.Error())
	}
	return Module{}, false, fmt.Errorf("staging/%s: no go.mod of ours pins this module (%s)", module, strings.Join(errs, "; "))
}

// Apply materializes _output/src/<module>@<version> for every series and
// writes the go.work that replaces the workspace's modules by their trees.
func (t *Tool) Apply() error {
	series, err := FindSeries(filepath.Join(t.Root, "staging"))
	if err != nil {
		return err
	}
	modcache := t.ModCache
	if modcache == "" {
		if modcache, err = GoEnv("GOMODCACHE"); err != nil {
			return err
		}
	}
	absOut, err := filepath.Abs(t.Out)
	if err != nil {
		return err
	}
	absRoot, err := filepath.Abs(t.Root)
	if err != nil {
		return err
	}
	if err := refuseModCache(absOut, modcache); err != nil {
		return err
	}
	ws, err := t.workspace(absRoot, absOut)
	if err != nil {
		return err
	}
	for _, s := range series {
		start := time.Now()
		mod, inWorkspace, err := t.resolve(s.Module)
		if err != nil {
			return err
		}
		dir := filepath.Join("src", filepath.FromSlash(mod.Path)+"@"+mod.Version)
		st, err := Materialize(mod, s, filepath.Join(absOut, dir))
		if err != nil {
			return err
		}
		fmt.Fprintf(t.Stdout, "patchtree: %s: %d patch(es), %s (%.1fs)\n", mod, len(s.Patches), st, time.Since(start).Seconds())
		if inWorkspace {
			ws.Replace[mod.Path] = "./" + filepath.ToSlash(dir)
		}
	}
	changed, err := WriteIfChanged(filepath.Join(absOut, "go.work"), ws.Render())
	if changed {
		fmt.Fprintf(t.Stdout, "patchtree: wrote %s\n", filepath.Join(t.Out, "go.work"))
	}
	return err
}

// workspace is the go.work before any replace: the main module, by a path
// relative to the go.work, at the Go version its go.mod asks for, so that
// a toolchain bump in go.mod needs no second edit here.
func (t *Tool) workspace(absRoot, absOut string) (Workspace, error) {
	relRoot, err := filepath.Rel(absOut, absRoot)
	if err != nil {
		return Workspace{}, err
	}
	version, err := GoVersion(filepath.Join(absRoot, "go.mod"))
	if err != nil {
		return Workspace{}, err
	}
	return Workspace{GoVersion: version, Use: []string{filepath.ToSlash(relRoot)}, Replace: map[string]string{}}, nil
}

// refuseModCache rejects an output directory inside the module cache:
// patchtree's trees are written where Go takes the cache to be immutable
// and verified, and a clean of the cache would take them with it.
func refuseModCache(absOut, modcache string) error {
	if strings.HasPrefix(absOut+string(filepath.Separator), filepath.Clean(modcache)+string(filepath.Separator)) {
		return fmt.Errorf("output directory %s is inside the module cache %s; choose another -out", absOut, modcache)
	}
	return nil
}

// Verify checks that every series applies to its pinned module and that
// each patch's Calls: header is honest; it writes nothing.
func (t *Tool) Verify() error {
	series, err := FindSeries(filepath.Join(t.Root, "staging"))
	if err != nil {
		return err
	}
	var failures []string
	for _, s := range series {
		mod, _, err := t.resolve(s.Module)
		if err != nil {
			return err
		}
		for _, p := range s.Patches {
			if err := CheckCalls(p, OwnModule, t.Root); err != nil {
				failures = append(failures, err.Error())
			}
		}
		if _, err := ApplySeries(mod, s); err != nil {
			failures = append(failures, err.Error())
			continue
		}
		fmt.Fprintf(t.Stdout, "patchtree: %s: %d patch(es) apply\n", mod, len(s.Patches))
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d problem(s):\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

// GoVersion is the version on the `go` line of the go.mod at path.
func GoVersion(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		code, _, _ := strings.Cut(line, "//")
		if f := strings.Fields(code); len(f) == 2 && f[0] == "go" {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s has no go line", path)
}
