package release

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BuildOptions are the inputs of `release build`.
type BuildOptions struct {
	Version   string
	BuildDate time.Time
	Bin       string // the seven components and the kubectl-* plugins
	Tools     string // containerd, runc, crictl, cni/*
	Images    string // docker archives written by imagebuild
	Out       string

	CriToolsVersion   string
	CNIVersion        string
	ContainerdVersion string
	RuncVersion       string
	Maintainer        string
}

// DefaultMaintainer is the Maintainer of every package.
const DefaultMaintainer = "kubenext maintainers <kubenext@users.noreply.github.com>"

var (
	serverBinaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubeadm", "kubectl"}
	nodeBinaries   = []string{"kubelet", "kube-proxy", "kubeadm", "kubectl"}
	clientBinaries = []string{"kubectl", "kubectl-node_logs", "kubectl-whoami", "kubectl-resize"}
)

// Build writes a release: upstream-style tarballs, the images kubeadm
// needs, Debian packages and SHA256SUMS. It writes into a sibling of Out
// and renames it at the end, so a failed build leaves no half release.
func Build(o BuildOptions, stdout io.Writer) error {
	v, err := ParseVersion(o.Version, o.BuildDate)
	if err != nil {
		return err
	}
	if o.BuildDate.IsZero() {
		return errors.New("--build-date is required (RFC 3339, e.g. 2026-12-01T13:00:00Z): it dates every file so that builds repeat")
	}
	if o.Out == "" {
		return errors.New("--out is required")
	}
	if o.Maintainer == "" {
		o.Maintainer = DefaultMaintainer
	}
	pkgs, err := o.Packages(v)
	if err != nil {
		return err
	}
	if err := checkReplaceable(o.Out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(o.Out), "."+filepath.Base(o.Out)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	staging := filepath.Join(tmp, ".staging")

	s := &Steps{Out: stdout}
	var images map[string]Archive
	if err := s.Run("Reading the image archives in "+o.Images, func() error {
		archives, err := ReadArchives(o.Images)
		if err != nil {
			return err
		}
		images, err = selectImages(archives, ReleaseImages(o.Version))
		return err
	}); err != nil {
		return err
	}

	mtime := v.Date
	versionFile := tarEntry{Name: "kubernetes/version", Data: []byte(o.Version + "\n"), Mode: 0o644}
	serverEntries := []tarEntry{versionFile}
	for _, b := range serverBinaries {
		serverEntries = append(serverEntries, tarEntry{Name: "kubernetes/server/bin/" + b, Source: filepath.Join(o.Bin, b), Mode: 0o755})
	}
	for _, c := range ControlPlaneImages {
		serverEntries = append(serverEntries,
			tarEntry{Name: "kubernetes/server/bin/" + c + ".tar", Source: images[c].Path, Mode: 0o644},
			tarEntry{Name: "kubernetes/server/bin/" + c + ".docker_tag", Data: []byte(DockerTag(o.Version) + "\n"), Mode: 0o644})
	}
	tarballs := []struct {
		name    string
		entries []tarEntry
	}{
		{"kubenext-server-linux-amd64.tar.gz", serverEntries},
		{"kubenext-node-linux-amd64.tar.gz", binEntries("node", nodeBinaries, o.Bin, versionFile)},
		{"kubenext-client-linux-amd64.tar.gz", binEntries("client", clientBinaries, o.Bin, versionFile)},
	}
	for _, t := range tarballs {
		if err := s.Run("Writing "+t.name, func() error {
			return writeTarGz(filepath.Join(tmp, t.name), t.entries, mtime)
		}); err != nil {
			return err
		}
	}

	if err := s.Run("Copying the images kubeadm needs and netd", func() error {
		dir := filepath.Join(tmp, "images")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		names := make([]string, 0, len(images))
		for n := range images {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if err := copyFile(images[n].Path, filepath.Join(dir, n+".tar"), mtime); err != nil {
				return err
			}
			s.Note("images/%s.tar  %s", n, images[n].Tags[0])
		}
		return nil
	}); err != nil {
		return err
	}

	debDir := filepath.Join(tmp, "debs")
	if err := os.MkdirAll(debDir, 0o755); err != nil {
		return err
	}
	for _, p := range pkgs {
		if err := s.Run("Packaging "+p.Name+" "+p.Version, func() error {
			_, err := writeDeb(p, o.Maintainer, staging, debDir, mtime)
			return err
		}); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(staging); err != nil {
		return err
	}

	if err := s.Run("Writing SHA256SUMS", func() error { return writeSums(tmp) }); err != nil {
		return err
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release %s in %s\n", o.Version, o.Out)
	return nil
}

func binEntries(kind string, bins []string, binDir string, version tarEntry) []tarEntry {
	out := []tarEntry{version}
	for _, b := range bins {
		out = append(out, tarEntry{Name: "kubernetes/" + kind + "/bin/" + b, Source: filepath.Join(binDir, b), Mode: 0o755})
	}
	return out
}

// checkReplaceable refuses to replace a directory that is not a previous
// release (one with SHA256SUMS) or empty, so a wrong --out cannot delete
// someone's files.
func checkReplaceable(out string) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(out, "SHA256SUMS")); err != nil {
		return fmt.Errorf("--out %s exists and is not a release (no SHA256SUMS): remove it or choose another directory", out)
	}
	return nil
}

func copyFile(src, dst string, mtime time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, mtime, mtime)
}

// writeSums writes SHA256SUMS in sha256sum's format (`sha256sum -c`
// checks it from the release directory) over every other file there.
func writeSums(dir string) error {
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "SHA256SUMS" {
			return nil
		}
		sum, err := sha256File(path)
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
