// Command kube-apiserver is upstream's kube-apiserver with kubenext's feature gates registered.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones are validated here

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	_ "github.com/kubenext/kubenext/pkg/features"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
