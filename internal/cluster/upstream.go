package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/steps"
	kubenextfeatures "github.com/kubenext/kubenext/pkg/features"
)

// An upstream worker runs pristine upstream's kubelet (make upstream-build)
// in our node image, beside our control plane and our kubelets: the mixed
// cluster a user has while rolling nodes to kubenext, and the baseline the
// benchmarks compare our kubelet with in the same run.
const (
	KubeletLabel         = "kubenext.io/kubelet"
	KubeletLabelUpstream = "upstream"

	// upstreamPatchDir holds the kubeadm patch that the upstream image
	// carries (see UpstreamKubeletPatch).
	upstreamPatchDir = "/etc/kubenext/upstream-kubelet"
)

// upstreamJoinPatch points the upstream worker's kubeadm join at the
// patch its image carries. No apiVersion, as for keystoneOffJoinPatch.
const upstreamJoinPatch = "kind: JoinConfiguration\n" +
	"patches:\n" +
	"  directory: " + upstreamPatchDir + "\n"

// UpstreamKubeletPatch is a JSON merge patch, for kubeadm's
// kubeletconfiguration target, that deletes every gate of ours from the
// KubeletConfiguration a joining node reads from the cluster. Upstream's
// kubelet refuses to start on a gate it does not know, and the cluster's
// featureGates reach every kubelet through kubeadm's kubelet-config
// ConfigMap; upstream's own gates (EventedPLEG and the rest) stay.
func UpstreamKubeletPatch() ([]byte, error) {
	ours := kubenextfeatures.Gates()
	names := make([]string, 0, len(ours))
	for _, g := range ours {
		names = append(names, string(g))
	}
	sort.Strings(names)
	gates := map[string]any{}
	for _, name := range names {
		gates[name] = nil
	}
	return yaml.Marshal(map[string]any{"featureGates": gates})
}

// upstreamDockerfile layers upstream's kubelet and the join patch on our
// node image; everything else (containerd, runc, kubeadm, the preloaded
// images) stays ours, so only the kubelet differs.
const upstreamDockerfile = `FROM %s
COPY kubelet /usr/bin/kubelet
COPY patches/ ` + upstreamPatchDir + `/
LABEL io.kubenext.kubelet=upstream
`

// BuildUpstreamImage builds tag from base with kubelet (upstream's binary)
// in place of ours, using workDir as the build context.
func BuildUpstreamImage(ctx context.Context, host exec.Cmder, base, kubelet, tag, workDir string) error {
	if _, err := exec.Output(host.Command(ctx, "docker", "image", "inspect", base)); err != nil {
		return fmt.Errorf("node image %s is missing: build it with make node-image", base)
	}
	if _, err := os.Stat(kubelet); err != nil {
		return fmt.Errorf("upstream kubelet: %w; build it with make upstream-build COMPONENTS=kubelet", err)
	}
	patch, err := UpstreamKubeletPatch()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(workDir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(workDir, "patches"), 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"Dockerfile": fmt.Appendf(nil, upstreamDockerfile, base),
		// kubeadm reads <target>+<patch type>.yaml from the directory.
		filepath.Join("patches", "kubeletconfiguration+merge.yaml"): patch,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(workDir, name), content, 0o644); err != nil {
			return err
		}
	}
	if err := copyExecutable(kubelet, filepath.Join(workDir, "kubelet")); err != nil {
		return err
	}
	// The legacy builder: BuildKit may try to resolve FROM remotely.
	_, err = exec.CombinedOutput(host.Command(ctx, "docker", "build", "--quiet", "-t", tag, workDir).SetEnv("DOCKER_BUILDKIT=0"))
	return err
}

func copyExecutable(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// UpstreamImageOptions are the flags of `cluster upstream-image`.
type UpstreamImageOptions struct {
	Base, Kubelet, Tag, WorkDir string
}

// UpstreamImage is `cluster upstream-image`.
func UpstreamImage(ctx context.Context, o UpstreamImageOptions, out io.Writer) error {
	if o.Base == "" || o.Tag == "" {
		return fmt.Errorf("--image (our node image) and --tag are required: make node-image-upstream passes both")
	}
	s := &steps.Steps{Out: out}
	return s.Run("Building "+o.Tag+" (upstream's kubelet on "+o.Base+")", func() error {
		return BuildUpstreamImage(ctx, exec.Host, o.Base, o.Kubelet, o.Tag, o.WorkDir)
	})
}
