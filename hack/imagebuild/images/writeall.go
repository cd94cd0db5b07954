package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Recipe builds one image and says its reference.
type Recipe func() (ref string, img v1.Image, err error)

// WriteAll empties out, then writes one docker archive per recipe and
// images.txt listing every reference, printing a line with size and timing
// per image to progress. Archives are named by ArchiveName with registry
// trimmed.
func WriteAll(ctx context.Context, out, registry string, recipes []Recipe, progress io.Writer) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var refs []string
	for _, recipe := range recipes {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		ref, img, err := recipe()
		if err != nil {
			return err
		}
		file := filepath.Join(out, ArchiveName(ref, registry))
		if err := WriteArchive(file, ref, img); err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		info, err := os.Stat(file)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, " ✓ %s (%.1f MB, %.1fs)\n", ref, float64(info.Size())/1e6, time.Since(start).Seconds())
		refs = append(refs, ref)
	}
	return os.WriteFile(filepath.Join(out, "images.txt"), []byte(strings.Join(refs, "\n")+"\n"), 0o644)
}

// ArchiveName turns a reference into a file name: registry (and docker.io)
// trimmed, / and : made _, so registry.k8s.io/coredns/coredns:v1.14.6 with
// registry "registry.k8s.io" is coredns_coredns_v1.14.6.tar.
func ArchiveName(ref, registry string) string {
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, registry+"/"), "docker.io/")
	return strings.NewReplacer("/", "_", ":", "_").Replace(ref) + ".tar"
}
