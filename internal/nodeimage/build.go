package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kubenext/kubenext/internal/steps"
	"os"
	"os/exec"
	"path/filepath"
)

// Builder assembles the node image.
type Builder struct {
	Inputs
	Tag      string   // e.g. kubenext/node:v1.37.2_kubenext.<commit>
	Archives []string // image archives to preload
	WorkDir  string   // _output/nodeimage
	Run      Runner
	Steps    *steps.Steps
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
			return BuildBaseRootfs(ctx, b.Run, baseDir)
		}},
		{"Importing base image " + baseImage, func() error {
			if _, err := b.Run.Output(ctx, "docker", "image", "inspect", baseImage); err == nil {
				return nil
			}
			return dockerImport(ctx, baseDir, baseImage)
		}},
		{"Generating containerd's base runtime spec", func() error {
			spec, err := b.Run.Output(ctx, filepath.Join(b.Tools, "ctr"), "oci", "spec")
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
			return Preload(ctx, b.Run, filepath.Join(b.Tools, "containerd"), filepath.Join(b.Tools, "ctr"),
				filepath.Join(overlay, "var", "lib", "containerd"), b.Archives)
		}},
		{"Building " + b.Tag, func() error {
			if err := os.WriteFile(filepath.Join(contextDir, "Dockerfile"), fmt.Appendf(nil, dockerfile, baseImage), 0o644); err != nil {
				return err
			}
			// The legacy builder: BuildKit may try to resolve FROM remotely.
			cmd := exec.CommandContext(ctx, "docker", "build", "--quiet", "-t", b.Tag, contextDir)
			cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("docker build: %w\n%s", err, lastLines(string(out), 20))
			}
			return nil
		}},
	}
	for _, s := range actions {
		if err := b.Steps.Run(s.title, s.run); err != nil {
			return err
		}
	}
	return nil
}

// dockerImport streams the root filesystem into `docker import`.
func dockerImport(ctx context.Context, dir, tag string) error {
	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "--exclude=./.kubenext-base", "-c", ".")
	importCmd := exec.CommandContext(ctx, "docker", "import", "-", tag)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	importCmd.Stdin = pipe
	var importOut, tarErr bytes.Buffer
	importCmd.Stdout, importCmd.Stderr = &importOut, &importOut
	tarCmd.Stderr = &tarErr
	if err := importCmd.Start(); err != nil {
		return err
	}
	if err := tarCmd.Run(); err != nil {
		_ = importCmd.Process.Kill()
		_ = importCmd.Wait()
		return fmt.Errorf("tar of %s: %w\n%s", dir, err, lastLines(tarErr.String(), 20))
	}
	if err := importCmd.Wait(); err != nil {
		return fmt.Errorf("docker import: %w\n%s", err, lastLines(importOut.String(), 20))
	}
	return nil
}
