package patchtree

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

// pinned is a Resolver that knows a fixed set of modules.
type pinned map[string]Module

func (p pinned) Resolve(module string) (Module, error) {
	if m, ok := p[module]; ok {
		return m, nil
	}
	return Module{}, errors.New("not pinned: " + module)
}

// repo lays out a repository root with a go.mod and one series for
// example.com/up, and returns it with the module the series patches.
func repo(t *testing.T, goLine string) (string, Module) {
	t.Helper()
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/ours\n\n"+goLine+"\n\nrequire example.com/up v1.0.0\n")
	write(t, filepath.Join(root, "staging", "example.com", "up", "0001-greet.patch"), greetPatch)
	return root, fakeModule(t)
}

func TestApplyComposesTheWorkspace(t *testing.T) {
	root, mod := repo(t, "go 1.25.7 // the toolchain we test with")
	out := filepath.Join(t.TempDir(), "out")
	var stdout bytes.Buffer
	tool := &Tool{Root: root, Out: out, Stdout: &stdout, ModCache: filepath.Join(t.TempDir(), "modcache"),
		Sources: []Source{{pinned{"example.com/up": mod}, true}}}
	if err := tool.Apply(); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(out, root)
	work := read(t, filepath.Join(out, "go.work"))
	for _, want := range []string{
		"go 1.25.7\n",
		"use " + filepath.ToSlash(rel) + "\n",
		"\texample.com/up => ./src/example.com/up@v1.0.0\n",
	} {
		if !strings.Contains(work, want) {
			t.Errorf("go.work lacks %q:\n%s", want, work)
		}
	}
	if got := read(t, filepath.Join(out, "src", "example.com", "up@v1.0.0", "greet", "greet.go")); !strings.Contains(got, `"hi "`) {
		t.Errorf("the tree is not patched:\n%s", got)
	}
	if !strings.Contains(stdout.String(), "patchtree: example.com/up@v1.0.0: 1 patch(es), ") ||
		!strings.HasSuffix(stdout.String(), "patchtree: wrote "+filepath.Join(out, "go.work")+"\n") {
		t.Errorf("progress:\n%s", stdout.String())
	}

	// Nothing changed: go.work is not rewritten, so make sees nothing new.
	stdout.Reset()
	if err := tool.Apply(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "wrote") {
		t.Errorf("an unchanged go.work was rewritten:\n%s", stdout.String())
	}
}

func TestApplyMaterializesToolModulesOutsideTheWorkspace(t *testing.T) {
	root, mod := repo(t, "go 1.26.0")
	out := t.TempDir()
	tool := &Tool{Root: root, Out: out, Stdout: &bytes.Buffer{}, ModCache: filepath.Join(t.TempDir(), "modcache"),
		Sources: []Source{{pinned{}, true}, {pinned{"example.com/up": mod}, false}}}
	if err := tool.Apply(); err != nil {
		t.Fatal(err)
	}
	if work := read(t, filepath.Join(out, "go.work")); strings.Contains(work, "replace") {
		t.Errorf("a tools module must not be replaced in the workspace:\n%s", work)
	}
	if _, err := os.Stat(filepath.Join(out, "src", "example.com", "up@v1.0.0", "greet", "greet.go")); err != nil {
		t.Errorf("a tools module must still be materialized: %v", err)
	}
}

func TestApplyRefusesAnOutputInsideTheModuleCache(t *testing.T) {
	root, mod := repo(t, "go 1.26.0")
	modcache := t.TempDir()
	for _, out := range []string{modcache, filepath.Join(modcache, "k8s.io", "out")} {
		tool := &Tool{Root: root, Out: out, Stdout: &bytes.Buffer{}, ModCache: modcache + "/",
			Sources: []Source{{pinned{"example.com/up": mod}, true}}}
		err := tool.Apply()
		if err == nil || !strings.Contains(err.Error(), "is inside the module cache") || !strings.Contains(err.Error(), "choose another -out") {
			t.Errorf("-out %s: got %v, want a refusal", out, err)
		}
		if _, err := os.Stat(filepath.Join(out, "go.work")); err == nil {
			t.Errorf("-out %s: go.work written despite the refusal", out)
		}
	}
	// A sibling whose name only starts like the cache is outside it.
	if err := refuseModCache(modcache+"-out", modcache); err != nil {
		t.Errorf("a sibling of the module cache refused: %v", err)
	}
}

func TestApplyNamesAnUnpinnedModule(t *testing.T) {
	root, _ := repo(t, "go 1.26.0")
	tool := &Tool{Root: root, Out: t.TempDir(), Stdout: &bytes.Buffer{}, ModCache: t.TempDir(),
		Sources: []Source{{pinned{}, true}, {pinned{}, false}}}
	err := tool.Apply()
	if err == nil || !strings.Contains(err.Error(), "staging/example.com/up: no go.mod of ours pins this module (not pinned: example.com/up; not pinned: example.com/up)") {
		t.Errorf("got %v", err)
	}
}

func TestVerify(t *testing.T) {
	root, mod := repo(t, "go 1.26.0")
	if err := os.MkdirAll(filepath.Join(root, "pkg", "hi"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	tool := &Tool{Root: root, Stdout: &stdout, Sources: []Source{{pinned{"example.com/up": mod}, true}}}
	// greetPatch names example.com/ours/pkg/hi in Calls:, which is not
	// our module's path and which the patch does not import.
	err := tool.Verify()
	if err == nil || !strings.HasPrefix(err.Error(), "1 problem(s):\n  ") {
		t.Errorf("Verify = %v, want the dishonest Calls: header reported", err)
	}
	if stdout.String() != "patchtree: example.com/up@v1.0.0: 1 patch(es) apply\n" {
		t.Errorf("progress %q", stdout.String())
	}
	write(t, filepath.Join(root, "staging", "example.com", "up", "0002-broken.patch"), strings.Replace(greetPatch, "-\treturn \"hello \"", "-\treturn \"howdy \"", 1))
	if err := tool.Verify(); err == nil || !strings.Contains(err.Error(), "0002-broken.patch") {
		t.Errorf("a patch that does not apply must be named, got %v", err)
	}
}

func TestRunRefusesUnknownCommands(t *testing.T) {
	if err := Run("materialize", ".", "_output", &bytes.Buffer{}); err == nil || err.Error() != `unknown command "materialize": use apply or verify` {
		t.Errorf("got %v", err)
	}
}

func TestGoVersion(t *testing.T) {
	dir := t.TempDir()
	for text, want := range map[string]string{
		"module m\n\ngo 1.26.0\n":                             "1.26.0",
		"module m\n\ngo 1.25 // pinned\ntoolchain go1.26.8\n": "1.25",
		"module m\n// go 1.1\n\tgo   1.24.3\n":                "1.24.3",
	} {
		path := filepath.Join(dir, "go.mod")
		write(t, path, text)
		if got, err := GoVersion(path); err != nil || got != want {
			t.Errorf("GoVersion(%q) = %q, %v; want %s", text, got, err, want)
		}
	}
	write(t, filepath.Join(dir, "go.mod"), "module m\n")
	if _, err := GoVersion(filepath.Join(dir, "go.mod")); err == nil {
		t.Error("a go.mod without a go line must be an error")
	}
	if _, err := GoVersion(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing go.mod must be an error")
	}
}

func TestGoResolver(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"go -C /repo list -m -json example.com/up":               {Stdout: `{"Path":"example.com/up","Version":"v1.0.0","Replace":{"Path":"example.com/fork","Version":"v1.0.1"}}`},
		"go -C /repo mod download -json example.com/fork@v1.0.1": {Stdout: `{"Dir":"/cache/example.com/fork@v1.0.1","Sum":"h1:x"}`},
		"go -C /repo list -m -json example.com/missing":          {ExitCode: 1, Stderr: "go: module example.com/missing: not a known dependency\n"},
		"go -C /repo list -m -json example.com/local":            {Stdout: `{"Path":"example.com/local","Version":"v0.0.0","Replace":{"Path":"../local"}}`},
	}}
	r := GoResolver{Dir: "/repo", Host: fake}
	mod, err := r.Resolve("example.com/up")
	if err != nil || mod != (Module{Path: "example.com/up", Version: "v1.0.1", Dir: "/cache/example.com/fork@v1.0.1", Sum: "h1:x"}) {
		t.Errorf("Resolve = %+v, %v", mod, err)
	}
	for _, c := range fake.Calls {
		if len(c.Env) != 1 || c.Env[0] != "GOWORK=off" {
			t.Errorf("%s ran with env %v: it must run outside any workspace", c.Line, c.Env)
		}
	}
	_, err = r.Resolve("example.com/missing")
	if err == nil || err.Error() != "staging/example.com/missing: go [list -m -json example.com/missing]: exit status 1: go: module example.com/missing: not a known dependency (is it a module that go.mod requires?)" {
		t.Errorf("got %v", err)
	}
	if _, err := r.Resolve("example.com/local"); err == nil || !strings.Contains(err.Error(), "replaces it with the directory ../local") {
		t.Errorf("got %v", err)
	}
}
