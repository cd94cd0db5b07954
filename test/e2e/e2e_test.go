// Package e2e is kubenext's end-to-end suite. It runs against a cluster
// made by `make cluster`, with upstream's e2e framework, so specs carry
// upstream's labels (WithFeatureGate, WithSerial, ...) and read like
// upstream's own.
//
//	make e2e                      # everything
//	make e2e FOCUS=Smoke          # one area
package e2e

import (
	"flag"
	"os"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/kubernetes/test/e2e/framework"
	e2econfig "k8s.io/kubernetes/test/e2e/framework/config"

	// Every gate of ours must be registered, or WithFeatureGate refuses it.
	_ "github.com/kubenext/kubenext/pkg/features"
)

func init() {
	e2econfig.CopyFlags(e2econfig.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
}

func TestMain(m *testing.M) {
	flag.Parse()
	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

func TestE2E(t *testing.T) {
	gomega.RegisterFailHandler(framework.Fail)
	suite, reporter := ginkgo.GinkgoConfiguration()
	ginkgo.RunSpecs(t, "kubenext e2e", suite, reporter)
}
