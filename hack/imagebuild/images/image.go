package images

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Spec describes one image.
type Spec struct {
	Ref        string
	Layers     []v1.Layer
	Entrypoint []string
	Env        []string
	User       string
}

// DefaultPath is the PATH of every image we build.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build assembles the image. OS and architecture are always set: an image
// config without them is imported by containerd but never matches the
// node's platform.
func Build(s Spec) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, s.Layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Env = append([]string{DefaultPath}, s.Env...)
	cf.Config.User = s.User
	return mutate.ConfigFile(img, cf)
}

// WriteArchive writes img as a docker-archive tarball tagged ref. The tag
// is kept exactly as given (registry.k8s.io/..., docker.io/...), which is
// what kubeadm and the kubelet look the image up by.
func WriteArchive(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	return tarball.WriteToFile(path, tag, img)
}
