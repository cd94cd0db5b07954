package codegen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/patchtree"
	"github.com/kubenext/kubenext/internal/steps"
)

// GeneratorsModuleDir is the go.mod (relative to the root) that pins the
// generators' versions.
const GeneratorsModuleDir = "hack/codegen/generators"

// Config says where codegen reads and writes.
type Config struct {
	Root  string // repository root: go.mod and staging/
	Out   string // scratch directory, e.g. _output/codegen
	Bin   string // directory holding the generator binaries
	Steps *steps.Steps
}

// alwaysMaterialized are the modules generated code lands in even when we
// have no hand-written patch for them (client-go carries the apply
// configurations of k8s.io/api's types).
var alwaysMaterialized = []string{"k8s.io/api", "k8s.io/client-go", "k8s.io/kubernetes"}

// tree is one module materialized with its hand-written patches only, with
// a git repository kept outside it (patchtree removes files it did not
// write) that records what each generator changes.
type tree struct {
	mod      patchtree.Module
	hand     patchtree.Series
	dir      string
	gitDir   string
	baseline string // last commit: the tree before the current generator
}

// env is what generators see.
type env struct {
	Config
	trees       map[string]*tree
	gopath      string // GOPATH-like layout for go-to-protobuf and protoc
	boilerplate string // upstream's header for generated Go files
	workspace   string // go.work pointing at the trees
	modcache    string
	logDir      string
}

// Patches maps a staging patch path (relative to Root) to its content.
type Patches map[string][]byte

// Generate materializes the trees, runs every generator and returns the
// generated patches it would write. It does not touch staging/.
func Generate(ctx context.Context, cfg Config) (Patches, error) {
	e, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	out := Patches{}
	for i, g := range generators {
		if err := cfg.Steps.Run("Running "+g.name, func() error { return g.run(ctx, e) }); err != nil {
			return nil, fmt.Errorf("%s: %w (log in %s)", g.name, err, filepath.Join(e.logDir, g.name+".log"))
		}
		for _, module := range e.moduleOrder() {
			diff, err := e.trees[module].commit(ctx, g.name)
			if err != nil {
				return nil, err
			}
			if len(diff) == 0 {
				continue
			}
			name := filepath.Join("staging", filepath.FromSlash(module), PatchName(i, g.name))
			out[name] = append([]byte(Header(g.name, module, g.what)), diff...)
		}
	}
	return out, nil
}

// Write replaces the generated patches of every module codegen covers.
func Write(root string, patches Patches) error {
	for _, module := range alwaysMaterialized {
		old, _ := filepath.Glob(filepath.Join(root, "staging", filepath.FromSlash(module), "9*-generated-*.patch"))
		for _, p := range old {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, content := range patches {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Stale lists the differences between the patches generated now and those
// committed, as "path: why" lines; empty means the series is up to date.
func Stale(root string, patches Patches) []string {
	var problems []string
	committed := map[string]bool{}
	for _, module := range alwaysMaterialized {
		old, _ := filepath.Glob(filepath.Join(root, "staging", filepath.FromSlash(module), "9*-generated-*.patch"))
		for _, p := range old {
			rel, _ := filepath.Rel(root, p)
			committed[rel] = true
			if _, ok := patches[rel]; !ok {
				problems = append(problems, rel+": generators no longer produce it")
			}
		}
	}
	for name, content := range patches {
		old, err := os.ReadFile(filepath.Join(root, name))
		switch {
		case err != nil:
			problems = append(problems, name+": missing")
		case !bytes.Equal(old, content):
			problems = append(problems, name+": differs from what the generators produce")
		}
	}
	sort.Strings(problems)
	return problems
}

func prepare(ctx context.Context, cfg Config) (*env, error) {
	var err error
	// Generators run in other directories; every path they get is absolute.
	for _, p := range []*string{&cfg.Root, &cfg.Out, &cfg.Bin} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, err
		}
	}
	e := &env{Config: cfg, trees: map[string]*tree{}, logDir: filepath.Join(cfg.Out, "logs")}
	if e.modcache, err = patchtree.GoEnv("GOMODCACHE"); err != nil {
		return nil, err
	}
	all, err := patchtree.FindSeries(filepath.Join(cfg.Root, "staging"))
	if err != nil {
		return nil, err
	}
	hand := map[string]patchtree.Series{}
	for _, s := range all {
		hand[s.Module] = s.HandWritten()
	}
	resolver := patchtree.GoResolver{Dir: cfg.Root}
	modules := append([]string{}, alwaysMaterialized...)
	for _, s := range all {
		if !contains(modules, s.Module) {
			if _, err := resolver.Resolve(s.Module); err == nil { // tools' modules are not ours to generate
				modules = append(modules, s.Module)
			}
		}
	}
	for _, module := range modules {
		if err := os.MkdirAll(e.logDir, 0o755); err != nil {
			return nil, err
		}
		err := cfg.Steps.Run("Materializing "+module+" with hand-written patches", func() error {
			mod, err := resolver.Resolve(module)
			if err != nil {
				return err
			}
			s := hand[module]
			s.Module = module
			t := &tree{mod: mod, hand: s,
				dir:    filepath.Join(cfg.Out, "src", filepath.FromSlash(module)+"@"+mod.Version),
				gitDir: filepath.Join(cfg.Out, "git", filepath.FromSlash(module)+".git")}
			// A tree the last run left with generated output keeps a valid
			// stamp; without it Materialize compares every file and undoes
			// that output.
			if err := os.Remove(filepath.Join(t.dir, ".patchtree-stamp")); err != nil && !os.IsNotExist(err) {
				return err
			}
			if _, err := patchtree.Materialize(mod, s, t.dir); err != nil {
				return err
			}
			e.trees[module] = t
			return t.baselineCommit(ctx)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := e.writeWorkspace(); err != nil {
		return nil, err
	}
	if err := e.linkGopath(); err != nil {
		return nil, err
	}
	bp, err := os.ReadFile(filepath.Join(e.trees["k8s.io/kubernetes"].mod.Dir, "hack", "boilerplate", "boilerplate.generatego.txt"))
	if err != nil {
		return nil, err
	}
	e.boilerplate = filepath.Join(cfg.Out, "boilerplate.generatego.txt")
	return e, os.WriteFile(e.boilerplate, bp, 0o644)
}

func (e *env) moduleOrder() []string {
	mods := make([]string, 0, len(e.trees))
	for m := range e.trees {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	return mods
}

func (e *env) writeWorkspace() error {
	root, err := filepath.Abs(e.Root)
	if err != nil {
		return err
	}
	version, err := patchtree.GoVersion(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	ws := patchtree.Workspace{GoVersion: version, Use: []string{root}, Replace: map[string]string{}}
	for m, t := range e.trees {
		abs, err := filepath.Abs(t.dir)
		if err != nil {
			return err
		}
		ws.Replace[m] = abs
	}
	e.workspace, err = filepath.Abs(filepath.Join(e.Out, "go.work"))
	if err != nil {
		return err
	}
	return os.WriteFile(e.workspace, ws.Render(), 0o644)
}

// linkGopath builds the import-path layout go-to-protobuf and protoc expect
// (<dir>/k8s.io/api/core/v1/generated.proto) from symlinks: our trees for
// what may be generated, the read-only module cache for what is only read.
func (e *env) linkGopath() error {
	e.gopath = filepath.Join(e.Out, "gopath")
	if err := os.RemoveAll(e.gopath); err != nil {
		return err
	}
	links := map[string]string{}
	for _, dep := range []struct{ module, gomodDir string }{
		{"k8s.io/apimachinery", e.Root},
		// gogo.proto comes with the generators' pinned gogo/protobuf.
		{"github.com/gogo/protobuf", filepath.Join(e.Root, GeneratorsModuleDir)},
	} {
		mod, err := patchtree.GoResolver{Dir: dep.gomodDir}.Resolve(dep.module)
		if err != nil {
			return err
		}
		links[dep.module] = mod.Dir
	}
	for m, t := range e.trees {
		abs, err := filepath.Abs(t.dir)
		if err != nil {
			return err
		}
		links[m] = abs
	}
	for importPath, target := range links {
		if _, err := os.Stat(target); err != nil {
			return fmt.Errorf("gopath link %s: %w (run go mod download)", importPath, err)
		}
		link := filepath.Join(e.gopath, filepath.FromSlash(importPath))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	return nil
}

// run executes a generator binary inside the codegen workspace, appending
// its output to the generator's log.
func (e *env) run(ctx context.Context, log, name string, args ...string) error {
	return e.runIn(ctx, e.Root, log, name, args...)
}

func (e *env) runIn(ctx context.Context, dir, log, name string, args ...string) error {
	f, err := os.OpenFile(filepath.Join(e.logDir, log+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "$ %s %s\n", name, strings.Join(args, " "))
	if !strings.Contains(name, "/") {
		if p := filepath.Join(e.Bin, name); fileExists(p) {
			name = p
		}
	}
	// go-to-protobuf needs its working directory (it hands protoc "-I .").
	err = exec.Host.Command(ctx, name, args...).SetDir(dir).
		SetStdout(f).SetStderr(f).
		SetEnv("GOWORK="+e.workspace, "GOFLAGS=-mod=readonly",
			"PATH="+e.Bin+string(os.PathListSeparator)+os.Getenv("PATH")).
		Run()
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(name), exec.Cause(err))
	}
	return nil
}

func (t *tree) git(ctx context.Context, args ...string) ([]byte, error) {
	out, err := exec.Output(exec.Host.Command(ctx, "git", append([]string{
		"--git-dir=" + t.gitDir, "--work-tree=" + t.dir,
		"-c", "user.name=kubenext codegen", "-c", "user.email=codegen@kubenext.invalid",
		"-c", "core.autocrlf=false", "-c", "gc.auto=0"}, args...)...))
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %w: %s", args[0], t.dir, exec.Cause(err), exec.OutputOf(err))
	}
	return out, nil
}

func (t *tree) baselineCommit(ctx context.Context) error {
	if _, err := os.Stat(t.gitDir); os.IsNotExist(err) {
		if err := os.MkdirAll(t.gitDir, 0o755); err != nil {
			return err
		}
		if _, err := t.git(ctx, "init", "-q"); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(t.gitDir, "info", "exclude"), []byte(".patchtree-stamp\n"), 0o644); err != nil {
			return err
		}
	}
	_, err := t.commit(ctx, "hand-written")
	return err
}

// commit records the tree and returns what changed since the last commit,
// as a patch against the module root.
func (t *tree) commit(ctx context.Context, what string) ([]byte, error) {
	if _, err := t.git(ctx, "add", "-A"); err != nil {
		return nil, err
	}
	var diff []byte
	if t.baseline != "" {
		var err error
		diff, err = t.git(ctx, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames",
			"--src-prefix=a/", "--dst-prefix=b/", "-U3", "--full-index", "HEAD")
		if err != nil {
			return nil, err
		}
	}
	if _, err := t.git(ctx, "commit", "-q", "--allow-empty", "--no-verify", "-m", what); err != nil {
		return nil, err
	}
	head, err := t.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	t.baseline = strings.TrimSpace(string(head))
	return diff, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
