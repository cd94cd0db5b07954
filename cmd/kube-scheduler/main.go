// Command kube-scheduler is upstream's kube-scheduler with kubenext's feature gates registered.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	_ "github.com/kubenext/kubenext/pkg/features"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
