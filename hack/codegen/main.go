// Command codegen regenerates the generated-code patches of our series with
// upstream's generators (see internal/codegen).
//
//	codegen update   rewrite staging/<module>/90NN-generated-*.patch
//	codegen verify   fail if the committed generated patches are stale
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/codegen"
	"github.com/kubenext/kubenext/internal/hostprep"
	"github.com/kubenext/kubenext/internal/steps"
)

// generatorTools are built from hack/codegen/generators' go.mod;
// genswaggertypedocs lives in k8s.io/kubernetes and is built from ours.
var generatorTools = []string{
	"golang.org/x/tools/cmd/goimports",
	"k8s.io/code-generator/cmd/applyconfiguration-gen",
	"k8s.io/code-generator/cmd/conversion-gen",
	"k8s.io/code-generator/cmd/deepcopy-gen",
	"k8s.io/code-generator/cmd/go-to-protobuf",
	"k8s.io/code-generator/cmd/go-to-protobuf/protoc-gen-gogo",
	"k8s.io/kube-openapi/cmd/openapi-gen",
}

func main() {
	root := flag.String("root", ".", "repository root (holds go.mod and staging/)")
	out := flag.String("out", "_output/codegen", "scratch directory for the trees the generators run in")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: codegen [flags] update|verify\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (flag.Arg(0) != "update" && flag.Arg(0) != "verify") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *root, *out, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "codegen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, out, mode string) error {
	progress := &steps.Steps{Out: os.Stdout}
	bin := filepath.Join(out, "bin")
	if err := prepareTools(ctx, progress, root, bin); err != nil {
		return err
	}
	patches, err := codegen.Generate(ctx, codegen.Config{Root: root, Out: out, Bin: bin, Steps: progress})
	if err != nil {
		return err
	}
	if mode == "verify" {
		if stale := codegen.Stale(root, patches); len(stale) > 0 {
			return fmt.Errorf("generated patches are stale; run make codegen and commit the result:\n  %s", strings.Join(stale, "\n  "))
		}
		fmt.Printf("codegen: %d generated patch(es) up to date\n", len(patches))
		return nil
	}
	if err := codegen.Write(root, patches); err != nil {
		return err
	}
	fmt.Printf("codegen: wrote %d generated patch(es)\n", len(patches))
	return nil
}

func prepareTools(ctx context.Context, progress *steps.Steps, root, bin string) error {
	run := hostprep.ExecRunner{}
	apt := &hostprep.Apt{Run: run, Steps: progress, PolicyRCD: "/usr/sbin/policy-rc.d"}
	if err := apt.Ensure(ctx, []hostprep.Package{{Name: "protobuf-compiler", Binaries: []string{"protoc"}}}); err != nil {
		return err
	}
	absBin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	return progress.Run("Building the generators", func() error {
		if err := goBuild(ctx, filepath.Join(root, codegen.GeneratorsModuleDir), absBin, generatorTools...); err != nil {
			return err
		}
		return goBuild(ctx, root, absBin, "k8s.io/kubernetes/cmd/genswaggertypedocs")
	})
}

// goBuild builds pristine upstream tools: outside any workspace, so the
// generators themselves never see our patches.
func goBuild(ctx context.Context, dir, bin string, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", bin + "/"}, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, out)
	}
	return nil
}
