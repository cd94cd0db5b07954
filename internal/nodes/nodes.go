// Package nodes is the node provider: the one place that knows kind's
// nodes are Docker containers. It lists a cluster's nodes, runs commands
// in them, copies files in and out, and reads the Docker networks they sit
// on. Everything else (cluster lifecycle, node image, benchmarks, the e2e
// suite) asks it, the way kind's actions ask kind's Provider.
package nodes

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
)

// ClusterLabel is the label kind puts on every node container of a cluster.
const ClusterLabel = "io.x-k8s.kind.cluster"

// MachinesLabel is the label make machines puts on every machine of a
// cluster: containers that boot plain Debian and were installed with
// kubeadm from our packages. To the suite they are nodes like kind's.
const MachinesLabel = "io.kubenext.machines"

// Provider reaches nodes through the docker CLI on Host, and virtual
// machines through ssh.
type Provider struct {
	// Host runs the docker CLI; exec.Host unless a test fakes it.
	Host exec.Cmder
	// VMDir holds a directory per virtual machine node (make vm-worker),
	// named after the node, with the SSHRecord that reaches it.
	VMDir string
}

// Docker is the provider on this machine's Docker, with the virtual
// machines recorded under $KUBENEXT_VM_DIR.
func Docker() *Provider { return &Provider{Host: exec.Host, VMDir: os.Getenv("KUBENEXT_VM_DIR")} }

// Node is one node: a container, or a virtual machine when ssh is set. It
// is an exec.Cmder: its commands run inside the node.
type Node struct {
	Name string
	host exec.Cmder
	ssh  *SSHRecord
}

func (n Node) String() string { return n.Name }

// Node names a node without asking Docker; kind names the container after
// the Kubernetes node, and a virtual machine is found by its record.
func (p *Provider) Node(name string) Node {
	n := Node{Name: name, host: p.Host}
	if p.VMDir != "" {
		if rec, err := ReadSSHRecord(filepath.Join(p.VMDir, name)); err == nil {
			n.ssh = &rec
		}
	}
	return n
}

// List returns the running node containers of cluster, kind's nodes or
// our machines, sorted by name.
func (p *Provider) List(ctx context.Context, cluster string) ([]Node, error) {
	var names []string
	for _, label := range []string{ClusterLabel, MachinesLabel} {
		lines, err := exec.OutputLines(p.Host.Command(ctx, "docker", "ps",
			"--filter", "label="+label+"="+cluster, "--format", "{{.Names}}"))
		if err != nil {
			return nil, fmt.Errorf("listing the nodes of cluster %s: %w", cluster, err)
		}
		names = append(names, lines...)
	}
	sort.Strings(names)
	var nodes []Node
	for _, l := range names {
		nodes = append(nodes, p.Node(strings.TrimSpace(l)))
	}
	return nodes, nil
}

// Command runs name with args inside the node (docker exec, or ssh for a
// virtual machine).
func (n Node) Command(ctx context.Context, name string, args ...string) exec.Cmd {
	return &nodeCmd{ctx: ctx, node: n, argv: append([]string{name}, args...)}
}

// CopyTo copies the host path src to dst in the node.
func (n Node) CopyTo(ctx context.Context, src, dst string) error {
	if n.ssh != nil {
		_, err := exec.CombinedOutput(n.host.Command(ctx, "scp", append(n.ssh.options("-P"), "-r", src, n.ssh.Target()+":"+dst)...))
		return err
	}
	_, err := exec.CombinedOutput(n.host.Command(ctx, "docker", "cp", src, n.Name+":"+dst))
	return err
}

// CopyFrom copies src in the node to the host path dst.
func (n Node) CopyFrom(ctx context.Context, src, dst string) error {
	if n.ssh != nil {
		_, err := exec.CombinedOutput(n.host.Command(ctx, "scp", append(n.ssh.options("-P"), "-r", n.ssh.Target()+":"+src, dst)...))
		return err
	}
	_, err := exec.CombinedOutput(n.host.Command(ctx, "docker", "cp", n.Name+":"+src, dst))
	return err
}

// WriteFile writes content to path in the node.
func (n Node) WriteFile(ctx context.Context, path string, content io.Reader) error {
	_, err := exec.CombinedOutput(n.Command(ctx, "sh", "-c", `cat > "$1"`, "sh", path).SetStdin(content))
	return err
}

type nodeCmd struct {
	ctx            context.Context
	node           Node
	argv           []string
	env            []string
	dir            string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// dockerArgs is the docker exec command line; -i only when there is input,
// so that a command never waits on a stdin nobody writes.
func (c *nodeCmd) dockerArgs() []string {
	args := []string{"exec"}
	if c.stdin != nil {
		args = append(args, "-i")
	}
	for _, e := range c.env {
		args = append(args, "-e", e)
	}
	if c.dir != "" {
		args = append(args, "-w", c.dir)
	}
	return append(append(args, c.node.Name), c.argv...)
}

func (c *nodeCmd) Run() error {
	cmd := c.node.host.Command(c.ctx, "docker", c.dockerArgs()...)
	if c.node.ssh != nil {
		cmd = c.node.host.Command(c.ctx, "ssh", c.node.ssh.commandArgs(c.argv, c.env, c.dir)...)
	}
	if c.stdin != nil {
		cmd.SetStdin(c.stdin)
	}
	if c.stdout != nil {
		cmd.SetStdout(c.stdout)
	}
	if c.stderr != nil {
		cmd.SetStderr(c.stderr)
	}
	if err := cmd.Run(); err != nil {
		// Name the command as run in the node, not the docker wrapper.
		return &exec.RunError{Command: append([]string{c.node.Name + ":"}, c.argv...), Err: exec.Cause(err)}
	}
	return nil
}

func (c *nodeCmd) SetEnv(env ...string) exec.Cmd  { c.env = append(c.env, env...); return c }
func (c *nodeCmd) SetStdin(r io.Reader) exec.Cmd  { c.stdin = r; return c }
func (c *nodeCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *nodeCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }
func (c *nodeCmd) SetDir(dir string) exec.Cmd     { c.dir = dir; return c }

// NetworkSubnets are the IPAM subnets of a Docker network.
func (p *Provider) NetworkSubnets(ctx context.Context, network string) ([]netip.Prefix, error) {
	out, err := exec.Output(p.Host.Command(ctx, "docker", "network", "inspect", network,
		"--format", "{{range .IPAM.Config}}{{println .Subnet}}{{end}}"))
	if err != nil {
		return nil, err
	}
	return ParseSubnets(string(out))
}

// NetworkBridge is the Linux bridge device of a Docker network: the name
// set when it was created, or Docker's br-<first 12 characters of its ID>.
func (p *Provider) NetworkBridge(ctx context.Context, network string) (string, error) {
	out, err := exec.Output(p.Host.Command(ctx, "docker", "network", "inspect", network,
		"--format", `{{index .Options "com.docker.network.bridge.name"}} {{.ID}}`))
	if err != nil {
		return "", err
	}
	f := strings.Fields(strings.ReplaceAll(string(out), "<no value>", ""))
	switch {
	case len(f) == 2:
		return f[0], nil
	case len(f) == 1 && len(f[0]) >= 12:
		return "br-" + f[0][:12], nil
	}
	return "", fmt.Errorf("cannot tell the bridge device of docker network %s from %q", network, out)
}

// ParseSubnets reads the CIDRs of `docker network inspect`, one a line.
func ParseSubnets(out string) ([]netip.Prefix, error) {
	var subnets []netip.Prefix
	for _, line := range strings.Fields(out) {
		p, err := netip.ParsePrefix(line)
		if err != nil {
			return nil, fmt.Errorf("subnet %q: %w", line, err)
		}
		subnets = append(subnets, p.Masked())
	}
	if len(subnets) == 0 {
		return nil, fmt.Errorf("network has no subnets")
	}
	return subnets, nil
}
