package release

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Archive is one docker-archive tarball and the tags its manifest.json
// names.
type Archive struct {
	Path string
	Tags []name.Tag
}

// ReadArchive reads the RepoTags of a docker archive without reading its
// layers (tar skips over them by seeking).
func ReadArchive(path string) (Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return Archive{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return Archive{}, fmt.Errorf("%s has no manifest.json: not a docker archive (docker save, or go-containerregistry's tarball.Write)", path)
		}
		if err != nil {
			return Archive{}, fmt.Errorf("%s: %w", path, err)
		}
		if filepath.Clean(hdr.Name) != "manifest.json" {
			continue
		}
		var manifest []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
			return Archive{}, fmt.Errorf("%s: manifest.json: %w", path, err)
		}
		a := Archive{Path: path}
		for _, m := range manifest {
			for _, t := range m.RepoTags {
				tag, err := name.NewTag(t, name.StrictValidation)
				if err != nil {
					return Archive{}, fmt.Errorf("%s: RepoTag %q: %w", path, t, err)
				}
				a.Tags = append(a.Tags, tag)
			}
		}
		if len(a.Tags) == 0 {
			return Archive{}, fmt.Errorf("%s has no RepoTags in its manifest.json: save the image by name (docker save repo:tag), not by ID", path)
		}
		return a, nil
	}
}

// ReadArchives reads every *.tar of dir.
func ReadArchives(dir string) ([]Archive, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Archive
	for _, p := range paths {
		a, err := ReadArchive(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ImageName is the last element of a repository: the name kubeadm puts
// under a custom imageRepository (registry.k8s.io/coredns/coredns becomes
// <imageRepository>/coredns, see GetDNSImage in cmd/kubeadm/app/images).
func ImageName(r name.Repository) string {
	repo := r.RepositoryStr()
	return repo[strings.LastIndex(repo, "/")+1:]
}

// wantedImage is an image of the release: its repository, and the tag it
// must have, or "" where the version is not ours to check (etcd, coredns
// and pause carry their own).
type wantedImage struct {
	Repository string
	Tag        string
}

// ReleaseImages are the images kubeadm pulls for a node of this version,
// plus our network daemon. The test images are not released.
func ReleaseImages(version string) []wantedImage {
	tag := DockerTag(version)
	var w []wantedImage
	for _, c := range ControlPlaneImages {
		w = append(w, wantedImage{"registry.k8s.io/" + c, tag})
	}
	return append(w,
		wantedImage{"registry.k8s.io/etcd", ""},
		wantedImage{"registry.k8s.io/coredns/coredns", ""},
		wantedImage{"registry.k8s.io/pause", ""},
		wantedImage{"docker.io/kubenext/netd", tag},
	)
}

// ControlPlaneImages are the images upstream's server tarball carries next
// to their binaries (as <name>.tar and <name>.docker_tag).
var ControlPlaneImages = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

// selectImages finds, for every wanted image, the one archive that holds
// it, keyed by ImageName.
func selectImages(archives []Archive, wanted []wantedImage) (map[string]Archive, error) {
	out := map[string]Archive{}
	var problems []string
	for _, w := range wanted {
		repo, err := name.NewRepository(w.Repository)
		if err != nil {
			return nil, err
		}
		var found []Archive
		var otherTags []string
		for _, a := range archives {
			for _, t := range a.Tags {
				if t.Context().Name() != repo.Name() {
					continue
				}
				if w.Tag != "" && t.TagStr() != w.Tag {
					otherTags = append(otherTags, t.TagStr())
					continue
				}
				found = append(found, a)
				break
			}
		}
		switch {
		case len(found) == 1:
			out[ImageName(repo)] = found[0]
		case len(found) > 1:
			problems = append(problems, fmt.Sprintf("%s is in %d archives (%s, %s): keep one", w.Repository, len(found), found[0].Path, found[1].Path))
		case len(otherTags) > 0:
			problems = append(problems, fmt.Sprintf("%s:%s not found, only tags %s: rebuild the images for this version (make images)", w.Repository, w.Tag, strings.Join(otherTags, ", ")))
		default:
			problems = append(problems, fmt.Sprintf("no archive holds %s: run make images", w.Repository))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}
