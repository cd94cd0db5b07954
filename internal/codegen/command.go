package codegen

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
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

// Run is `codegen update` (mode "update": rewrite the generated patches)
// and `codegen verify` (fail if the committed ones are stale): it installs
// protoc, builds the generators into <out>/bin and runs them.
func Run(ctx context.Context, root, out, mode string, stdout io.Writer) error {
	if mode != "update" && mode != "verify" {
		return fmt.Errorf("unknown mode %q: use update or verify", mode)
	}
	progress := &steps.Steps{Out: stdout}
	bin := filepath.Join(out, "bin")
	if err := prepareTools(ctx, progress, root, bin); err != nil {
		return err
	}
	patches, err := Generate(ctx, Config{Root: root, Out: out, Bin: bin, Steps: progress})
	if err != nil {
		return err
	}
	return finish(root, mode, patches, stdout)
}

// finish compares (verify) or writes (update) what the generators made.
func finish(root, mode string, patches Patches, stdout io.Writer) error {
	if mode == "verify" {
		if stale := Stale(root, patches); len(stale) > 0 {
			return fmt.Errorf("generated patches are stale; run make codegen and commit the result:\n  %s", strings.Join(stale, "\n  "))
		}
		fmt.Fprintf(stdout, "codegen: %d generated patch(es) up to date\n", len(patches))
		return nil
	}
	if err := Write(root, patches); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "codegen: wrote %d generated patch(es)\n", len(patches))
	return nil
}

func prepareTools(ctx context.Context, progress *steps.Steps, root, bin string) error {
	apt := &hostprep.Apt{Steps: progress, PolicyRCD: "/usr/sbin/policy-rc.d"}
	if err := apt.Ensure(ctx, []hostprep.Package{{Name: "protobuf-compiler", Binaries: []string{"protoc"}}}); err != nil {
		return err
	}
	absBin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	return progress.Run("Building the generators", func() error {
		if err := goBuild(ctx, exec.Host, filepath.Join(root, GeneratorsModuleDir), absBin, generatorTools...); err != nil {
			return err
		}
		return goBuild(ctx, exec.Host, root, absBin, "k8s.io/kubernetes/cmd/genswaggertypedocs")
	})
}

// goBuild builds pristine upstream tools: outside any workspace, so the
// generators themselves never see our patches.
func goBuild(ctx context.Context, host exec.Cmder, dir, bin string, pkgs ...string) error {
	out, err := exec.CombinedOutput(host.Command(ctx, "go", append([]string{"-C", dir, "build", "-o", bin + "/"}, pkgs...)...).SetEnv("GOWORK=off"))
	if err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, exec.Cause(err), out)
	}
	return nil
}
