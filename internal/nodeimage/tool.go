package nodeimage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/steps"
)

// NetdPlaceholder is where the CNI manifest takes the netd image.
const NetdPlaceholder = "__NETD_IMAGE__"

// Options are the nodeimage tool's flags.
type Options struct {
	Version, Tag           string
	KindTree, Bin, Tools   string
	WorkDir, Images        string
	CNIManifest, NetdImage string
}

// Build is the nodeimage command: it checks its inputs, then builds.
func Build(ctx context.Context, o Options, out io.Writer) error {
	b, err := o.Builder()
	if err != nil {
		return err
	}
	b.Cmd, b.Steps = exec.Host, &steps.Steps{Out: out}
	return b.Build(ctx)
}

// Builder checks what must exist before a long build starts (the image
// archives, the CNI manifest with its placeholder) and makes the
// directories absolute, since the build runs tools from other ones. The
// result has no Cmd or Steps yet.
func (o Options) Builder() (*Builder, error) {
	if o.Version == "" || o.Tag == "" {
		return nil, fmt.Errorf("--version and --tag are required (the Makefile passes them)")
	}
	archives, err := filepath.Glob(filepath.Join(o.Images, "*.tar"))
	if err != nil || len(archives) == 0 {
		return nil, fmt.Errorf("no image archives in %s: run `make images` first", o.Images)
	}
	manifest, err := os.ReadFile(o.CNIManifest)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(manifest), NetdPlaceholder) {
		return nil, fmt.Errorf("%s has no %s placeholder for the netd image", o.CNIManifest, NetdPlaceholder)
	}
	b := &Builder{
		Inputs: Inputs{
			Version: o.Version, KindTree: o.KindTree, Bin: o.Bin, Tools: o.Tools,
			CNIManifest: []byte(strings.ReplaceAll(string(manifest), NetdPlaceholder, o.NetdImage)),
			PodSubnet:   cluster.PodSubnet, ServiceSubnet: cluster.ServiceSubnet,
		},
		Tag: o.Tag, Archives: archives, WorkDir: o.WorkDir,
	}
	for _, p := range []*string{&b.KindTree, &b.Bin, &b.Tools, &b.WorkDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, err
		}
	}
	return b, nil
}
