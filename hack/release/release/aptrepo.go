package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// AptRepo writes a flat apt repository into out: the .debs of debDirs,
// Packages, Packages.gz and an unsigned Release, for
// `deb [trusted=yes] file:<out> ./`.
func AptRepo(debDirs []string, out string, stdout io.Writer) error {
	if len(debDirs) == 0 {
		return errors.New("no --debs directory given: pass the debs/ of a release, e.g. --debs _output/release/<version>/debs")
	}
	var debs []string
	for _, d := range debDirs {
		m, err := filepath.Glob(filepath.Join(d, "*.deb"))
		if err != nil {
			return err
		}
		if len(m) == 0 {
			return fmt.Errorf("%s has no .deb files", d)
		}
		debs = append(debs, m...)
	}
	sort.Slice(debs, func(i, j int) bool { return filepath.Base(debs[i]) < filepath.Base(debs[j]) })
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	s := &Steps{Out: stdout}
	var index bytes.Buffer
	err := s.Run(fmt.Sprintf("Indexing %d packages into %s", len(debs), out), func() error {
		seen := map[string]string{}
		for _, src := range debs {
			base := filepath.Base(src)
			if prev, ok := seen[base]; ok {
				return fmt.Errorf("%s and %s have the same name", prev, src)
			}
			seen[base] = src
			dst := filepath.Join(out, base)
			if abs(src) != abs(dst) {
				if err := copyFile(src, dst, time.Now()); err != nil {
					return err
				}
			}
			stanza, err := PackagesStanza(dst, "./"+base)
			if err != nil {
				return err
			}
			index.WriteString(stanza)
			index.WriteString("\n")
			s.Note("%s", base)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeIndex(out, index.Bytes())
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func writeIndex(out string, packages []byte) error {
	if err := os.WriteFile(filepath.Join(out, "Packages"), packages, 0o644); err != nil {
		return err
	}
	// No name or time in the gzip header: the same debs give the same bytes.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(packages); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "Packages.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	// A Release file, unsigned: apt refuses a repository without one unless
	// told to allow insecure sources, while [trusted=yes] accepts it
	// unsigned.
	var rel strings.Builder
	rel.WriteString("Origin: kubenext\nLabel: kubenext\nArchitectures: amd64\n")
	rel.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\n")
	files := []struct {
		name string
		data []byte
	}{{"Packages", packages}, {"Packages.gz", gz.Bytes()}}
	rel.WriteString("MD5Sum:\n")
	for _, f := range files {
		fmt.Fprintf(&rel, " %x %d %s\n", md5.Sum(f.data), len(f.data), f.name)
	}
	rel.WriteString("SHA256:\n")
	for _, f := range files {
		fmt.Fprintf(&rel, " %x %d %s\n", sha256.Sum256(f.data), len(f.data), f.name)
	}
	return os.WriteFile(filepath.Join(out, "Release"), []byte(rel.String()), 0o644)
}

// PackagesStanza is the Packages entry of a .deb: its control file, then
// Filename, Size, MD5sum and SHA256.
func PackagesStanza(debPath, filename string) (string, error) {
	control, err := DebControl(debPath)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(debPath)
	if err != nil {
		return "", err
	}
	md := md5.Sum(data)
	sha := sha256.Sum256(data)
	var b strings.Builder
	b.WriteString(strings.TrimRight(control, "\n"))
	fmt.Fprintf(&b, "\nFilename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n", filename, len(data), hex.EncodeToString(md[:]), hex.EncodeToString(sha[:]))
	return b.String(), nil
}

// DebControl returns the control file of a .deb: the ar member
// control.tar[.gz|.xz|.zst], file ./control.
func DebControl(debPath string) (string, error) {
	f, err := os.Open(debPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "!<arch>\n" {
		return "", fmt.Errorf("%s is not a .deb (no ar header)", debPath)
	}
	hdr := make([]byte, 60)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return "", fmt.Errorf("%s has no control.tar member", debPath)
		}
		member := strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s: bad ar header for %q", debPath, member)
		}
		body := io.LimitReader(r, size)
		if strings.HasPrefix(member, "control.tar") {
			var tr io.Reader
			switch filepath.Ext(member) {
			case ".tar":
				tr = body
			case ".gz":
				zr, err := gzip.NewReader(body)
				if err != nil {
					return "", fmt.Errorf("%s: %s: %w", debPath, member, err)
				}
				tr = zr
			case ".xz":
				xr, err := xz.NewReader(body)
				if err != nil {
					return "", fmt.Errorf("%s: %s: %w", debPath, member, err)
				}
				tr = xr
			case ".zst":
				zr, err := zstd.NewReader(body)
				if err != nil {
					return "", fmt.Errorf("%s: %s: %w", debPath, member, err)
				}
				defer zr.Close()
				tr = zr
			default:
				return "", fmt.Errorf("%s: unknown control member %s", debPath, member)
			}
			return controlFromTar(tr, debPath)
		}
		if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
			return "", fmt.Errorf("%s: %w", debPath, err)
		}
	}
}

func controlFromTar(r io.Reader, debPath string) (string, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%s: no ./control in control.tar", debPath)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", debPath, err)
		}
		if filepath.Clean(h.Name) == "control" {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}
