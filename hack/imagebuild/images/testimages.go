package images

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// E2ERegistry is where upstream's e2e suite looks for its test images
// (test/utils/image/manifest.go, PromoterE2eRegistry). The images below
// carry exactly these names so the suite finds them preloaded on the nodes.
const E2ERegistry = "registry.k8s.io/e2e-test-images"

// TestImage is an upstream e2e test image rebuilt from local inputs. Cmd
// is kept apart from Spec because upstream's images rely on the split
// between entrypoint and default arguments: a conformance spec checks that
// a pod without args runs agnhost's default "pause".
type TestImage struct {
	Spec
	Cmd        []string
	WorkingDir string
}

// BuildTestImage assembles t like Build, then sets the default command.
func BuildTestImage(t TestImage) (v1.Image, error) {
	img, err := Build(t.Spec)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.Cmd = t.Cmd
	cf.Config.WorkingDir = t.WorkingDir
	return mutate.ConfigFile(img, cf)
}

// TestSources are the local inputs of the e2e test images.
type TestSources struct {
	// DebianRootfs is a layer tarball of Debian bookworm (minbase) with
	// the tools upstream's Alpine- and Debian-based test images provide:
	// curl, dig, nc, ip/ss, socat, and Debian's nginx.
	DebianRootfs string
	// DebianRootfsDir is the same root unpacked; /etc/passwd and
	// /etc/group are read from it to add the accounts agnhost's image has.
	DebianRootfsDir string
	// Busybox is the test busybox image's source (see Busybox).
	Busybox Sources
	// Agnhost, SampleAPIServer and NoNewPrivs are binaries built from the
	// pinned k8s.io/kubernetes and k8s.io/sample-apiserver modules.
	Agnhost, SampleAPIServer, NoNewPrivs string
	// KubernetesDir is the pinned k8s.io/kubernetes module (read only):
	// porter's TLS key pair and the update-demo pictures come from it.
	KubernetesDir string
}

// E2EImageNames lists, by upstream's manifest names and versions, the
// images the [Conformance] specs run, in the order TestImages builds them.
var E2EImageNames = []string{
	"agnhost:2.66.1", "agnhost:2.55", "busybox:1.37.0-2", "nginx:1.27.0-2", "nginx:1.28.0-2",
	"glibc-dns-testing:2.1.1", "kitten:1.8", "nautilus:1.8", "nonroot:1.5", "nonewprivs:1.4",
	"sample-apiserver:1.29.2",
}

// MissingImageNames are images that conformance specs name precisely
// because they do not exist: the rollout or rollback under test must not
// finish. A node asked for a missing image tries to pull it, and the
// pull's name lookup goes to Docker's embedded resolver and from there to
// the host's resolver, off this machine. Preloading an image under each
// name, one that cannot start, keeps the pods unavailable as the specs
// expect without any pull.
var MissingImageNames = []string{
	"docker.io/library/webserver:404",                 // Deployment proportional scaling
	"gcr.io/google_samples/gb-redisslave:nonexistent", // Deployment rollover
	"docker.io/library/foo:non-existent",              // DaemonSet rollback without unnecessary restarts
}

// TestImages returns the recipes of every image in E2EImageNames and
// MissingImageNames. pause
// and etcd are not here: the node image already has the tags the suite
// asks for (registry.k8s.io/pause:3.10.2, registry.k8s.io/etcd:3.7.0-0).
func TestImages(src TestSources) ([]func() (TestImage, error), error) {
	var recipes []func() (TestImage, error)
	for _, nameVersion := range E2EImageNames {
		ref := E2ERegistry + "/" + nameVersion
		name, _, _ := strings.Cut(nameVersion, ":")
		var recipe func(string, TestSources) (TestImage, error)
		switch name {
		case "agnhost":
			recipe = Agnhost
		case "busybox":
			recipe = E2EBusybox
		case "nginx":
			recipe = Nginx
		case "glibc-dns-testing":
			recipe = GlibcDNSTesting
		case "kitten", "nautilus":
			recipe = UpdateDemo
		case "nonroot":
			recipe = NonRoot
		case "nonewprivs":
			recipe = NoNewPrivs
		case "sample-apiserver":
			recipe = SampleAPIServer
		default:
			return nil, fmt.Errorf("no recipe for e2e image %s", ref)
		}
		recipes = append(recipes, func() (TestImage, error) { return recipe(ref, src) })
	}
	for _, ref := range MissingImageNames {
		recipes = append(recipes, func() (TestImage, error) { return Unstartable(ref) })
	}
	return recipes, nil
}

// Unstartable is an image whose container fails to start: its entrypoint
// does not exist, so the kubelet reports a start error and the pod never
// becomes ready, as with an image that cannot be pulled.
func Unstartable(ref string) (TestImage, error) {
	layer, err := FileLayer([]Entry{{Path: "/README", Mode: 0o644, Content: []byte(
		"kubenext conformance: stands in for an image that a spec names because it does not exist; it cannot start.\n")}})
	if err != nil {
		return TestImage{}, err
	}
	return TestImage{Spec: Spec{Ref: ref, Layers: []v1.Layer{layer}, Entrypoint: []string{"/no-such-entrypoint"}}}, nil
}

func debianRoot(src TestSources) (v1.Layer, error) {
	return tarball.LayerFromFile(src.DebianRootfs)
}

// Agnhost follows test/images/agnhost/Dockerfile: /agnhost as entrypoint
// with "pause" as default argument, /agnhost-2 for the entrypoint specs,
// /uploads for netexec, porter's key pair, and uid 1000 in gid 50000 for
// the supplemental groups specs. The root is Debian, not Alpine, so the
// DNS specs' "musl" prober runs glibc too (it still resolves the same
// names).
func Agnhost(ref string, src TestSources) (TestImage, error) {
	root, err := debianRoot(src)
	if err != nil {
		return TestImage{}, err
	}
	passwd, err := appendAccountLines(filepath.Join(src.DebianRootfsDir, "etc/passwd"),
		"user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh")
	if err != nil {
		return TestImage{}, err
	}
	group, err := appendAccountLines(filepath.Join(src.DebianRootfsDir, "etc/group"),
		"user-defined-in-image:x:1000:", "group-defined-in-image:x:50000:user-defined-in-image")
	if err != nil {
		return TestImage{}, err
	}
	porter := filepath.Join(src.KubernetesDir, "test/images/agnhost/porter")
	files, err := FileLayer([]Entry{
		{Path: "/agnhost", Mode: 0o755, Source: src.Agnhost},
		{Path: "/agnhost-2", Link: "agnhost"},
		{Path: "/uploads", Mode: 0o755},
		{Path: "/localhost.crt", Mode: 0o644, Source: filepath.Join(porter, "localhost.crt")},
		{Path: "/localhost.key", Mode: 0o644, Source: filepath.Join(porter, "localhost.key")},
		{Path: "/etc/passwd", Mode: 0o644, Content: passwd},
		{Path: "/etc/group", Mode: 0o644, Content: group},
		{Path: "/home/user-defined-in-image", Mode: 0o755},
	})
	if err != nil {
		return TestImage{}, err
	}
	return TestImage{
		Spec: Spec{Ref: ref, Layers: []v1.Layer{root, files}, Entrypoint: []string{"/agnhost"}},
		Cmd:  []string{"pause"},
	}, nil
}

// appendAccountLines returns the file with lines added, so the image
// keeps Debian's system accounts (nginx's www-data, root, nobody).
func appendAccountLines(file string, lines ...string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	return append(data, []byte(strings.Join(lines, "\n")+"\n")...), nil
}

// E2EBusybox is upstream's busybox image in behaviour: no entrypoint and
// "sh" as default command, so a pod's args alone are not run through a
// shell. The root is our test busybox image's (Debian plus busybox's
// applets first on PATH), and every applet also replaces Debian's tool in
// /usr/bin (which /bin links to), since specs call /bin/sysctl, which
// Debian's minimal root lacks. sh is the exception: it is bash, on PATH
// and as /bin/sh. The envFrom specs run "sh -c env" and look for
// variables whose names are not shell identifiers ("data-1", "1-data-1");
// dash and Debian's busybox ash (1.35, and 1.37 likewise) drop those from
// the environment they pass on, bash keeps them, as upstream's image does.
func E2EBusybox(ref string, src TestSources) (TestImage, error) {
	spec, err := Busybox(ref, src.Busybox)
	if err != nil {
		return TestImage{}, err
	}
	links := []Entry{
		{Path: "/usr/bin/sh", Link: "bash"},
		{Path: "/usr/local/bin/sh", Link: "/usr/bin/bash"},
	}
	for _, applet := range src.Busybox.Applets {
		if applet == "busybox" || applet == "sh" || strings.ContainsAny(applet, "/ ") {
			continue
		}
		links = append(links, Entry{Path: "/usr/bin/" + applet, Link: "/usr/local/bin/busybox"})
	}
	layer, err := FileLayer(links)
	if err != nil {
		return TestImage{}, err
	}
	spec.Layers = append(spec.Layers, layer)
	spec.Entrypoint = nil
	return TestImage{Spec: spec, Cmd: []string{"sh"}}, nil
}

// nginxSite replaces Debian's default site: upstream's image (the official
// nginx image) serves /usr/share/nginx/html on port 80, where Debian's
// nginx-common also puts its welcome page.
const nginxSite = `server {
	listen 80 default_server;
	listen [::]:80 default_server;
	root /usr/share/nginx/html;
	index index.html index.htm;
	location / {
		try_files $uri $uri/ =404;
	}
}
`

// Nginx is Debian's nginx in the foreground, logging to the container's
// output like the official image.
func Nginx(ref string, src TestSources) (TestImage, error) {
	root, err := debianRoot(src)
	if err != nil {
		return TestImage{}, err
	}
	conf, err := FileLayer([]Entry{
		{Path: "/etc/nginx/sites-enabled/default", Mode: 0o644, Content: []byte(nginxSite)},
		{Path: "/var/log/nginx/access.log", Link: "/dev/stdout"},
		{Path: "/var/log/nginx/error.log", Link: "/dev/stderr"},
	})
	if err != nil {
		return TestImage{}, err
	}
	return TestImage{
		Spec: Spec{Ref: ref, Layers: []v1.Layer{root, conf}},
		Cmd:  []string{"nginx", "-g", "daemon off;"},
	}, nil
}

// GlibcDNSTesting is Debian with dig, as upstream's (debian-base plus
// dnsutils); the DNS specs give it a shell command.
func GlibcDNSTesting(ref string, src TestSources) (TestImage, error) {
	root, err := debianRoot(src)
	if err != nil {
		return TestImage{}, err
	}
	return TestImage{Spec: Spec{Ref: ref, Layers: []v1.Layer{root}}, Cmd: []string{"/bin/sh"}}, nil
}

// UpdateDemo is kitten or nautilus: agnhost's test-webserver serving the
// picture and data.json that kubectl's update-demo specs read through the
// pod proxy.
func UpdateDemo(ref string, src TestSources) (TestImage, error) {
	base, err := Agnhost(ref, src)
	if err != nil {
		return TestImage{}, err
	}
	name := strings.TrimPrefix(repository(ref), E2ERegistry+"/")
	html := filepath.Join(src.KubernetesDir, "test/images", name, "html")
	pictures, err := FileLayer([]Entry{
		{Path: "/" + name + ".jpg", Mode: 0o644, Source: filepath.Join(html, name+".jpg")},
		{Path: "/data.json", Mode: 0o644, Source: filepath.Join(html, "data.json")},
	})
	if err != nil {
		return TestImage{}, err
	}
	base.Layers = append(base.Layers, pictures)
	base.Cmd = []string{"test-webserver"}
	return base, nil
}

// NonRoot is upstream's nonroot image: a Debian root that runs as uid 1234.
func NonRoot(ref string, src TestSources) (TestImage, error) {
	root, err := debianRoot(src)
	if err != nil {
		return TestImage{}, err
	}
	return TestImage{Spec: Spec{Ref: ref, Layers: []v1.Layer{root}, User: "1234"}, Cmd: []string{"/bin/sh"}}, nil
}

// NoNewPrivs is upstream's nonewprivs image: the setuid nnp program, which
// prints its effective uid, as default command.
func NoNewPrivs(ref string, src TestSources) (TestImage, error) {
	root, err := debianRoot(src)
	if err != nil {
		return TestImage{}, err
	}
	nnp, err := FileLayer([]Entry{{Path: "/usr/local/bin/nnp", Mode: 0o4755, Source: src.NoNewPrivs}})
	if err != nil {
		return TestImage{}, err
	}
	return TestImage{Spec: Spec{Ref: ref, Layers: []v1.Layer{root, nnp}}, Cmd: []string{"nnp"}}, nil
}

// SampleAPIServer is k8s.io/sample-apiserver at our pinned version, under
// the tag the aggregator spec asks for.
func SampleAPIServer(ref string, src TestSources) (TestImage, error) {
	spec, err := ForBinary(ref, src.SampleAPIServer, "/sample-apiserver")
	return TestImage{Spec: spec}, err
}
