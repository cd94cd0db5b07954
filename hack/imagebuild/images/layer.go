// Package images writes kubenext's container images without a registry:
// layers from local files, config and manifest from go-containerregistry,
// docker-archive tarballs that containerd and docker import.
package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one file, directory or symlink of a layer.
type Entry struct {
	Path string // absolute path in the image
	Mode int64
	// Exactly one of these, or neither for a directory.
	Source  string // a host file to copy
	Content []byte
	Link    string // symlink target
}

// FileLayer builds a layer from entries, with parent directories added and
// every entry owned by root. Entries are written sorted by path, with a
// fixed modification time, so the same inputs give the same digest.
func FileLayer(entries []Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	written := map[string]bool{}
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, e := range sorted {
		name := strings.TrimPrefix(path.Clean(e.Path), "/")
		if name == "" || name == "." {
			return nil, fmt.Errorf("entry %q: not a path inside the image", e.Path)
		}
		if err := writeParents(tw, name, written); err != nil {
			return nil, err
		}
		if err := writeEntry(tw, name, e); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		written[name] = true
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

func writeParents(tw *tar.Writer, name string, written map[string]bool) error {
	dir := path.Dir(name)
	if dir == "." || written[dir] {
		return nil
	}
	if err := writeParents(tw, dir, written); err != nil {
		return err
	}
	written[dir] = true
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, Format: tar.FormatPAX})
}

func writeEntry(tw *tar.Writer, name string, e Entry) error {
	hdr := &tar.Header{Name: name, Mode: e.Mode, Format: tar.FormatPAX}
	switch {
	case e.Link != "":
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Link, 0o777
		return tw.WriteHeader(hdr)
	case e.Source == "" && e.Content == nil:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		if hdr.Mode == 0 {
			hdr.Mode = 0o755
		}
		return tw.WriteHeader(hdr)
	}
	content := e.Content
	if e.Source != "" {
		var err error
		if content, err = os.ReadFile(e.Source); err != nil {
			return err
		}
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(content))
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(content)
	return err
}
