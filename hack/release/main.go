// Command release turns a kubenext build into a release: upstream-style
// tarballs, the images kubeadm needs, Debian packages, a flat apt
// repository, and the images pushed to a registry.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/hack/release/release"
)

func main() {
	root := &cobra.Command{
		Use:          "release",
		Short:        "Package a kubenext build: tarballs, images, debs, apt repository, registry push",
		SilenceUsage: true,
	}
	root.AddCommand(buildCmd(), aptRepoCmd(), pushCmd())
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func buildCmd() *cobra.Command {
	var o release.BuildOptions
	var date string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Write the tarballs, images, debs and SHA256SUMS of a release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if date == "" {
				return fmt.Errorf("--build-date is required, e.g. 2026-12-01T13:00:00Z")
			}
			t, err := time.Parse(time.RFC3339, date)
			if err != nil {
				return fmt.Errorf("--build-date %q: %w", date, err)
			}
			o.BuildDate = t
			return release.Build(o, os.Stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Version, "version", "", "Kubernetes version of the binaries, v1.37.2 or v1.37.2+kubenext.<commit>")
	f.StringVar(&date, "build-date", "", "build date (RFC 3339, UTC), the mtime of every file and part of the package versions")
	f.StringVar(&o.Bin, "bin", "_output/bin", "directory of the seven components and the kubectl-* plugins")
	f.StringVar(&o.Tools, "tools", "_output/tools", "directory of containerd, ctr, containerd-shim-runc-v2, runc, crictl and cni/")
	f.StringVar(&o.Images, "images", "_output/images", "directory of docker archives written by imagebuild")
	f.StringVar(&o.Out, "out", "", "release directory; replaced if it holds an earlier release")
	f.StringVar(&o.CriToolsVersion, "cri-tools-version", "", "crictl's version (sigs.k8s.io/cri-tools in hack/tools/go.mod)")
	f.StringVar(&o.CNIVersion, "cni-version", "", "the CNI plugins' version (github.com/containernetworking/plugins in hack/tools/go.mod)")
	f.StringVar(&o.ContainerdVersion, "containerd-version", "", "containerd's version (github.com/containerd/containerd/v2 in hack/tools/go.mod)")
	f.StringVar(&o.RuncVersion, "runc-version", "", "runc's version (github.com/opencontainers/runc in hack/tools/go.mod)")
	f.StringVar(&o.Maintainer, "maintainer", release.DefaultMaintainer, "Maintainer field of the packages")
	return cmd
}

func aptRepoCmd() *cobra.Command {
	var debs []string
	var out string
	cmd := &cobra.Command{
		Use:   "apt-repo --debs DIR... --out DIR",
		Short: "Write a flat apt repository (deb [trusted=yes] file:DIR ./) of the given debs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			return release.AptRepo(debs, out, os.Stdout)
		},
	}
	cmd.Flags().StringSliceVar(&debs, "debs", nil, "directories of .deb files (repeat, or comma-separate)")
	cmd.Flags().StringVar(&out, "out", "", "repository directory")
	return cmd
}

func pushCmd() *cobra.Command {
	var o release.PushOptions
	cmd := &cobra.Command{
		Use:   "push --registry HOST[:PORT][/PATH] [--insecure] ARCHIVE_OR_DIR...",
		Short: "Push docker archives under the names kubeadm uses for imageRepository HOST[:PORT][/PATH]",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Archives = args
			_, err := release.Push(cmd.Context(), o, os.Stdout)
			return err
		},
	}
	cmd.Flags().StringVar(&o.Registry, "registry", "", "registry and path, kubeadm's imageRepository, e.g. localhost:5000/kubenext")
	cmd.Flags().BoolVar(&o.Insecure, "insecure", false, "plain HTTP instead of HTTPS")
	return cmd
}
