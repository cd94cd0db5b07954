package release

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushAndReadBack(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	coredns := writeArchive(t, filepath.Join(dir, "coredns.tar"), "registry.k8s.io/coredns/coredns:v1.14.6")
	apiserver := writeArchive(t, filepath.Join(dir, "x.tar"), "registry.k8s.io/kube-apiserver:v1.37.2_kubenext.abc", "docker.io/kubenext/netd:v1.37.2_kubenext.abc")

	var out bytes.Buffer
	reg := u.Host + "/kubenext"
	pushed, err := Push(context.Background(), PushOptions{Registry: reg, Insecure: true, Archives: []string{dir}}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(pushed) != 3 {
		t.Fatalf("pushed %v", pushed)
	}
	for _, c := range []struct {
		ref  string
		want func() string
	}{
		{reg + "/coredns:v1.14.6", func() string { d, _ := coredns.Digest(); return d.String() }},
		{reg + "/kube-apiserver:v1.37.2_kubenext.abc", func() string { d, _ := apiserver.Digest(); return d.String() }},
		{reg + "/netd:v1.37.2_kubenext.abc", func() string { d, _ := apiserver.Digest(); return d.String() }},
	} {
		ref, err := name.ParseReference(c.ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(ref)
		if err != nil {
			t.Errorf("%s not in the registry: %v", c.ref, err)
			continue
		}
		if desc.Digest.String() != c.want() {
			t.Errorf("%s: digest %s, want %s", c.ref, desc.Digest, c.want())
		}
		if !strings.Contains(out.String(), c.ref+"@"+c.want()) {
			t.Errorf("no line for %s@%s in\n%s", c.ref, c.want(), out.String())
		}
	}
}

func TestPushRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	writeArchive(t, good, "registry.k8s.io/pause:3.10.2")
	untagged := filepath.Join(t.TempDir(), "untagged.tar")
	writeUntaggedArchive(t, untagged)
	for _, c := range []struct {
		o    PushOptions
		want string
	}{
		{PushOptions{Registry: "", Archives: []string{good}}, "no registry: pass --registry"},
		{PushOptions{Registry: "http://localhost:5000", Archives: []string{good}}, "has a scheme"},
		{PushOptions{Registry: "kubenext", Archives: []string{good}}, "does not start with a host"},
		{PushOptions{Registry: "localhost:5000/Bad Path", Archives: []string{good}}, "does not parse"},
		{PushOptions{Registry: "localhost:5000", Archives: nil}, "no archives"},
		{PushOptions{Registry: "localhost:5000", Archives: []string{t.TempDir()}}, "has no *.tar docker archives"},
		{PushOptions{Registry: "localhost:5000", Archives: []string{untagged}}, "has no RepoTags"},
	} {
		_, err := Push(context.Background(), c.o, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.o, err, c.want)
		}
	}
}

func TestTargetFor(t *testing.T) {
	for src, want := range map[string]string{
		"registry.k8s.io/kube-apiserver:v1.37.2_kubenext.abc": "reg.test:5000/k/kube-apiserver:v1.37.2_kubenext.abc",
		"registry.k8s.io/coredns/coredns:v1.14.6":             "reg.test:5000/k/coredns:v1.14.6",
		"docker.io/kubenext/netd:T":                           "reg.test:5000/k/netd:T",
		"registry.k8s.io/etcd:3.7.0-0":                        "reg.test:5000/k/etcd:3.7.0-0",
	} {
		tag, _ := name.NewTag(src)
		got, err := TargetFor("reg.test:5000/k", tag)
		if err != nil || got.String() != want {
			t.Errorf("%s: %s %v, want %s", src, got, err, want)
		}
	}
}
