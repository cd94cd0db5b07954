// Command kubelet is upstream's kubelet with kubenext's feature gates
// registered. Our kubelet behaviour comes from the patched
// k8s.io/kubernetes tree (see staging/), not from this file.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"

	_ "github.com/kubenext/kubenext/pkg/features"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
