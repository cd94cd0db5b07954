// Command patchtree builds the patched upstream trees and the go.work that
// points every build at them.
//
//	patchtree apply    materialize _output/src/<module>@<version> and _output/go.work
//	patchtree verify   check that every series applies to the pinned modules; writes nothing
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/patchtree"
)

const ownModule = "github.com/kubenext/kubenext"

func main() {
	root := flag.String("root", ".", "repository root (holds go.mod and staging/)")
	out := flag.String("out", "_output", "output directory for patched trees and go.work")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: patchtree [flags] apply|verify\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch flag.Arg(0) {
	case "apply":
		err = apply(*root, *out)
	case "verify":
		err = verify(*root)
	default:
		err = fmt.Errorf("unknown command %q: use apply or verify", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "patchtree:", err)
		os.Exit(1)
	}
}

// moduleSource is a go.mod that pins modules we may patch. Kubernetes'
// modules come from the root module and are built through the generated
// go.work; tools' modules (kind) come from hack/tools and are only
// materialized, for the build steps that read files from them.
type moduleSource struct {
	resolver    patchtree.GoResolver
	inWorkspace bool
}

func moduleSources(root string) []moduleSource {
	return []moduleSource{
		{patchtree.GoResolver{Dir: root}, true},
		{patchtree.GoResolver{Dir: filepath.Join(root, "hack", "tools")}, false},
	}
}

// resolve finds the first go.mod that pins the module.
func resolve(sources []moduleSource, module string) (patchtree.Module, bool, error) {
	var errs []string
	for _, src := range sources {
		mod, err := src.resolver.Resolve(module)
		if err == nil {
			return mod, src.inWorkspace, nil
		}
		errs = append(errs, err.Error())
	}
	return patchtree.Module{}, false, fmt.Errorf("staging/%s: no go.mod of ours pins this module (%s)", module, strings.Join(errs, "; "))
}

func loadSeries(root string) ([]patchtree.Series, []moduleSource, error) {
	series, err := patchtree.FindSeries(filepath.Join(root, "staging"))
	return series, moduleSources(root), err
}

func apply(root, out string) error {
	series, sources, err := loadSeries(root)
	if err != nil {
		return err
	}
	modcache, err := goEnv("GOMODCACHE")
	if err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if strings.HasPrefix(absOut+string(filepath.Separator), filepath.Clean(modcache)+string(filepath.Separator)) {
		return fmt.Errorf("output directory %s is inside the module cache %s; choose another -out", absOut, modcache)
	}
	relRoot, err := filepath.Rel(absOut, absRoot)
	if err != nil {
		return err
	}
	ws := patchtree.Workspace{GoVersion: "1.26.0", Use: []string{filepath.ToSlash(relRoot)}, Replace: map[string]string{}}
	for _, s := range series {
		start := time.Now()
		mod, inWorkspace, err := resolve(sources, s.Module)
		if err != nil {
			return err
		}
		dir := filepath.Join("src", filepath.FromSlash(mod.Path)+"@"+mod.Version)
		st, err := patchtree.Materialize(mod, s, filepath.Join(absOut, dir))
		if err != nil {
			return err
		}
		fmt.Printf("patchtree: %s: %d patch(es), %s (%.1fs)\n", mod, len(s.Patches), st, time.Since(start).Seconds())
		if inWorkspace {
			ws.Replace[mod.Path] = "./" + filepath.ToSlash(dir)
		}
	}
	changed, err := patchtree.WriteIfChanged(filepath.Join(absOut, "go.work"), ws.Render())
	if changed {
		fmt.Printf("patchtree: wrote %s\n", filepath.Join(out, "go.work"))
	}
	return err
}

func verify(root string) error {
	series, sources, err := loadSeries(root)
	if err != nil {
		return err
	}
	var failures []string
	for _, s := range series {
		mod, _, err := resolve(sources, s.Module)
		if err != nil {
			return err
		}
		for _, p := range s.Patches {
			if err := patchtree.CheckCalls(p, ownModule, root); err != nil {
				failures = append(failures, err.Error())
			}
		}
		if _, err := patchtree.ApplySeries(mod, s); err != nil {
			failures = append(failures, err.Error())
			continue
		}
		fmt.Printf("patchtree: %s: %d patch(es) apply\n", mod, len(s.Patches))
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d problem(s):\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
