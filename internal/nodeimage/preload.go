package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Preload imports image archives into a containerd content store rooted at
// root (the overlay's /var/lib/containerd), using a throwaway containerd
// of the same version that the node runs. Images are imported without
// unpacking and pinned, as kind's node image build does, so the node's
// kubelet never tries to pull them and image GC never removes them.
func Preload(ctx context.Context, run Runner, containerd, ctr, root string, archives []string) error {
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
	cmd := exec.Command(containerd, "--config", config, "--root", root, "--state", filepath.Join(work, "state"), "--address", sock)
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

	if err := waitForContainerd(ctx, run, ctr, sock, exited, func() error { return waitErr }, filepath.Join(work, "containerd.log")); err != nil {
		return err
	}
	for _, archive := range archives {
		if err := run.Run(ctx, ctr, "--address", sock, "--namespace", "k8s.io", "images", "import",
			"--no-unpack", "--digests", "--all-platforms", "--label=io.cri-containerd.pinned=pinned", archive); err != nil {
			return fmt.Errorf("importing %s: %w", archive, err)
		}
	}
	return nil
}

func waitForContainerd(ctx context.Context, run Runner, ctr, sock string, exited <-chan struct{}, exitErr func() error, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := run.Output(ctx, ctr, "--address", sock, "version"); err == nil {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("throwaway containerd exited (%v):\n%s", exitErr(), lastLines(string(log), 20))
		case <-ctx.Done():
			return errors.New("throwaway containerd did not answer within a minute")
		case <-tick.C:
		}
	}
}
