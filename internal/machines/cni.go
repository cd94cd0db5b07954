package machines

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodeimage"
)

// NetdPlaceholder is where the CNI manifest takes the netd image; the
// node image build fills the same one.
const NetdPlaceholder = nodeimage.NetdPlaceholder

// CNIManifest renders the netd DaemonSet for the machines: the image from
// the registry, pulled like any other (the kind node image preloads it and
// says Never).
func CNIManifest(manifest, image string) (string, error) {
	if !strings.Contains(manifest, NetdPlaceholder) {
		return "", fmt.Errorf("the CNI manifest has no %s placeholder for the netd image", NetdPlaceholder)
	}
	out := strings.ReplaceAll(manifest, NetdPlaceholder, image)
	return strings.ReplaceAll(out, "imagePullPolicy: Never", "imagePullPolicy: IfNotPresent"), nil
}

func (m *Machines) installCNI(ctx context.Context) error {
	raw, err := os.ReadFile(m.CNIManifestPath)
	if err != nil {
		return err
	}
	manifest, err := CNIManifest(string(raw), m.ImageRepository()+"/netd:"+ImageTag(m.Version))
	if err != nil {
		return err
	}
	_, err = exec.CombinedOutput(m.Cmd.Command(ctx, m.Kubectl, "--kubeconfig", m.kubeconfig(), "apply", "-f", "-").SetStdin(strings.NewReader(manifest)))
	return err
}
