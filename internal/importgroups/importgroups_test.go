package importgroups

import (
	"os"
	"strings"
	"testing"
)

const own = "github.com/kubenext/kubenext"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, imports, want string
	}{
		{"three groups", `"fmt"

	"k8s.io/api/core/v1"

	"github.com/kubenext/kubenext/internal/exec"`, ""},
		{"std only", `"fmt"
	"os"`, ""},
		{"own in the third-party group", `"fmt"

	"k8s.io/api/core/v1"
	"github.com/kubenext/kubenext/internal/exec"`, "is in a third-party group"},
		{"std after third-party", `"k8s.io/api/core/v1"

	"fmt"`, "must come before"},
		{"two std groups", `"fmt"

	"os"`, "starts a second standard library group"},
		{"a commented group of the same kind", `"fmt"

	"k8s.io/api/core/v1"

	// The packages that define the specs.
	_ "k8s.io/kubernetes/test/e2e/apps"`, ""},
		{"a commented group still keeps the order", `"k8s.io/api/core/v1"

	// why
	_ "embed"`, "must come before"},
		{"commented import stays in its group", `"fmt"

	// why
	v1 "k8s.io/api/core/v1"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "package p\n\nimport (\n\t" + tc.imports + "\n)\n"
			expectProblems(t, src, tc.want)
		})
	}
}

// cgo's import "C" comes alone, under its preamble, before the groups.
func TestCheckSkipsCgo(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"C then the groups", "package p\n\n// #include <stdint.h>\nimport \"C\"\n\nimport (\n\t\"fmt\"\n\n\t\"k8s.io/api/core/v1\"\n)\n", ""},
		{"the groups after C are still checked", "package p\n\nimport \"C\"\n\nimport (\n\t\"k8s.io/api/core/v1\"\n\n\t\"fmt\"\n)\n", "must come before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectProblems(t, tc.src, tc.want)
		})
	}
}

func TestKindOf(t *testing.T) {
	for path, want := range map[string]Kind{
		"net/http": Std, "k8s.io/api": ThirdParty, "github.com/kubenext/kubenext": Own,
		"github.com/kubenext/kubenext/pkg/features": Own, "github.com/kubenext/kubenextother": ThirdParty,
	} {
		if got := KindOf(path, own); got != want {
			t.Errorf("KindOf(%s) = %v, want %v", path, got, want)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/good.go"
	bad := dir + "/bad.go"
	writeFile(t, good, "package p\n\nimport (\n\t\"fmt\"\n\n\t\"k8s.io/api\"\n)\n")
	writeFile(t, bad, "package p\n\nimport (\n\t\"k8s.io/api\"\n\t\"fmt\"\n)\n")
	problems, err := CheckFiles([]string{good, bad}, own)
	if err != nil || len(problems) != 1 || !strings.HasPrefix(problems[0], bad+":5:") {
		t.Fatalf("CheckFiles = %q, %v", problems, err)
	}
	if _, err := CheckFiles([]string{dir + "/absent.go"}, own); err == nil {
		t.Error("a missing file must be an error")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expectProblems checks src and wants no problem (want "") or one that
// contains want.
func expectProblems(t *testing.T, src, want string) {
	t.Helper()
	got, err := Check("p.go", []byte(src), own)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(got, "\n")
	if want == "" && joined != "" || want != "" && !strings.Contains(joined, want) {
		t.Fatalf("Check = %q, want %q", joined, want)
	}
}
