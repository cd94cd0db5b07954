package release

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// upstreamRevision is the Debian revision upstream's packages carry
// (pkgs.k8s.io publishes 1.37.2-1.1). Ours start with it so that a
// kubenext build sorts just above the upstream package of the same
// version and below the next upstream version.
const upstreamRevision = "1.1"

var semverRE = regexp.MustCompile(`^v?([0-9]+\.[0-9]+\.[0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$`)

// Version is a parsed --version: the Kubernetes version our binaries
// report, and what the package versions are derived from.
type Version struct {
	// Git is the version as given, e.g. v1.37.2+kubenext.2425128c8d.
	Git string
	// Upstream is the Debian upstream part of the Kubernetes packages, e.g.
	// 1.37.2, or 1.38.0~rc.1 for a pre-release so it sorts before 1.38.0.
	Upstream string
	// Build is what follows "kubenext." in the build metadata (the commit,
	// and ".dirty" for a dirty tree); empty for a pristine upstream build.
	Build string
	// Date is the build date; its UTC digits order two builds of the same
	// upstream version.
	Date time.Time
}

// ParseVersion checks a version such as v1.37.2 or
// v1.37.2+kubenext.2425128c8d.
func ParseVersion(git string, date time.Time) (Version, error) {
	m := semverRE.FindStringSubmatch(git)
	if m == nil {
		return Version{}, fmt.Errorf("version %q is not vX.Y.Z[-pre][+kubenext.<commit>]", git)
	}
	v := Version{Git: git, Upstream: debUpstream(m[1], m[2]), Date: date.UTC()}
	if meta := m[3]; meta != "" {
		build, ok := strings.CutPrefix(meta, "kubenext.")
		if !ok || build == "" {
			return Version{}, fmt.Errorf("version %q: build metadata must be kubenext.<commit>, the form the Makefile's VERSION has", git)
		}
		v.Build = build
	}
	return v, nil
}

func debUpstream(core, pre string) string {
	if pre == "" {
		return core
	}
	return core + "~" + pre
}

// DockerTag is the image tag kubeadm derives from the version
// (KubernetesVersionToImageTag: every character outside [-A-Za-z0-9_.]
// becomes '_').
func DockerTag(version string) string {
	return dockerTagRE.ReplaceAllString(version, "_")
}

var dockerTagRE = regexp.MustCompile(`[^-\w.]`)

// Revision is the Debian revision of every package of this build:
// upstream's for a pristine build, or upstream's followed by
// +kubenext.<UTC date digits>.<build>. dpkg orders "1.1+..." after "1.1",
// and the date orders our builds among themselves.
func (v Version) Revision() string {
	if v.Build == "" {
		return upstreamRevision
	}
	return upstreamRevision + "+kubenext." + v.Date.Format("20060102150405") + "." + v.Build
}

// Deb is the full Debian version of a package whose upstream version is
// upstream (a tool's version such as v1.36.0, or "" for Kubernetes').
func (v Version) Deb(upstream string) (string, error) {
	if upstream == "" {
		return v.Upstream + "-" + v.Revision(), nil
	}
	m := semverRE.FindStringSubmatch(upstream)
	if m == nil || m[3] != "" {
		return "", fmt.Errorf("tool version %q is not vX.Y.Z[-pre]", upstream)
	}
	return debUpstream(m[1], m[2]) + "-" + v.Revision(), nil
}
