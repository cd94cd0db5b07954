package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PushOptions are the inputs of `release push`.
type PushOptions struct {
	// Registry is host[:port][/path], the imageRepository of kubeadm's
	// ClusterConfiguration.
	Registry string
	// Insecure pushes over plain HTTP.
	Insecure bool
	// Archives are docker archives, or directories of them (*.tar).
	Archives []string
	// RemoteOptions are extra options for remote.Write (tests pass a
	// transport).
	RemoteOptions []remote.Option
}

// Pushed is one image written to the registry.
type Pushed struct {
	Source string // the archive's RepoTag
	Target name.Tag
	Digest v1.Hash
}

// TargetRepository checks --registry and returns the repository prefix
// images are pushed under.
func TargetRepository(registry string, insecure bool) (string, []name.Option, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	if registry == "" {
		return "", nil, errors.New("no registry: pass --registry host:port[/path] (make push REGISTRY=...), the imageRepository of kubeadm's ClusterConfiguration")
	}
	if strings.Contains(registry, "://") {
		return "", nil, fmt.Errorf("registry %q has a scheme: give host:port[/path]; --insecure (INSECURE=1) selects plain HTTP", registry)
	}
	registry = strings.TrimSuffix(registry, "/")
	host, _, _ := strings.Cut(registry, "/")
	// Without a '.' or ':' or "localhost", the first element is a Docker
	// Hub namespace, not a host: refuse rather than push to Docker Hub.
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "", nil, fmt.Errorf("registry %q does not start with a host: give host:port[/path], e.g. localhost:5000/kubenext", registry)
	}
	probe, err := name.NewTag(registry+"/probe:t", append(opts, name.StrictValidation)...)
	if err != nil {
		return "", nil, fmt.Errorf("registry %q does not parse as host:port[/path]: %w", registry, err)
	}
	if probe.RegistryStr() != host {
		return "", nil, fmt.Errorf("registry %q: host parses as %q: give host:port[/path]", registry, probe.RegistryStr())
	}
	return registry, opts, nil
}

// TargetFor is where kubeadm looks for tag with imageRepository set to
// registry: the last element of the repository under registry, the same
// tag.
func TargetFor(registry string, tag name.Tag, opts ...name.Option) (name.Tag, error) {
	return name.NewTag(registry+"/"+ImageName(tag.Repository)+":"+tag.TagStr(), opts...)
}

// Push writes every image of the archives to the registry under the names
// kubeadm derives, printing one line per image with its digest.
func Push(ctx context.Context, o PushOptions, stdout io.Writer) ([]Pushed, error) {
	registry, nameOpts, err := TargetRepository(o.Registry, o.Insecure)
	if err != nil {
		return nil, err
	}
	if len(o.Archives) == 0 {
		return nil, errors.New("no archives: pass docker archives or directories of them, e.g. _output/release/<version>/images")
	}
	var archives []Archive
	for _, p := range o.Archives {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			in, err := ReadArchives(p)
			if err != nil {
				return nil, err
			}
			if len(in) == 0 {
				return nil, fmt.Errorf("%s has no *.tar docker archives: run make release first, or pass the archives", p)
			}
			archives = append(archives, in...)
			continue
		}
		a, err := ReadArchive(p)
		if err != nil {
			return nil, err
		}
		archives = append(archives, a)
	}

	type job struct {
		archive string
		src     name.Tag
		dst     name.Tag
	}
	var jobs []job
	targets := map[string]string{}
	for _, a := range archives {
		for _, t := range a.Tags {
			dst, err := TargetFor(registry, t, nameOpts...)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", a.Path, t, err)
			}
			if prev, ok := targets[dst.String()]; ok && prev != t.String() {
				return nil, fmt.Errorf("%s and %s would both be pushed as %s", prev, t, dst)
			}
			targets[dst.String()] = t.String()
			jobs = append(jobs, job{a.Path, t, dst})
		}
	}

	ropts := append([]remote.Option{remote.WithContext(ctx)}, o.RemoteOptions...)
	s := &Steps{Out: stdout}
	var pushed []Pushed
	err = s.Run(fmt.Sprintf("Pushing %d images to %s", len(jobs), registry), func() error {
		for _, j := range jobs {
			src := j.src
			img, err := tarball.ImageFromPath(j.archive, &src)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", j.archive, j.src, err)
			}
			if err := remote.Write(j.dst, img, ropts...); err != nil {
				return fmt.Errorf("pushing %s: %w", j.dst, err)
			}
			d, err := img.Digest()
			if err != nil {
				return err
			}
			s.Note("%s@%s", j.dst, d)
			pushed = append(pushed, Pushed{Source: j.src.String(), Target: j.dst, Digest: d})
		}
		return nil
	})
	return pushed, err
}
