// Command kube-proxy is upstream's kube-proxy with kubenext's feature gates registered.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-proxy/app"

	_ "github.com/kubenext/kubenext/pkg/features"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
