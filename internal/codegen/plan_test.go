package codegen

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/patchtree"
)

const typesPatch = `Subject: s
What: w
Why: y
Calls: none

diff --git a/core/v1/types.go b/core/v1/types.go
--- a/core/v1/types.go
+++ b/core/v1/types.go
@@ -1,1 +1,2 @@
 package v1
+// x
diff --git a/core/v1/types_test.go b/core/v1/types_test.go
--- a/core/v1/types_test.go
+++ b/core/v1/types_test.go
@@ -1,1 +1,2 @@
 package v1
+// x
diff --git a/apps/v1/README.md b/apps/v1/README.md
--- a/apps/v1/README.md
+++ b/apps/v1/README.md
@@ -1,1 +1,2 @@
 a
+b
`

func readPatch(t *testing.T, name, content string) patchtree.Patch {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := patchtree.ReadPatch(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTouchedPackagesCountsOnlyNonTestGoFiles(t *testing.T) {
	s := patchtree.Series{Module: "k8s.io/api", Patches: []patchtree.Patch{readPatch(t, "0001-x.patch", typesPatch)}}
	if got, want := TouchedPackages(s), []string{"core/v1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TouchedPackages = %v, want %v", got, want)
	}
}

func TestOpenAPIInputsAreTheAPIImports(t *testing.T) {
	src := []byte(`package openapi

import (
	v1 "k8s.io/api/core/v1"
	common "k8s.io/kube-openapi/pkg/common"
	spec "k8s.io/kube-openapi/pkg/validation/spec"
	ptr "k8s.io/utils/ptr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)
`)
	got, err := OpenAPIInputs(src)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"k8s.io/api/core/v1", "k8s.io/apimachinery/pkg/apis/meta/v1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("OpenAPIInputs = %v, want %v", got, want)
	}
	if _, err := OpenAPIInputs([]byte("package openapi\n")); err == nil {
		t.Error("a file importing no API package must be refused")
	}
}

// A generated patch must pass patchtree's own checks: header, numbering
// above the hand-written range, and being dropped by HandWritten.
func TestGeneratedPatchesAreRecognisedByPatchtree(t *testing.T) {
	name := PatchName(0, "protobuf")
	if name != "9001-generated-protobuf.patch" {
		t.Fatalf("PatchName(0) = %s", name)
	}
	body := typesPatch[strings.Index(typesPatch, "diff --git"):]
	dir := filepath.Join(t.TempDir(), "staging", "k8s.io", "api")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, content := range map[string]string{
		"0001-hand.patch": typesPatch,
		name:              Header("protobuf", "k8s.io/api", "generated.pb.go.") + body,
	} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	series, err := patchtree.FindSeries(filepath.Dir(filepath.Dir(dir)))
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Patches) != 2 {
		t.Fatalf("series = %+v", series)
	}
	if g := series[0].Patches[1].Header.GeneratedBy; g != "hack/codegen protobuf" {
		t.Errorf("Generated-By = %q", g)
	}
	if hand := series[0].HandWritten(); len(hand.Patches) != 1 {
		t.Errorf("HandWritten kept %d patches, want 1", len(hand.Patches))
	}
	// The same generated patch numbered in the hand-written range is refused.
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "0002-generated-protobuf.patch")); err != nil {
		t.Fatal(err)
	}
	if _, err := patchtree.FindSeries(filepath.Dir(filepath.Dir(dir))); err == nil || !strings.Contains(err.Error(), "9000 or higher") {
		t.Errorf("a generated patch numbered 0002 was accepted: %v", err)
	}
}
