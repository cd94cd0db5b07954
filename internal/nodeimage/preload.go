package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// Preload imports image archives into a containerd content store rooted at
// root (the overlay's /var/lib/containerd), using a throwaway containerd
// of the same version that the node runs. Images are imported without
// unpacking and pinned, as kind's node image build does, so the node's
// kubelet never tries to pull them and image GC never removes them.
func Preload(ctx context.Context, host exec.Cmder, containerd, ctr, root string, archives []string) error {
	return preload(ctx, host, containerd, ctr, root, archives, false)
}

// PreloadUnpacked also unpacks each image into the overlayfs snapshotter
// under root, on this host: a virtual machine under emulation would take
// longer to unpack one than the kubelet waits for a container to be
// created.
func PreloadUnpacked(ctx context.Context, host exec.Cmder, containerd, ctr, root string, archives []string) error {
	return preload(ctx, host, containerd, ctr, root, archives, true)
}

func preload(ctx context.Context, host exec.Cmder, containerd, ctr, root string, archives []string, unpack bool) error {
	work, err := os.MkdirTemp("", "kubenext-preload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	sock := filepath.Join(work, "containerd.sock")
	config := filepath.Join(work, "config.toml")
	// Only the content and image stores are needed: no CRI, no snapshotter
	// work, no network.
	if err := os.WriteFile(config, []byte("version = 3\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.cri.v1.runtime\", \"io.containerd.cri.v1.images\"]\n"), 0o644); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(work, "containerd.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	// os/exec, not internal/exec: this containerd is a daemon we stop
	// ourselves (SIGTERM to its process group, SIGKILL after a grace
	// period) and that must die with us (Pdeathsig); an exec.Cmd is run
	// once to completion and carries no process attributes.
	cmd := osexec.Command(containerd, "--config", config, "--root", root, "--state", filepath.Join(work, "state"), "--address", sock)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()

	if err := waitForContainerd(ctx, host, ctr, sock, exited, func() error { return waitErr }, filepath.Join(work, "containerd.log")); err != nil {
		return err
	}
	mode := []string{"--no-unpack", "--all-platforms"}
	if unpack {
		mode = []string{"--snapshotter", "overlayfs"}
	}
	for _, archive := range archives {
		args := append(append([]string{"--address", sock, "--namespace", "k8s.io", "images", "import"}, mode...),
			"--digests", "--label=io.cri-containerd.pinned=pinned", archive)
		if _, err := exec.CombinedOutput(host.Command(ctx, ctr, args...)); err != nil {
			return fmt.Errorf("importing %s: %w", archive, err)
		}
	}
	return nil
}

func waitForContainerd(ctx context.Context, host exec.Cmder, ctr, sock string, exited <-chan struct{}, exitErr func() error, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := exec.Output(host.Command(ctx, ctr, "--address", sock, "version")); err == nil {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("throwaway containerd exited (%v):\n%s", exitErr(), exec.LastLines(string(log), 20))
		case <-ctx.Done():
			return errors.New("throwaway containerd did not answer within a minute")
		case <-tick.C:
		}
	}
}
