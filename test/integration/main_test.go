package integration

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/kubenext/kubenext/test/integration/controlplane"
)

// cluster is shared by every test in the package: starting etcd and the
// apiserver takes longer than the tests themselves.
var cluster *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubenext-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	opts, err := controlplane.OptionsFromEnv(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Naming our gates is itself a check: an apiserver that did not know
	// one would exit at flag parsing. CELAdmissionCache stays off until a
	// run with it on has passed here and in the e2e suite (issue 18).
	opts.ExtraAPIServerArgs = []string{"--feature-gates=KeystoneContainers=true,ContainerRestartRuleTerminatePod=true,CELAdmissionCache=false"}
	cluster, err = controlplane.Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		return 1
	}
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane left something behind:", err)
		return 1
	}
	return code
}
