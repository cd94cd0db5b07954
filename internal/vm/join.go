package vm

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kubeadmv1beta4 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/machines"
)

// installPackages is what a user runs on a new machine: apt-get install
// of our packages, pinned to the release, from the repository on its disk.
func (v *VM) installPackages(ctx context.Context) error {
	pins, err := machines.PinnedPackages(v.Release)
	if err != nil {
		return err
	}
	n := v.node()
	if err := v.logged(ctx, "apt.log", "apt-get", "update", "-q"); err != nil {
		return err
	}
	if err := v.runWatched(ctx, 30*time.Minute, "apt.log", append([]string{"env", "DEBIAN_FRONTEND=noninteractive",
		"apt-get", "install", "-y", "-q", "--no-install-recommends"}, pins...)...); err != nil {
		return err
	}
	out, err := exec.Output(n.Command(ctx, "dpkg-query", "-W", "-f", "${Package}=${Version}\n", "kubelet", "kubeadm", "kubenext-containerd"))
	if err != nil {
		return err
	}
	v.Steps.Note("%s", strings.Join(strings.Fields(string(out)), " "))
	return nil
}

// runWatched runs argv in the machine with its output in log, saying
// every 15 s what the log's last line is: under emulation apt and kubeadm
// take minutes.
func (v *VM) runWatched(ctx context.Context, timeout time.Duration, log string, argv ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- v.logged(ctx, log, argv...) }()
	var err error
	_ = v.waitFor(ctx, timeout, argv[0], func() (bool, string) {
		select {
		case err = <-done:
			return true, ""
		default:
			return false, log + ": " + lastLine(v.path(log))
		}
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%s: %w (log: %s)", strings.Join(argv, " "), err, v.path(log))
	}
	return nil
}

// logged runs argv in the machine with its output appended to a file in
// the machine's directory.
func (v *VM) logged(ctx context.Context, log string, argv ...string) error {
	f, err := os.OpenFile(v.path(log), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return exec.RunLogged(v.node().Command(ctx, argv[0], argv[1:]...), f)
}

// KubeletPatch is what the machine's kubelet changes in the cluster's
// KubeletConfiguration: upstream's default failCgroupV1 (the kind nodes on
// a cgroup v1 host turn it off), the systemd driver, as users run it, and
// the root cgroup: kind's nodes nest the kubelet under /kubelet, which
// kind's entrypoint creates and a machine does not have.
//
// runtimeRequestTimeout is raised from 2m: under emulation a pod sandbox
// can take longer than that to start when several start at once, and the
// kubelet then cancels it and retries while containerd still holds the
// name, a loop in which none of them ever starts (seen with 20 pods).
const KubeletPatch = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: true\ncgroupDriver: systemd\ncgroupRoot: /\nruntimeRequestTimeout: 10m0s\n"

// patchesDir holds kubeadm's patches in the machine.
const patchesDir = "/etc/kubenext/kubeadm-patches"

// JoinConfig is the machine's kubeadm JoinConfiguration: the cluster's
// discovery, its own address and label, and the kubelet patch.
func JoinConfig(name string, n Network, accel Accel, controlPlaneIP string, token, caCertHash string) ([]byte, error) {
	spec := machines.KubeadmSpec{Token: token}
	var err error
	if spec.ControlPlaneIP, err = netip.ParseAddr(controlPlaneIP); err != nil {
		return nil, err
	}
	join := machines.JoinConfiguration(spec, name, n.GuestAddr(), caCertHash)
	// Every preflight check runs: this is a real kernel with cgroup v2.
	join.NodeRegistration.IgnorePreflightErrors = nil
	join.NodeRegistration.KubeletExtraArgs = append(join.NodeRegistration.KubeletExtraArgs,
		kubeadmv1beta4.Arg{Name: "node-labels", Value: Label + "=" + LabelValue + "," + AccelLabel + "=" + string(accel)})
	join.Patches = &kubeadmv1beta4.Patches{Directory: patchesDir}
	// Pods that do not tolerate it stay off: specs written for the kind
	// nodes would time out on emulated CPUs.
	join.NodeRegistration.Taints = []corev1.Taint{{Key: Label, Value: LabelValue, Effect: corev1.TaintEffectNoSchedule}}
	return machines.RenderConfig(join)
}

// join asks the control plane for a token and its CA, and runs kubeadm
// join in the machine.
func (v *VM) join(ctx context.Context, accel Accel) error {
	cp := v.Provider.Node(v.ControlPlane)
	token, err := exec.Output(cp.Command(ctx, "kubeadm", "token", "create", "--ttl", "2h"))
	if err != nil {
		return err
	}
	ca, err := exec.Output(cp.Command(ctx, "cat", "/etc/kubernetes/pki/ca.crt"))
	if err != nil {
		return err
	}
	hash, err := machines.CACertHash(ca)
	if err != nil {
		return err
	}
	config, err := JoinConfig(v.Name, v.Net, accel, v.controlPlaneIP.String(), strings.TrimSpace(string(token)), hash)
	if err != nil {
		return err
	}
	n := v.node()
	if _, err := exec.CombinedOutput(n.Command(ctx, "mkdir", "-p", patchesDir)); err != nil {
		return err
	}
	for path, content := range map[string]string{
		"/etc/kubenext/join.yaml":                           string(config),
		patchesDir + "/kubeletconfiguration+strategic.yaml": KubeletPatch,
	} {
		if err := n.WriteFile(ctx, path, strings.NewReader(content)); err != nil {
			return err
		}
	}
	return v.runWatched(ctx, 20*time.Minute, "kubeadm-join.log", "kubeadm", "join", "--config", "/etc/kubenext/join.yaml")
}

// waitReady waits for the node and for the DaemonSet pods on it (the pod
// network and kube-proxy), then shows what the node reports.
func (v *VM) waitReady(ctx context.Context, since time.Time) error {
	if err := v.waitFor(ctx, 20*time.Minute, "the node to be Ready", func() (bool, string) {
		out, err := v.kubectl(ctx, "get", "node", v.Name, "-o", `jsonpath={range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}`)
		if err != nil {
			return false, "not registered yet"
		}
		s := strings.TrimSpace(string(out))
		return strings.HasPrefix(s, "True "), s
	}); err != nil {
		return err
	}
	if err := v.waitFor(ctx, 20*time.Minute, "the node's DaemonSet pods to be Ready", func() (bool, string) {
		out, err := v.kubectl(ctx, "get", "pods", "-A", "--field-selector", "spec.nodeName="+v.Name, "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[*].ready} {end}`)
		if err != nil {
			return false, err.Error()
		}
		s := strings.TrimSpace(string(out))
		return s != "" && !strings.Contains(s, "false") && !strings.HasSuffix(s, "="), s
	}); err != nil {
		return err
	}
	info, err := v.kubectl(ctx, "get", "node", v.Name, "-o", `jsonpath={.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion} {.status.nodeInfo.kernelVersion}`)
	if err != nil {
		return err
	}
	v.Steps.Note("kubelet, runtime, kernel: %s (Ready %s after kubeadm join started)", info, time.Since(since).Round(time.Second))
	return CheckNodeInfo(string(info))
}

// CheckNodeInfo wants our kubelet and a containerd 2.x, as the node
// reports them ("<kubelet> <runtime> <kernel>").
func CheckNodeInfo(info string) error {
	f := strings.Fields(info)
	if len(f) < 2 || !strings.Contains(f[0], "+kubenext") || !strings.HasPrefix(f[1], "containerd://2.") {
		return fmt.Errorf("node reports %q: want our kubelet (+kubenext) and containerd 2.x", info)
	}
	return nil
}
