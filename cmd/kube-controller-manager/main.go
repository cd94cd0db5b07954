// Command kube-controller-manager is upstream's kube-controller-manager with kubenext's feature gates registered.
package main

import (
	"os"
	_ "time/tzdata" // the CronJob controller resolves time zones

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"

	_ "github.com/kubenext/kubenext/pkg/features"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
