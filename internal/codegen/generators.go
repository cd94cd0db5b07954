package codegen

import (
	"bytes"
	"context"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
)

// generator is one of upstream's code generators, run the way
// hack/update-codegen.sh runs it but only over the packages our
// hand-written patches touch. The order matters: OpenAPI reads the types,
// the apply configurations read the OpenAPI.
type generator struct {
	name string
	what string // the What: line of its patches
	run  func(ctx context.Context, e *env) error
}

var generators = []generator{
	{"protobuf", "generated.proto and generated.pb.go from go-to-protobuf (protoc with protoc-gen-gogo).", protobuf},
	{"swagger-docs", "types_swagger_doc_generated.go from genswaggertypedocs.", swaggerDocs},
	{"deepcopy", "zz_generated.deepcopy.go from deepcopy-gen.", deepcopy},
	{"conversion", "zz_generated.conversion.go from conversion-gen.", conversion},
	{"openapi", "pkg/generated/openapi from openapi-gen; kubectl explain, client-side apply and server-side apply read it.", openapi},
	{"applyconfigurations", "applyconfigurations from applyconfiguration-gen over the OpenAPI models.", applyConfigurations},
}

// touched returns the packages of module our hand-written patches change
// that hold a file named marker in the pristine module, as import paths.
func (e *env) touched(module, marker string) []string {
	t, ok := e.trees[module]
	if !ok {
		return nil
	}
	var pkgs []string
	for _, dir := range TouchedPackages(t.hand) {
		if fileExists(filepath.Join(t.mod.Dir, filepath.FromSlash(dir), marker)) {
			pkgs = append(pkgs, module+"/"+dir)
		}
	}
	return pkgs
}

// packagesWith lists the packages of a pristine module holding a file named
// marker.
func (e *env) packagesWith(module, marker string) ([]string, error) {
	root := e.trees[module].mod.Dir
	var pkgs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != marker {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkgs = append(pkgs, module+"/"+filepath.ToSlash(rel))
		return nil
	})
	return pkgs, err
}

func protobuf(ctx context.Context, e *env) error {
	targets := e.touched("k8s.io/api", "generated.proto")
	if len(targets) == 0 {
		return nil
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		return fmt.Errorf("protoc is missing: run make codegen, which installs Debian's protobuf-compiler")
	}
	// Every other API package is read, never written, so references
	// between packages resolve.
	all, err := e.packagesWith("k8s.io/api", "generated.proto")
	if err != nil {
		return err
	}
	pkgs := append([]string{}, targets...)
	for _, p := range all {
		if !contains(targets, p) {
			pkgs = append(pkgs, "-"+p)
		}
	}
	machinery := []string{"-k8s.io/apimachinery/pkg/util/intstr", "-k8s.io/apimachinery/pkg/api/resource",
		"-k8s.io/apimachinery/pkg/runtime/schema", "-k8s.io/apimachinery/pkg/runtime",
		"-k8s.io/apimachinery/pkg/apis/meta/v1", "-k8s.io/apimachinery/pkg/apis/meta/v1beta1"}
	// go-to-protobuf hands protoc "-I ." first; running in the gopath
	// makes the .proto files' names their import paths, which is where
	// protoc-gen-gogo then writes the .pb.go files.
	return e.runIn(ctx, e.gopath, "protobuf", "go-to-protobuf",
		"--go-header-file", e.boilerplate,
		"--output-dir", ".",
		"--proto-import", ".",
		"--proto-import", filepath.Join(e.trees["k8s.io/kubernetes"].mod.Dir, "third_party", "protobuf"),
		"--apimachinery-packages", strings.Join(machinery, ","),
		"--packages", strings.Join(pkgs, ","))
}

// swaggerDocs rebuilds types_swagger_doc_generated.go the way upstream's
// gen_types_swagger_doc does: boilerplate, package clause, the fixed
// preamble, genswaggertypedocs' functions, the end marker, gofmt -s.
func swaggerDocs(ctx context.Context, e *env) error {
	for _, pkg := range e.touched("k8s.io/api", "types_swagger_doc_generated.go") {
		dir := filepath.Join(e.trees["k8s.io/api"].dir, strings.TrimPrefix(pkg, "k8s.io/api/"))
		funcs := filepath.Join(e.Out, "swagger-funcs.go.txt")
		if err := e.run(ctx, "swagger-docs", "genswaggertypedocs", "-s", filepath.Join(dir, "types.go"), "-f", funcs); err != nil {
			return err
		}
		body, err := os.ReadFile(funcs)
		if err != nil {
			return err
		}
		bp, err := os.ReadFile(e.boilerplate)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.Write(bp)
		fmt.Fprintf(&b, "\npackage %s\n\n%s\n", filepath.Base(dir), swaggerPreamble)
		b.Write(body)
		b.WriteString("// AUTO-GENERATED FUNCTIONS END HERE\n")
		src, err := format.Source(b.Bytes())
		if err != nil {
			return fmt.Errorf("formatting swagger docs of %s: %w", pkg, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "types_swagger_doc_generated.go"), src, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// swaggerPreamble is the fixed comment upstream's script puts above the
// generated functions; the file must match upstream's byte for byte so that
// the patch holds only what our types change.
const swaggerPreamble = `// This file contains a collection of methods that can be used from go-restful to
// generate Swagger API documentation for its models. Please read this PR for more
// information on the implementation: https://github.com/emicklei/go-restful/pull/215
//
// TODOs are ignored from the parser (e.g. TODO(andronat):... || TODO:...) if and only if
// they are on one line! For multiple line or blocks that you want to ignore use ---.
// Any context after a --- is ignored.
//
// Those methods can be generated by using hack/update-codegen.sh

// AUTO-GENERATED FUNCTIONS START HERE. DO NOT EDIT.
`

func deepcopy(ctx context.Context, e *env) error {
	pkgs := append(e.touched("k8s.io/api", "zz_generated.deepcopy.go"), e.touched("k8s.io/kubernetes", "zz_generated.deepcopy.go")...)
	if len(pkgs) == 0 {
		return nil
	}
	return e.run(ctx, "deepcopy", "deepcopy-gen", append([]string{
		"--go-header-file", e.boilerplate,
		"--output-file", "zz_generated.deepcopy.go"}, pkgs...)...)
}

// conversion regenerates the conversions of every versioned package whose
// internal package our patches touch (pkg/apis/core -> pkg/apis/core/v1).
func conversion(ctx context.Context, e *env) error {
	t := e.trees["k8s.io/kubernetes"]
	var pkgs []string
	for _, internal := range e.touched("k8s.io/kubernetes", "doc.go") {
		tag := "+k8s:conversion-gen=" + internal + "\n"
		dir := filepath.Join(t.dir, strings.TrimPrefix(internal, "k8s.io/kubernetes/"))
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, ent := range entries {
			doc, err := os.ReadFile(filepath.Join(dir, ent.Name(), "doc.go"))
			if err == nil && bytes.Contains(doc, []byte(tag)) {
				pkgs = append(pkgs, internal+"/"+ent.Name())
			}
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	return e.run(ctx, "conversion", "conversion-gen", append([]string{
		"--go-header-file", e.boilerplate,
		"--output-file", "zz_generated.conversion.go",
		"--extra-peer-dirs", "k8s.io/kubernetes/pkg/apis/core",
		"--extra-peer-dirs", "k8s.io/kubernetes/pkg/apis/core/v1",
		"--extra-peer-dirs", "k8s.io/api/core/v1"}, pkgs...)...)
}

func openapi(ctx context.Context, e *env) error {
	if len(e.touched("k8s.io/api", "types.go")) == 0 {
		return nil
	}
	t := e.trees["k8s.io/kubernetes"]
	pristine, err := os.ReadFile(filepath.Join(t.mod.Dir, "pkg", "generated", "openapi", "zz_generated.openapi.go"))
	if err != nil {
		return err
	}
	inputs, err := OpenAPIInputs(pristine)
	if err != nil {
		return err
	}
	args := []string{
		"--go-header-file", e.boilerplate,
		"--output-file", "zz_generated.openapi.go",
		"--output-dir", filepath.Join(t.dir, "pkg", "generated", "openapi"),
		"--output-pkg", "k8s.io/kubernetes/pkg/generated/openapi",
		"--output-model-name-file", "zz_generated.model_name.go",
		"--report-filename", filepath.Join(e.Out, "api_violations.report"),
	}
	// Model-name files are written beside their types: only into our trees.
	for _, p := range inputs {
		if e.moduleOf(p) == "" {
			args = append(args, "--readonly-pkg", p)
		}
	}
	return e.run(ctx, "openapi", "openapi-gen", append(args, inputs...)...)
}

// applyConfigurations runs applyconfiguration-gen over every k8s.io/api
// package, as upstream does: utils.go and internal.go index them all.
func applyConfigurations(ctx context.Context, e *env) error {
	if len(e.touched("k8s.io/api", "types.go")) == 0 {
		return nil
	}
	models := filepath.Join(e.Bin, "models-schema")
	if err := e.run(ctx, "applyconfigurations", "go", "build", "-o", models, "k8s.io/kubernetes/pkg/generated/openapi/cmd/models-schema"); err != nil {
		return err
	}
	schema := filepath.Join(e.Out, "models-schema.json")
	out, err := exec.Output(exec.Host.Command(ctx, models))
	if err != nil {
		return fmt.Errorf("models-schema: %w", exec.Cause(err))
	}
	if err := os.WriteFile(schema, out, 0o644); err != nil {
		return err
	}
	apis, err := e.packagesWith("k8s.io/api", "types.go")
	if err != nil {
		return err
	}
	apis = append(apis, "k8s.io/apimachinery/pkg/apis/meta/v1")
	return e.run(ctx, "applyconfigurations", "applyconfiguration-gen", append([]string{
		"--openapi-schema", schema,
		"--go-header-file", e.boilerplate,
		"--output-dir", filepath.Join(e.trees["k8s.io/client-go"].dir, "applyconfigurations"),
		"--output-pkg", "k8s.io/client-go/applyconfigurations"}, apis...)...)
}

// moduleOf returns the materialized module holding an import path, or "".
func (e *env) moduleOf(importPath string) string {
	best := ""
	for m := range e.trees {
		if (importPath == m || strings.HasPrefix(importPath, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best
}
