package e2e

import (
	"os"
	"strconv"

	"k8s.io/kubernetes/test/e2e/framework"
)

// The Makefile passes what the suite needs to know about the cluster it
// created; nothing here is guessed.
type clusterEnv struct {
	Name      string // kind cluster name
	Network   string // docker network of the nodes
	TestImage string // locally built busybox-style image, never pulled
	// Workers and GateOffWorkers are the shape make cluster was asked
	// for (WORKERS, GATE_OFF_WORKERS), -1 when it did not record one. A
	// spec whose node is missing skips only when the cluster was made
	// without it on purpose (0), and fails otherwise.
	Workers, GateOffWorkers int
}

func env() clusterEnv {
	e := clusterEnv{
		Name:           os.Getenv("KUBENEXT_CLUSTER"),
		Network:        os.Getenv("KUBENEXT_NETWORK"),
		TestImage:      os.Getenv("KUBENEXT_TEST_IMAGE"),
		Workers:        recordedCount("KUBENEXT_WORKERS"),
		GateOffWorkers: recordedCount("KUBENEXT_GATE_OFF_WORKERS"),
	}
	if e.Name == "" || e.Network == "" || e.TestImage == "" {
		framework.Failf("KUBENEXT_CLUSTER, KUBENEXT_NETWORK and KUBENEXT_TEST_IMAGE must be set; run the suite with `make e2e`")
	}
	return e
}

func recordedCount(name string) int {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// allWorkers is every worker make cluster was asked for, -1 if unknown.
func (e clusterEnv) allWorkers() int {
	if e.Workers < 0 || e.GateOffWorkers < 0 {
		return -1
	}
	return e.Workers + e.GateOffWorkers
}
