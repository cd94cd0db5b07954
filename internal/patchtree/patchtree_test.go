package patchtree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pristineGreet = `package greet

import "strings"

func Hello(name string) string {
	return "hello " + strings.TrimSpace(name)
}
`

const header = `Subject: greet says hi
What: Hello calls our package.
Why: tests need a patch.
Calls: example.com/ours/pkg/hi

`

const greetPatch = header + `diff --git a/greet/greet.go b/greet/greet.go
--- a/greet/greet.go
+++ b/greet/greet.go
@@ -3,5 +3,5 @@ package greet
 import "strings"
 
 func Hello(name string) string {
-	return "hello " + strings.TrimSpace(name)
+	return "hi " + strings.TrimSpace(name)
 }
`

// fakeModule lays out a module the way the module cache does: read-only
// files in read-only directories.
func fakeModule(t *testing.T) Module {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/up\n")
	write(t, filepath.Join(dir, "greet", "greet.go"), pristineGreet)
	write(t, filepath.Join(dir, "other", "other.go"), "package other\n")
	makeReadOnly(t, dir)
	return Module{Path: "example.com/up", Version: "v1.0.0", Dir: dir, Sum: "h1:fake"}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if d.IsDir() {
			dirs = append(dirs, path)
		} else {
			os.Chmod(path, 0o444)
		}
		return nil
	})
	for _, d := range dirs {
		os.Chmod(d, 0o555)
	}
	t.Cleanup(func() { // so that t.TempDir can remove it
		for _, d := range dirs {
			os.Chmod(d, 0o755)
		}
	})
}

func series(t *testing.T, patches ...string) Series {
	t.Helper()
	dir := t.TempDir()
	s := Series{Module: "example.com/up"}
	for i, text := range patches {
		path := filepath.Join(dir, "000"+string(rune('1'+i))+"-change.patch")
		write(t, path, text)
		p, err := ReadPatch(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Patches = append(s.Patches, p)
	}
	return s
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMaterializeAppliesAndIsIncremental(t *testing.T) {
	mod := fakeModule(t)
	dst := filepath.Join(t.TempDir(), "tree")

	st, err := Materialize(mod, series(t, greetPatch), dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != 3 || st.UpToDate {
		t.Errorf("first run: %+v, want 3 files written", st)
	}
	if got := read(t, filepath.Join(dst, "greet", "greet.go")); !strings.Contains(got, `"hi "`) {
		t.Errorf("patched file not patched:\n%s", got)
	}
	info, err := os.Stat(filepath.Join(dst, "other", "other.go"))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("copied files must be owner-writable 0644, got %v (%v)", info.Mode(), err)
	}

	st, err = Materialize(mod, series(t, greetPatch), dst)
	if err != nil || !st.UpToDate {
		t.Errorf("second run with the same inputs: %+v, %v; want up to date", st, err)
	}

	// Editing the patch rewrites only the file it touches.
	edited := strings.Replace(greetPatch, `"hi "`, `"hey "`, 1)
	st, err = Materialize(mod, series(t, edited), dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != 1 || st.Unchanged != 2 || st.Removed != 0 {
		t.Errorf("after editing the patch: %+v, want 1 written, 2 unchanged", st)
	}

	// Dropping the series restores the pristine file.
	st, err = Materialize(mod, Series{Module: mod.Path}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dst, "greet", "greet.go")); got != pristineGreet || st.Written != 1 {
		t.Errorf("without patches the tree must be pristine (stats %+v):\n%s", st, got)
	}
}

func TestMaterializeNeverWritesThroughHardLinks(t *testing.T) {
	mod := fakeModule(t)
	dst := filepath.Join(t.TempDir(), "tree")
	src := filepath.Join(mod.Dir, "greet", "greet.go")
	if err := os.MkdirAll(filepath.Join(dst, "greet"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A tree made with cp -al shares inodes with the module cache.
	if err := os.Link(src, filepath.Join(dst, "greet", "greet.go")); err != nil {
		t.Skipf("cannot hard-link here: %v", err)
	}
	if _, err := Materialize(mod, series(t, greetPatch), dst); err != nil {
		t.Fatal(err)
	}
	if got := read(t, src); got != pristineGreet {
		t.Fatalf("the pristine module was modified through a hard link:\n%s", got)
	}
	if got := read(t, filepath.Join(dst, "greet", "greet.go")); !strings.Contains(got, `"hi "`) {
		t.Errorf("patched file not patched:\n%s", got)
	}
}

func TestMaterializeRefusesToWriteIntoTheSource(t *testing.T) {
	mod := fakeModule(t)
	_, err := Materialize(mod, series(t, greetPatch), filepath.Join(mod.Dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("got %v, want a refusal", err)
	}
}

func TestApplyFailureNamesPatchAndHunk(t *testing.T) {
	mod := fakeModule(t)
	// One context line no longer matches upstream.
	drifted := strings.Replace(greetPatch, " import \"strings\"", " import \"bytes\"", 1)
	_, err := ApplySeries(mod, series(t, drifted))
	if err == nil {
		t.Fatal("a patch whose context moved must not apply")
	}
	for _, want := range []string{"0001-change.patch", "example.com/up@v1.0.0", "greet/greet.go", "hunk #1", "@@ -3,5 +3,5 @@", "line 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestApplyMissingFile(t *testing.T) {
	mod := fakeModule(t)
	p := strings.ReplaceAll(greetPatch, "greet/greet.go", "greet/gone.go")
	_, err := ApplySeries(mod, series(t, p))
	if err == nil || !strings.Contains(err.Error(), "greet/gone.go: no such file in example.com/up@v1.0.0") {
		t.Fatalf("got %v", err)
	}
}

func TestPatchesStackInOrder(t *testing.T) {
	mod := fakeModule(t)
	second := header + `diff --git a/greet/greet.go b/greet/greet.go
--- a/greet/greet.go
+++ b/greet/greet.go
@@ -6,2 +6,2 @@ func Hello(name string) string {
-	return "hi " + strings.TrimSpace(name)
+	return "hi, " + strings.TrimSpace(name)
 }
`
	ov, err := ApplySeries(mod, series(t, greetPatch, second))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ov.Files["greet/greet.go"]); !strings.Contains(got, `"hi, "`) {
		t.Errorf("second patch must apply on top of the first:\n%s", got)
	}
}

func TestHeaderIsRequired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0001-x.patch")
	write(t, path, strings.Replace(greetPatch, "Why: tests need a patch.\n", "", 1))
	_, err := ReadPatch(path)
	if err == nil || !strings.Contains(err.Error(), "Why:") {
		t.Fatalf("got %v, want a complaint about the missing Why:", err)
	}
}

func TestHeaderContinuationLines(t *testing.T) {
	h, err := parseHeader("Subject: s\nWhat: one\n  two\nWhy: w\nCalls: none\n")
	if err != nil {
		t.Fatal(err)
	}
	if h.What != "one two" || h.Calls != "none" {
		t.Errorf("got %+v", h)
	}
}

func TestFindSeries(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "k8s.io", "api", "0002-b.patch"), greetPatch)
	write(t, filepath.Join(root, "k8s.io", "api", "0001-a.patch"), greetPatch)
	write(t, filepath.Join(root, "k8s.io", "kubernetes", "0001-c.patch"), greetPatch)
	write(t, filepath.Join(root, "k8s.io", "kubernetes", "README.md"), "not a patch")
	all, err := FindSeries(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Module != "k8s.io/api" || all[1].Module != "k8s.io/kubernetes" {
		t.Fatalf("got %+v", all)
	}
	if filepath.Base(all[0].Patches[0].Path) != "0001-a.patch" || filepath.Base(all[0].Patches[1].Path) != "0002-b.patch" {
		t.Errorf("patches must be ordered by number: %v, %v", all[0].Patches[0].Path, all[0].Patches[1].Path)
	}

	write(t, filepath.Join(root, "k8s.io", "api", "fix.patch"), greetPatch)
	if _, err := FindSeries(root); err == nil || !strings.Contains(err.Error(), "NNNN-<what>.patch") {
		t.Errorf("a badly named patch must be rejected, got %v", err)
	}
}

func TestCheckCalls(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "pkg", "hi"), 0o755); err != nil {
		t.Fatal(err)
	}
	withImport := strings.Replace(greetPatch, `+	return "hi "`, "+\t_ = \"example.com/ours/pkg/hi\"\n+\treturn \"hi \"", 1)
	withImport = strings.Replace(withImport, "@@ -3,5 +3,5 @@", "@@ -3,5 +3,6 @@", 1)
	p := series(t, withImport).Patches[0]
	if err := CheckCalls(p, "example.com/ours", root); err != nil {
		t.Errorf("honest header rejected: %v", err)
	}
	p = series(t, greetPatch).Patches[0]
	if err := CheckCalls(p, "example.com/ours", root); err == nil || !strings.Contains(err.Error(), "no line the patch adds imports it") {
		t.Errorf("a patch that does not import its Calls: package must fail, got %v", err)
	}
	p.Header.Calls = "example.com/ours/pkg/missing"
	if err := CheckCalls(p, "example.com/ours", root); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("got %v", err)
	}
	p.Header.Calls = "k8s.io/other"
	if err := CheckCalls(p, "example.com/ours", root); err == nil || !strings.Contains(err.Error(), "not a package of") {
		t.Errorf("got %v", err)
	}
}

func TestWorkspaceRender(t *testing.T) {
	got := string(Workspace{
		GoVersion: "1.26.0",
		Use:       []string{".."},
		Replace:   map[string]string{"k8s.io/kubernetes": "./src/k8s.io/kubernetes@v1.37.2", "k8s.io/api": "./src/k8s.io/api@v0.37.2"},
	}.Render())
	for _, want := range []string{"go 1.26.0\n", "use ..\n", "\tk8s.io/api => ./src/k8s.io/api@v0.37.2\n\tk8s.io/kubernetes => ./src/k8s.io/kubernetes@v1.37.2\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("go.work lacks %q:\n%s", want, got)
		}
	}
}
