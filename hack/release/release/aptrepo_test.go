package release

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAptRepo(t *testing.T) {
	need(t, "dpkg-deb")
	o := fakeTree(t, testVersion)
	if err := Build(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "kubenext-apt")
	if err := AptRepo([]string{filepath.Join(o.Out, "debs")}, repo, io.Discard); err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(repo, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	stanzas := strings.Split(strings.TrimSpace(string(index)), "\n\n")
	if len(stanzas) != 6 {
		t.Fatalf("%d stanzas:\n%s", len(stanzas), index)
	}
	for _, s := range stanzas {
		fields := map[string]string{}
		for _, line := range strings.Split(s, "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
				fields[k] = v
			}
		}
		deb := filepath.Join(repo, strings.TrimPrefix(fields["Filename"], "./"))
		st, err := os.Stat(deb)
		if err != nil {
			t.Fatalf("Filename %q: %v", fields["Filename"], err)
		}
		if fields["Size"] != strconv.FormatInt(st.Size(), 10) {
			t.Errorf("%s: Size %s, file %d", deb, fields["Size"], st.Size())
		}
		sum, _ := sha256File(deb)
		if fields["SHA256"] != sum || len(fields["MD5sum"]) != 32 {
			t.Errorf("%s: SHA256 %s, file %s; MD5sum %q", deb, fields["SHA256"], sum, fields["MD5sum"])
		}
		for _, f := range []string{"Package", "Version", "Architecture", "Maintainer", "Description"} {
			if want := strings.TrimSpace(run(t, "dpkg-deb", "--field", deb, f)); !strings.HasPrefix(want, fields[f]) || fields[f] == "" {
				t.Errorf("%s: %s %q, dpkg-deb says %q", deb, f, fields[f], want)
			}
		}
	}
	if gz := run(t, "gzip", "-dc", filepath.Join(repo, "Packages.gz")); gz != string(index) {
		t.Errorf("Packages.gz is not Packages")
	}
	aptCheck(t, repo)
}

// aptCheck points apt at the repository alone, with every state and cache
// directory in a temporary one, and asks it which kubelet it would install:
// ours, from the file: source. Nothing of the host's apt is read or
// changed, and no network is used.
func aptCheck(t *testing.T, repo string) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Log("apt-get not installed: checked the fields only")
		return
	}
	root := t.TempDir()
	for _, d := range []string{"etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sources := filepath.Join(root, "etc/apt/sources.list")
	if err := os.WriteFile(sources, []byte("deb [trusted=yes] file:"+repo+" ./\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := []string{
		"-o", "Dir=" + root, "-o", "Dir::Etc::SourceList=" + sources, "-o", "Dir::Etc::SourceParts=" + filepath.Join(root, "etc/apt/sources.list.d"),
		"-o", "Dir::Etc::Parts=" + filepath.Join(root, "etc/apt/apt.conf.d"), "-o", "Dir::Etc::Preferences=" + filepath.Join(root, "etc/apt/preferences"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(root, "etc/apt/preferences.d"),
		"-o", "Dir::State=" + filepath.Join(root, "var/lib/apt"), "-o", "Dir::Cache=" + filepath.Join(root, "var/cache/apt"),
		"-o", "Dir::State::status=" + filepath.Join(root, "var/lib/dpkg/status"), "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-o", "APT::Architecture=amd64",
	}
	out, err := exec.Command("apt-get", append(opts, "update")...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "W: ") || strings.Contains(string(out), "E: ") {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	policy, err := exec.Command("apt-cache", append(opts, "policy", "kubelet", "kubenext-containerd")...).CombinedOutput()
	if err != nil {
		t.Fatalf("apt-cache policy: %v\n%s", err, policy)
	}
	for _, want := range []string{"Candidate: 1.37.2-1.1+kubenext.20261201130000.2425128c8d", "Candidate: 2.3.4-1.1+kubenext.20261201130000.2425128c8d", "file:" + repo + " ./ Packages"} {
		if !strings.Contains(string(policy), want) {
			t.Errorf("apt-cache policy lacks %q:\n%s", want, policy)
		}
	}
	// kubeadm's dependencies resolve within the repository, except the
	// host tools that come from Debian.
	show, err := exec.Command("apt-cache", append(opts, "depends", "kubeadm")...).CombinedOutput()
	if err != nil || !strings.Contains(string(show), "Depends: kubelet") || !strings.Contains(string(show), "Depends: cri-tools") {
		t.Errorf("apt-cache depends kubeadm: %v\n%s", err, show)
	}
}
