package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/steps"
)

// Builder assembles the node image.
type Builder struct {
	Inputs
	Tag      string   // e.g. kubenext/node:v1.37.2_kubenext.<commit>
	Archives []string // image archives to preload
	WorkDir  string   // _output/nodeimage
	// Cmd runs debootstrap, docker, tar and ctr on this host.
	Cmd   exec.Cmder
	Steps *steps.Steps
}

// dockerfile adds what `docker import` cannot set: STOPSIGNAL, which
// systemd as PID 1 needs to shut down cleanly.
const dockerfile = `FROM %s
COPY rootfs/ /
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
`

// Build runs every step; each prints a line with its duration.
func (b *Builder) Build(ctx context.Context) error {
	baseDir := filepath.Join(b.WorkDir, "base-rootfs")
	baseImage := "kubenext/node-base:" + BaseID()
	contextDir := filepath.Join(b.WorkDir, "context")
	overlay := filepath.Join(contextDir, "rootfs")
	actions := []struct {
		title string
		run   func() error
	}{
		{"Building the base root filesystem (debootstrap " + Suite + ")", func() error {
			return BuildBaseRootfs(ctx, b.Cmd, baseDir)
		}},
		{"Importing base image " + baseImage, func() error {
			if _, err := exec.Output(b.Cmd.Command(ctx, "docker", "image", "inspect", baseImage)); err == nil {
				return nil
			}
			return DockerImport(ctx, b.Cmd, baseDir, baseImage)
		}},
		{"Generating containerd's base runtime spec", func() error {
			spec, err := exec.Output(b.Cmd.Command(ctx, filepath.Join(b.Tools, "ctr"), "oci", "spec"))
			b.CRIBaseSpec = spec
			return err
		}},
		{"Writing kind's base files, our binaries and the runtime", func() error {
			files, err := b.Files()
			if err != nil {
				return err
			}
			return WriteOverlay(overlay, files)
		}},
		{fmt.Sprintf("Preloading %d image archives into containerd", len(b.Archives)), func() error {
			return Preload(ctx, b.Cmd, filepath.Join(b.Tools, "containerd"), filepath.Join(b.Tools, "ctr"),
				filepath.Join(overlay, "var", "lib", "containerd"), b.Archives)
		}},
		{"Building " + b.Tag, func() error {
			if err := os.WriteFile(filepath.Join(contextDir, "Dockerfile"), fmt.Appendf(nil, dockerfile, baseImage), 0o644); err != nil {
				return err
			}
			// The legacy builder: BuildKit may try to resolve FROM remotely.
			_, err := exec.CombinedOutput(b.Cmd.Command(ctx, "docker", "build", "--quiet", "-t", b.Tag, contextDir).SetEnv("DOCKER_BUILDKIT=0"))
			return err
		}},
	}
	for _, s := range actions {
		if err := b.Steps.Run(s.title, s.run); err != nil {
			return err
		}
	}
	return nil
}

// DockerImport streams the root filesystem into `docker import` through a
// pipe: the base is hundreds of megabytes that need not touch the disk
// twice.
func DockerImport(ctx context.Context, host exec.Cmder, dir, tag string) error {
	importCtx, stopImport := context.WithCancel(ctx)
	defer stopImport()
	pr, pw := io.Pipe()
	imported := make(chan error, 1)
	go func() {
		_, err := exec.CombinedOutput(host.Command(importCtx, "docker", "import", "-", tag).SetStdin(pr))
		// Whatever import did not read, tar must not block writing.
		pr.CloseWithError(fmt.Errorf("docker import ended"))
		imported <- err
	}()
	var tarStderr bytes.Buffer
	tarErr := host.Command(ctx, "tar", "-C", dir, "--numeric-owner", "--exclude=./.kubenext-base", "-c", ".").
		SetStdout(pw).SetStderr(&tarStderr).Run()
	if tarErr != nil {
		// A half-written stream must not become an image.
		stopImport()
		pw.CloseWithError(tarErr)
		<-imported
		return fmt.Errorf("tar of %s: %w\n%s", dir, tarErr, exec.LastLines(tarStderr.String(), 20))
	}
	pw.Close()
	return <-imported
}
