package release

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// tarEntry is one file of a tarball: its path inside, and either a file on
// disk or literal content.
type tarEntry struct {
	Name   string
	Source string
	Data   []byte
	Mode   int64
}

// writeTarGz writes entries, their parent directories included, sorted by
// name, owned by 0:0 and dated mtime, so that two builds of one commit give
// the same bytes.
func writeTarGz(dst string, entries []tarEntry, mtime time.Time) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)

	dirs := map[string]bool{}
	for _, e := range entries {
		for d := path.Dir(e.Name); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	all := make([]tarEntry, 0, len(entries)+len(dirs))
	for d := range dirs {
		all = append(all, tarEntry{Name: d + "/", Mode: 0o755})
	}
	all = append(all, entries...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })

	mtime = mtime.UTC().Truncate(time.Second)
	for i, e := range all {
		if i > 0 && all[i-1].Name == e.Name {
			return fmt.Errorf("%s: %s twice", dst, e.Name)
		}
		hdr := &tar.Header{Name: e.Name, Mode: e.Mode, ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX}
		if strings.HasSuffix(e.Name, "/") {
			hdr.Typeflag = tar.TypeDir
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		hdr.Typeflag = tar.TypeReg
		if e.Source == "" {
			hdr.Size = int64(len(e.Data))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(e.Data); err != nil {
				return err
			}
			continue
		}
		if err := copyIntoTar(tw, hdr, e.Source); err != nil {
			return fmt.Errorf("%s: %w", dst, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func copyIntoTar(tw *tar.Writer, hdr *tar.Header, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, in)
	if err != nil {
		return err
	}
	if n != hdr.Size {
		return fmt.Errorf("%s changed size while it was read", src)
	}
	return nil
}
