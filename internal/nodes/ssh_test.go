package nodes

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestVMNodeRunsOverSSH(t *testing.T) {
	vms := t.TempDir()
	if err := os.Mkdir(filepath.Join(vms, "kubenext-vm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteSSHRecord(filepath.Join(vms, "kubenext-vm"), SSHRecord{User: "root", Address: "172.30.2.10", Key: "/k/id"}); err != nil {
		t.Fatal(err)
	}
	host := &exectest.Cmder{}
	p := &Provider{Host: host, VMDir: vms}
	n := p.Node("kubenext-vm")
	if err := n.Command(context.Background(), "sh", "-c", "echo 'a b' $X").SetEnv("X=1").SetDir("/tmp").Run(); err != nil {
		t.Fatal(err)
	}
	line := host.Lines()[0]
	if !strings.HasPrefix(line, "ssh -i /k/id -p 22 ") || !strings.Contains(line, "root@172.30.2.10 -- cd /tmp && env X=1 sh -c 'echo '\\''a b'\\'' $X'") {
		t.Errorf("got %s", line)
	}
	if other := p.Node("kubenext-worker"); other.ssh != nil {
		t.Error("a node without a record went over ssh")
	}
}

// The quoting must survive a real shell, which is what sshd hands the
// command to.
func TestShellQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", `"$HOME"`, "x;y", "a\nb", "*"} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("%q came back as %q (%v)", s, out, err)
		}
	}
}
