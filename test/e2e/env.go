package e2e

import (
	"os"

	"k8s.io/kubernetes/test/e2e/framework"
)

// The Makefile passes what the suite needs to know about the cluster it
// created; nothing here is guessed.
type clusterEnv struct {
	Name      string // kind cluster name
	Network   string // docker network of the nodes
	TestImage string // locally built busybox-style image, never pulled
}

func env() clusterEnv {
	e := clusterEnv{
		Name:      os.Getenv("KUBENEXT_CLUSTER"),
		Network:   os.Getenv("KUBENEXT_NETWORK"),
		TestImage: os.Getenv("KUBENEXT_TEST_IMAGE"),
	}
	if e.Name == "" || e.Network == "" || e.TestImage == "" {
		framework.Failf("KUBENEXT_CLUSTER, KUBENEXT_NETWORK and KUBENEXT_TEST_IMAGE must be set; run the suite with `make e2e`")
	}
	return e
}
