// Package codegen regenerates the generated-code patches of our series.
//
// Upstream regenerates code in place (hack/update-codegen.sh). We have no
// upstream tree to regenerate in, so codegen materializes each module with
// only its hand-written patches, runs upstream's generators over those
// trees, and turns what each generator changed into one patch per module
// and generator (staging/<module>/90NN-generated-<generator>.patch).
//
// This file holds the decisions that need no processes: which packages a
// hand-written series touches, which packages the OpenAPI generator reads,
// and what a generated patch's header says.
package codegen

import (
	"fmt"
	"go/parser"
	"go/token"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/kubenext/kubenext/internal/patchtree"
)

// TouchedPackages returns the directories (relative to the module root)
// holding non-test Go files that the series changes, sorted. These are the
// API packages whose generated code must follow the hand-written types.
func TouchedPackages(s patchtree.Series) []string {
	seen := map[string]bool{}
	for _, p := range s.Patches {
		for _, f := range p.Files {
			name := f.NewName
			if f.IsDelete {
				name = f.OldName
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			seen[path.Dir(name)] = true
		}
	}
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// openAPIHelpers are imported by the generated OpenAPI file for its own
// use; they are not inputs of the generator.
var openAPIHelpers = map[string]bool{
	"k8s.io/kube-openapi/pkg/common":          true,
	"k8s.io/kube-openapi/pkg/validation/spec": true,
	"k8s.io/utils/ptr":                        true,
}

// OpenAPIInputs returns the packages upstream fed to openapi-gen, read from
// the imports of the pristine zz_generated.openapi.go: every package with an
// OpenAPI definition is imported there. Upstream finds them by grepping its
// whole tree for +k8s:openapi-gen tags, which we cannot do from the module
// cache without guessing its layout.
func OpenAPIInputs(generatedFile []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "zz_generated.openapi.go", generatedFile, parser.ImportsOnly)
	if err != nil {
		return nil, fmt.Errorf("reading the pristine OpenAPI file's imports: %w", err)
	}
	var pkgs []string
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, err
		}
		if !openAPIHelpers[p] {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("the pristine OpenAPI file imports no API package; is it the generated one?")
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

// PatchName is the file name of a generator's patch: numbered from 9001 in
// generator order, so that every generated patch applies after the
// hand-written ones and in the order the generators ran.
func PatchName(index int, generator string) string {
	return fmt.Sprintf("%04d-generated-%s.patch", patchtree.GeneratedSeriesStart+1+index, generator)
}

// Header renders the header of a generated patch; patchtree checks it like
// any other, and Generated-By marks it for the next regeneration.
func Header(generator, module, what string) string {
	return fmt.Sprintf(`Subject: generated: %[1]s for %[2]s
What: %[3]s
Why: our hand-written API changes in this series; regenerate with
  make codegen, never edit by hand.
Calls: none
Generated-By: hack/codegen %[1]s

`, generator, module, what)
}
