package images

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// NodeOptions are the inputs of the node's image set.
type NodeOptions struct {
	Sources
	// Kubeadm is our kubeadm, which names the control-plane images.
	Kubeadm string
	// Version is the Kubernetes version kubeadm is asked about.
	Version string
	// Tag is the tag of our own images (kubenext/busybox, netd, ...).
	Tag string
	// Busybox is Debian's static busybox binary.
	Busybox string
	// Netd is the kubenext-netd binary.
	Netd string
	// Out is the output directory, emptied first.
	Out string
}

// WriteNodeImages writes every image a node needs, as docker archives in
// o.Out: the images our kubeadm lists, and our busybox, supplementalgroups
// and netd images.
func WriteNodeImages(ctx context.Context, o NodeOptions, log io.Writer) error {
	if o.Version == "" || o.Tag == "" {
		return fmt.Errorf("--version and --tag are required (the Makefile passes them)")
	}
	// os/exec: hack/imagebuild is its own module (GOWORK=off), so it
	// cannot import the main module's internal/exec.
	list, err := exec.CommandContext(ctx, o.Kubeadm, "config", "images", "list", "--kubernetes-version", o.Version).Output()
	if err != nil {
		return fmt.Errorf("%s config images list: %w", o.Kubeadm, err)
	}
	refs, err := ParseImageList(string(list))
	if err != nil {
		return err
	}
	applets, err := exec.CommandContext(ctx, o.Busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", o.Busybox, err)
	}
	src := o.Sources
	src.BusyboxDir = filepath.Dir(filepath.Dir(o.Busybox))
	src.Applets = ParseApplets(string(applets))
	return WriteAll(ctx, o.Out, "registry.k8s.io", nodeRecipes(refs, src, o.Tag, o.Netd), log)
}

// nodeRecipes is one recipe per image, in the order they are written.
func nodeRecipes(refs []string, src Sources, tag, netd string) []Recipe {
	var specs []func() (Spec, error)
	for _, ref := range refs {
		specs = append(specs, func() (Spec, error) { return ForKubeadmImage(ref, src) })
	}
	specs = append(specs,
		func() (Spec, error) { return Busybox("docker.io/kubenext/busybox:"+tag, src) },
		func() (Spec, error) { return SupplementalGroups("docker.io/kubenext/supplementalgroups:"+tag, src) },
		func() (Spec, error) {
			return ForBinary("docker.io/kubenext/netd:"+tag, netd, "/usr/local/bin/kubenext-netd")
		},
	)
	recipes := make([]Recipe, len(specs))
	for i, spec := range specs {
		recipes[i] = func() (string, v1.Image, error) {
			s, err := spec()
			if err != nil {
				return "", nil, err
			}
			img, err := Build(s)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", s.Ref, err)
			}
			return s.Ref, img, nil
		}
	}
	return recipes
}
