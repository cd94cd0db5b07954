package hostprep

import (
	"archive/tar"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
)

// ProbeImage is the throwaway image the privileged check runs.
const ProbeImage = "kubenext/hostprep-probe:latest"

// ErrPrivilegedBroken means the daemon cannot start privileged containers.
var ErrPrivilegedBroken = errors.New("privileged containers fail on this Docker daemon")

// ErrNoProbe means there is no static binary to build the probe image from.
var ErrNoProbe = errors.New("no static probe binary")

// IsStaticELF reports whether path is an ELF executable without a program
// interpreter, i.e. one that runs in an image holding nothing but itself.
func IsStaticELF(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// CheckProbeBinary returns ErrNoProbe unless binary is a static executable.
func CheckProbeBinary(binary string) error {
	if binary == "" {
		return fmt.Errorf("%w given", ErrNoProbe)
	}
	static, err := IsStaticELF(binary)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoProbe, err)
	}
	if !static {
		return fmt.Errorf("%w: %s is dynamically linked", ErrNoProbe, binary)
	}
	return nil
}

// WriteProbeTar writes a root filesystem tarball holding only binary as
// /probe. There is no registry to pull an image from, so the probe is made
// from a binary already on the host; a static one needs no libc in the image.
func WriteProbeTar(dst, binary string) error {
	data, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "probe", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		f.Close()
		return err
	}
	if _, err := tw.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ProbePrivileged runs `/probe probeArgs...` in a privileged container made
// from binary and returns nil when it ran. A runtime failure to apply
// capabilities is reported as ErrPrivilegedBroken: that is the failure a
// short bounding set causes, and the one the runc wrapper fixes. The image is
// removed afterwards so the check leaves the daemon as it found it.
//
// binary must run in an otherwise empty image; see CheckProbeBinary.
func ProbePrivileged(ctx context.Context, host exec.Cmder, binary string, probeArgs ...string) error {
	dir, err := os.MkdirTemp("", "kubenext-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tarball := filepath.Join(dir, "rootfs.tar")
	if err := WriteProbeTar(tarball, binary); err != nil {
		return err
	}
	if _, err := exec.CombinedOutput(host.Command(ctx, "docker", "import", tarball, ProbeImage)); err != nil {
		return err
	}
	defer exec.CombinedOutput(host.Command(context.WithoutCancel(ctx), "docker", "rmi", "-f", ProbeImage)) //nolint:errcheck // best effort cleanup
	args := append([]string{"run", "--rm", "--privileged", "--network", "none", ProbeImage, "/probe"}, probeArgs...)
	out, err := exec.CombinedOutput(host.Command(ctx, "docker", args...))
	if err != nil {
		if capsFailure(string(out)) {
			return fmt.Errorf("%w:\n%s", ErrPrivilegedBroken, exec.LastLines(string(out), 3))
		}
		return err
	}
	return nil
}

// capsFailure recognises runc's message for capabilities outside the
// bounding set ("unable to apply caps: operation not permitted").
func capsFailure(out string) bool {
	return strings.Contains(out, "apply caps")
}
