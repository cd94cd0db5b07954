// Package conformance builds upstream's e2e suite, limited to the packages
// that hold [Conformance] specs, as a test binary that knows kubenext's
// feature gates. `make conformance` compiles it to _output/bin/e2e.test and
// runs it with the ginkgo CLI against the kind cluster; the skip list with
// reasons is test/conformance/skips.txt.
package conformance

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/component-base/version"
	conformancetestdata "k8s.io/kubernetes/test/conformance/testdata"
	"k8s.io/kubernetes/test/e2e"
	"k8s.io/kubernetes/test/e2e/framework"
	e2econfig "k8s.io/kubernetes/test/e2e/framework/config"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"
	e2emanifests "k8s.io/kubernetes/test/e2e/testing-manifests"
	testfixtures "k8s.io/kubernetes/test/fixtures"

	// Freezes the feature and label constants before specs are defined.
	_ "k8s.io/kubernetes/test/e2e/feature"

	// The packages that define [Conformance] specs (found with
	// `grep -rl ConformanceIt test/e2e` in the pinned module). common pulls
	// in common/node, common/network and common/storage.
	_ "k8s.io/kubernetes/test/e2e/apimachinery"
	_ "k8s.io/kubernetes/test/e2e/apps"
	_ "k8s.io/kubernetes/test/e2e/architecture"
	_ "k8s.io/kubernetes/test/e2e/auth"
	_ "k8s.io/kubernetes/test/e2e/common"
	_ "k8s.io/kubernetes/test/e2e/dra"
	_ "k8s.io/kubernetes/test/e2e/instrumentation"
	_ "k8s.io/kubernetes/test/e2e/kubectl"
	_ "k8s.io/kubernetes/test/e2e/network"
	_ "k8s.io/kubernetes/test/e2e/node"
	_ "k8s.io/kubernetes/test/e2e/scheduling"
	_ "k8s.io/kubernetes/test/e2e/storage"

	// The framework's hooks upstream's binary installs: failure dumps,
	// metrics gathering, node checks, and the log formatting of objects.
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/metrics/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
	_ "k8s.io/kubernetes/test/utils/ktesting/format"

	// Our gates are registered like upstream's, so WithFeatureGate labels
	// and the framework's gate checks know them.
	_ "github.com/kubenext/kubenext/pkg/features"
)

func init() {
	e2econfig.CopyFlags(e2econfig.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
}

func TestMain(m *testing.M) {
	showVersion := flag.Bool("version", false, "print the version this binary was built as and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Get())
		os.Exit(0)
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unknown arguments: %v\n", flag.Args())
		os.Exit(1)
	}
	// Specs read manifests and fixtures by repository path; the binary
	// carries them embedded, so no checkout of Kubernetes is needed (and
	// -trimpath cannot hide one).
	testfiles.AddFileSource(e2emanifests.GetE2ETestingManifestsFS())
	testfiles.AddFileSource(testfixtures.GetTestFixturesFS())
	testfiles.AddFileSource(conformancetestdata.GetConformanceTestdataFS())
	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

// TestConformance runs the suite the way upstream's e2e.test does:
// SynchronizedBeforeSuite, reporters and ginkgo configuration all come from
// package e2e.
func TestConformance(t *testing.T) {
	e2e.RunE2ETests(t)
}
