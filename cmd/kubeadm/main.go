// Command kubeadm is upstream's kubeadm. It imports our gates so that a
// kubeadm configuration naming them in a component's extraArgs or in the
// KubeletConfiguration is checked against the same registry as the
// components themselves.
package main

import (
	"k8s.io/kubernetes/cmd/kubeadm/app"
	kubeadmerrors "k8s.io/kubernetes/cmd/kubeadm/app/util/errors"

	_ "github.com/kubenext/kubenext/pkg/features"
)

func main() {
	kubeadmerrors.HandleError(app.Run())
}
