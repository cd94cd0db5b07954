package machines

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	kubeadmv1beta4 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	"sigs.k8s.io/yaml"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/probe"
)

// Upgrade is make machines-upgrade: machines installed from From (a
// pristine upstream release) are moved to To (ours) in place, the control
// plane first and then each worker, while a Service is requested ten times
// a second from the control-plane machine; then back the same way.
type Upgrade struct {
	*Machines // installed from From; To is one of its ExtraReleases
	To        Target
	From      Target
	Probe     string // the kubenext-probe binary, copied into the control plane
	// Gates are what the control plane and kubelets run with once on To.
	Gates map[string]bool
	// MixedE2E, when set, is a shell command (make e2e with a label
	// filter) run after the first worker has moved, while upstream and
	// kubenext kubelets serve side by side.
	MixedE2E string

	phases    []probe.Phase
	summaries []probe.Summary
	// allFailed counts every failed request from the client's start to
	// its stop, between phases too (the keystone Job's wait, the stored
	// objects).
	allFailed int
}

// Target is one release the machines run.
type Target struct {
	Version string // kubernetesVersion
	Release string
}

// KeystoneLabel marks the machines whose kubelet is ours, so that the
// keystone Job only lands where the field means something.
const KeystoneLabel = "kubenext.io/keystone"

// upgradeNamespace holds the probed workload and the objects that carry
// our fields.
const upgradeNamespace = "upgrade"

// Run is the whole roll: up on From, workload and probe, control plane and
// workers to To, the keystone Job, rollback, then one line per phase.
func (u *Upgrade) Run(ctx context.Context) error {
	if err := u.Up(ctx); err != nil {
		return err
	}
	cp := u.ControlPlane()
	actions := []action{
		{"Starting the probed workload (3 replicas, readiness probe, preStop, PodDisruptionBudget, Service)", u.startWorkload},
		{"Starting the client on " + cp.Name + " (10 requests a second)", u.startProbe},
	}
	actions = append(actions, u.phase("control-plane", func(ctx context.Context) error { return u.controlPlane(ctx, u.To, u.Gates) }))
	actions = append(actions, action{"Submitting the keystone Job (it runs on a machine with our kubelet)", u.submitKeystoneJob})
	for i, w := range u.WorkerMachines() {
		actions = append(actions, u.phase(w.Name, func(ctx context.Context) error { return u.worker(ctx, w, u.To, true) }))
		if i == 0 && u.MixedE2E != "" && len(u.WorkerMachines()) > 1 {
			actions = append(actions, action{"Running the e2e specs that do not need our kubelet, upstream and kubenext kubelets side by side", u.runMixedE2E})
		}
	}
	actions = append(actions,
		action{"Waiting for the keystone Job to complete", u.waitKeystoneJob},
		// An upstream kubelet refuses a gate it does not know, and `kubeadm
		// upgrade node` hands each kubelet this ConfigMap.
		action{"Removing our gates from kubelet-config before any kubelet goes back", func(ctx context.Context) error {
			return u.setKubeletGates(ctx, nil)
		}},
	)
	workers := u.WorkerMachines()
	for i := len(workers) - 1; i >= 0; i-- {
		w := workers[i]
		actions = append(actions, u.phase("rollback-"+w.Name, func(ctx context.Context) error { return u.worker(ctx, w, u.From, false) }))
	}
	actions = append(actions,
		// Stored now, with only the control plane left on ours: every
		// worker has been drained for the last time.
		action{"Storing objects that use our fields (a keystone pod, a suspended Job template)", u.storeFieldObjects},
		u.phase("rollback-control-plane", func(ctx context.Context) error { return u.controlPlane(ctx, u.From, nil) }),
		action{"Reading our fields back under upstream's apiserver", u.readFieldObjects},
		action{"Checking that no pod is stuck terminating", u.checkNothingStuck},
		action{"Stopping the client and counting its requests by phase", u.summarize},
	)
	if err := u.runActions(ctx, actions); err != nil {
		return err
	}
	// Last, so that the run ends with them.
	for _, s := range u.summaries {
		fmt.Fprintln(u.Steps.Out, s.Line())
	}
	if u.allFailed > 0 {
		return fmt.Errorf("%d requests failed during the roll (target 0); each is in %s", u.allFailed, filepath.Join(u.StateDir, "probe.jsonl"))
	}
	return nil
}

// phase is an action whose time span the probe's requests are counted in.
func (u *Upgrade) phase(name string, run func(context.Context) error) action {
	return action{"Phase " + name, func(ctx context.Context) error {
		p := probe.Phase{Name: name, Start: time.Now()}
		err := run(ctx)
		p.End = time.Now()
		u.phases = append(u.phases, p)
		if recordErr := u.recordState(ctx, name); err == nil {
			err = recordErr
		}
		return err
	}}
}

// recordState keeps the nodes and pods as they were after a phase.
func (u *Upgrade) recordState(ctx context.Context, phase string) error {
	out, err := u.kubectl(ctx, "get", "nodes,pods", "-A", "-o", "wide")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(u.StateDir, "state-after-"+phase+".txt"), out, 0o644)
}

func (u *Upgrade) apply(ctx context.Context, manifest string) error {
	_, err := exec.CombinedOutput(u.Cmd.Command(ctx, u.Kubectl, "--kubeconfig", u.kubeconfig(), "apply", "-f", "-").SetStdin(strings.NewReader(manifest)))
	return err
}

func (u *Upgrade) startWorkload(ctx context.Context) error {
	if err := u.apply(ctx, WorkloadManifest(upgradeNamespace, u.testImage())); err != nil {
		return err
	}
	_, err := u.kubectl(ctx, "-n", upgradeNamespace, "rollout", "status", "deployment/web", "--timeout=3m")
	return err
}

// probeLog is where the client writes, on the control-plane machine.
const probeLog = "/var/log/kubenext-probe.jsonl"

func (u *Upgrade) startProbe(ctx context.Context) error {
	ip, err := u.kubectl(ctx, "-n", upgradeNamespace, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil {
		return err
	}
	cp := u.node(u.ControlPlane())
	if err := cp.CopyTo(ctx, u.Probe, "/usr/local/bin/kubenext-probe"); err != nil {
		return err
	}
	url := "http://" + strings.TrimSpace(string(ip)) + "/"
	u.Steps.Note("requesting %s from %s", url, cp.Name)
	_, err = exec.CombinedOutput(u.Cmd.Command(ctx, "docker", "exec", "-d", cp.Name,
		"/usr/local/bin/kubenext-probe", "--url", url, "--rate", "10", "--timeout", "5s", "--out", probeLog))
	return err
}

// controlPlane moves the first machine to t: the cluster's configuration
// first (gates in, or out before an upstream kubelet reads them), then
// kubeadm, `kubeadm upgrade apply`, a drain, the other packages, a kubelet
// restart and an uncordon.
func (u *Upgrade) controlPlane(ctx context.Context, t Target, gates map[string]bool) error {
	cp := u.ControlPlane()
	n := u.node(cp)
	if err := u.setClusterGates(ctx, gates); err != nil {
		return err
	}
	pins, err := PinnedPackages(t.Release)
	if err != nil {
		return err
	}
	if err := u.aptInstall(ctx, n, pinsFor(pins, "kubeadm")); err != nil {
		return err
	}
	log := "kubeadm-upgrade-apply-" + ImageTag(t.Version) + ".log"
	if err := u.runLogged(ctx, n, log, "kubeadm", "upgrade", "apply", t.Version, "--yes",
		"--ignore-preflight-errors="+strings.Join(IgnoredPreflightErrors, ",")); err != nil {
		return fmt.Errorf("%w (full log: %s)", err, filepath.Join(u.StateDir, log))
	}
	return u.rollKubelet(ctx, cp, pins, nil, gates != nil)
}

// worker moves one worker to t the way kubeadm's upgrade guide does.
func (u *Upgrade) worker(ctx context.Context, w Machine, t Target, ours bool) error {
	pins, err := PinnedPackages(t.Release)
	if err != nil {
		return err
	}
	return u.rollKubelet(ctx, w, pins, []string{"kubeadm", "upgrade", "node",
		"--ignore-preflight-errors=" + strings.Join(IgnoredPreflightErrors, ",")}, ours)
}

// rollKubelet drains mc, installs pins (kubeadm first, so that
// `kubeadm upgrade node` is the new one), runs upgrade, restarts the
// kubelet, waits for the node to report the new version, and uncordons.
func (u *Upgrade) rollKubelet(ctx context.Context, mc Machine, pins []string, upgrade []string, ours bool) error {
	n := u.node(mc)
	start := time.Now()
	if _, err := u.kubectl(ctx, "drain", mc.Name, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5m"); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	u.Steps.Note("%s drained (%.1fs)", mc.Name, time.Since(start).Seconds())
	if err := u.aptInstall(ctx, n, pins); err != nil {
		return err
	}
	if upgrade != nil {
		log := "kubeadm-upgrade-node-" + mc.Name + "-" + fmt.Sprint(time.Now().Unix()) + ".log"
		if err := u.runLogged(ctx, n, log, upgrade...); err != nil {
			return fmt.Errorf("%w (full log: %s)", err, filepath.Join(u.StateDir, log))
		}
	}
	for _, s := range [][]string{{"systemctl", "daemon-reload"}, {"systemctl", "restart", "kubelet"}} {
		if _, err := exec.CombinedOutput(n.Command(ctx, s[0], s[1:]...)); err != nil {
			return err
		}
	}
	kubelet := pinsFor(pins, "kubelet")
	if len(kubelet) != 1 {
		return fmt.Errorf("no kubelet among %v", pins)
	}
	_, deb, _ := strings.Cut(kubelet[0], "=")
	if err := u.waitKubelet(ctx, mc, deb); err != nil {
		return err
	}
	label := KeystoneLabel + "-"
	if ours {
		label = KeystoneLabel + "=on"
	}
	if _, err := u.kubectl(ctx, "label", "node", mc.Name, label, "--overwrite"); err != nil {
		return err
	}
	_, err := u.kubectl(ctx, "uncordon", mc.Name)
	return err
}

// waitKubelet waits until mc is Ready with a kubelet of the package
// version deb (1.37.2-1.1+kubenext.<date>.<commit> is kubelet
// v1.37.2+kubenext.<commit>; 1.37.2-1.1 is v1.37.2).
func (u *Upgrade) waitKubelet(ctx context.Context, mc Machine, deb string) error {
	want := KubeletVersion(deb)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last string
	for {
		out, err := u.kubectl(ctx, "get", "node", mc.Name, "-o",
			`jsonpath={.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}`)
		last = strings.TrimSpace(string(out))
		if err == nil && last == want+" True" {
			u.Steps.Note("%s: kubelet %s, Ready", mc.Name, want)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not Ready with kubelet %s within 3m (last: %q)", mc.Name, want, last)
		case <-tick.C:
		}
	}
}

// KubeletVersion is the version a kubelet of deb package version reports.
func KubeletVersion(deb string) string {
	upstream, revision, _ := strings.Cut(deb, "-")
	v := "v" + upstream
	if _, meta, ok := strings.Cut(revision, "+kubenext."); ok {
		parts := strings.Split(meta, ".")
		v += "+kubenext." + strings.Join(parts[1:], ".")
	}
	return v
}

func pinsFor(pins []string, names ...string) []string {
	var out []string
	for _, p := range pins {
		for _, n := range names {
			if strings.HasPrefix(p, n+"=") {
				out = append(out, p)
			}
		}
	}
	return out
}

// aptInstall installs exact versions, up or down; the conffiles a site
// changed (none here) would be kept.
func (u *Upgrade) aptInstall(ctx context.Context, n nodes.Node, pins []string) error {
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends", "--allow-downgrades", "-o", "Dpkg::Options::=--force-confold"}, pins...)
	_, err := exec.CombinedOutput(n.Command(ctx, "apt-get", args...).SetEnv("DEBIAN_FRONTEND=noninteractive"))
	return err
}

// setClusterGates writes gates (none: ours removed) into kubeadm's stored
// configuration: the control-plane flags in kubeadm-config, which
// `kubeadm upgrade apply` renders, and the kubelet-config that `kubeadm
// upgrade node` hands each kubelet. An upstream kubelet refuses a gate it
// does not know, so on the way back they go before any kubelet is rolled.
func (u *Upgrade) setClusterGates(ctx context.Context, gates map[string]bool) error {
	raw, err := u.kubectl(ctx, "-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "jsonpath={.data.ClusterConfiguration}")
	if err != nil {
		return err
	}
	clusterConfig, err := WithControlPlaneGates(raw, gates)
	if err != nil {
		return err
	}
	if err := u.patchConfigMap(ctx, "kubeadm-config", "ClusterConfiguration", clusterConfig); err != nil {
		return err
	}
	return u.setKubeletGates(ctx, gates)
}

func (u *Upgrade) setKubeletGates(ctx context.Context, gates map[string]bool) error {
	raw, err := u.kubectl(ctx, "-n", "kube-system", "get", "configmap", "kubelet-config", "-o", "jsonpath={.data.kubelet}")
	if err != nil {
		return err
	}
	kubelet, err := WithKubeletGates(raw, gates)
	if err != nil {
		return err
	}
	return u.patchConfigMap(ctx, "kubelet-config", "kubelet", kubelet)
}

func (u *Upgrade) patchConfigMap(ctx context.Context, name, key string, value []byte) error {
	patch, err := json.Marshal(map[string]any{"data": map[string]string{key: string(value)}})
	if err != nil {
		return err
	}
	_, err = u.kubectl(ctx, "-n", "kube-system", "patch", "configmap", name, "--type=merge", "-p", string(patch))
	return err
}

// WithControlPlaneGates sets (or, for nil gates, removes) the
// feature-gates flag of the apiserver, controller-manager and scheduler in
// a stored ClusterConfiguration.
func WithControlPlaneGates(clusterConfiguration []byte, gates map[string]bool) ([]byte, error) {
	var c kubeadmv1beta4.ClusterConfiguration
	if err := yaml.UnmarshalStrict(clusterConfiguration, &c); err != nil {
		return nil, fmt.Errorf("kubeadm-config's ClusterConfiguration: %w", err)
	}
	for _, args := range []*[]kubeadmv1beta4.Arg{&c.APIServer.ExtraArgs, &c.ControllerManager.ExtraArgs, &c.Scheduler.ExtraArgs} {
		*args = withArg(*args, "feature-gates", gates)
	}
	return joinYAML(c)
}

func withArg(args []kubeadmv1beta4.Arg, name string, gates map[string]bool) []kubeadmv1beta4.Arg {
	var out []kubeadmv1beta4.Arg
	for _, a := range args {
		if a.Name != name {
			out = append(out, a)
		}
	}
	if len(gates) > 0 {
		out = append(out, kubeadmv1beta4.Arg{Name: name, Value: cluster.FormatGates(gates)})
	}
	return out
}

// WithKubeletGates sets (or removes) featureGates in a stored
// KubeletConfiguration, leaving every other field as kubeadm wrote it.
func WithKubeletGates(kubeletConfiguration []byte, gates map[string]bool) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(kubeletConfiguration, &doc); err != nil {
		return nil, fmt.Errorf("kubelet-config: %w", err)
	}
	if doc["kind"] != "KubeletConfiguration" {
		return nil, fmt.Errorf("kubelet-config holds a %v, not a KubeletConfiguration", doc["kind"])
	}
	if len(gates) == 0 {
		delete(doc, "featureGates")
	} else {
		doc["featureGates"] = gates
	}
	return yaml.Marshal(doc)
}

func (u *Upgrade) submitKeystoneJob(ctx context.Context) error {
	return u.apply(ctx, KeystoneJobManifest(upgradeNamespace, u.testImage(), false))
}

func (u *Upgrade) waitKeystoneJob(ctx context.Context) error {
	_, err := u.kubectl(ctx, "-n", upgradeNamespace, "wait", "--for=condition=Complete", "job/keystone", "--timeout=5m")
	if err != nil {
		return err
	}
	out, err := u.kubectl(ctx, "-n", upgradeNamespace, "get", "pods", "-l", "job-name=keystone", "-o",
		`jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\n"}{end}`)
	u.Steps.Note("keystone Job complete; its pod: %s", strings.TrimSpace(string(out)))
	return err
}

// storeFieldObjects stores, while our apiserver runs, the objects whose
// fate under upstream's apiserver is the question: a running pod with a
// keystone and a suspended Job whose template has one.
func (u *Upgrade) storeFieldObjects(ctx context.Context) error {
	if err := u.apply(ctx, KeystonePodManifest(upgradeNamespace, u.testImage())); err != nil {
		return err
	}
	if err := u.apply(ctx, KeystoneJobManifest(upgradeNamespace, u.testImage(), true)); err != nil {
		return err
	}
	_, err := u.kubectl(ctx, "-n", upgradeNamespace, "wait", "--for=condition=Ready", "pod/keystone-pod", "--timeout=3m")
	if err != nil {
		return err
	}
	return u.dumpFieldObjects(ctx, "ours")
}

// readFieldObjects reads them back through upstream's apiserver and says
// what became of the field.
func (u *Upgrade) readFieldObjects(ctx context.Context) error {
	if err := u.dumpFieldObjects(ctx, "upstream"); err != nil {
		return err
	}
	for _, obj := range []struct{ kind, path string }{
		{"pod/keystone-pod", "{.spec.containers[0].lifecycle.type}"},
		{"job/keystone", "{.spec.template.spec.containers[0].lifecycle.type}"},
		{"job/keystone-template", "{.spec.template.spec.containers[0].lifecycle.type}"},
	} {
		out, err := u.kubectl(ctx, "-n", upgradeNamespace, "get", obj.kind, "-o", "jsonpath="+obj.path)
		if err != nil {
			return fmt.Errorf("%s under upstream's apiserver: %w", obj.kind, err)
		}
		field := strings.TrimSpace(string(out))
		if field == "" {
			field = "(absent)"
		}
		u.Steps.Note("%s: lifecycle.type read back as %s", obj.kind, field)
	}
	// A new object with the field: what a client that still sends it gets.
	_, err := exec.CombinedOutput(u.Cmd.Command(ctx, u.Kubectl, "--kubeconfig", u.kubeconfig(), "apply", "--dry-run=server", "-f", "-").
		SetStdin(strings.NewReader(KeystonePodManifest(upgradeNamespace, u.testImage()))))
	verdict := "accepted"
	if err != nil {
		verdict = "refused: " + exec.OutputOf(err)
	}
	u.Steps.Note("a new pod with lifecycle.type (server dry run): %s", strings.TrimSpace(verdict))
	return os.WriteFile(filepath.Join(u.StateDir, "new-keystone-pod-under-upstream.txt"), []byte(verdict+"\n"), 0o644)
}

func (u *Upgrade) dumpFieldObjects(ctx context.Context, server string) error {
	out, err := u.kubectl(ctx, "-n", upgradeNamespace, "get", "pod/keystone-pod", "job/keystone", "job/keystone-template", "-o", "yaml")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(u.StateDir, "field-objects-under-"+server+"-apiserver.yaml"), out, 0o644)
}

// checkNothingStuck fails when a pod has been terminating for over a
// minute after the roll.
func (u *Upgrade) checkNothingStuck(ctx context.Context) error {
	out, err := u.kubectl(ctx, "get", "pods", "-A", "-o",
		`jsonpath={range .items[?(@.metadata.deletionTimestamp)]}{.metadata.namespace}/{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}`)
	if err != nil {
		return err
	}
	var stuck []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, since, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if t, err := time.Parse(time.RFC3339, since); err == nil && time.Since(t) > time.Minute {
			stuck = append(stuck, name)
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("pods terminating for over a minute: %s", strings.Join(stuck, ", "))
	}
	return nil
}

// summarize stops the client, copies its record out and prints one line
// per phase.
func (u *Upgrade) summarize(ctx context.Context) error {
	cp := u.node(u.ControlPlane())
	if _, err := exec.CombinedOutput(cp.Command(ctx, "pkill", "-TERM", "-x", "kubenext-probe")); err != nil {
		return fmt.Errorf("stopping the client: %w", err)
	}
	local := filepath.Join(u.StateDir, "probe.jsonl")
	if err := u.waitProbeExit(ctx, cp); err != nil {
		return err
	}
	if err := cp.CopyFrom(ctx, probeLog, local); err != nil {
		return err
	}
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	results, err := probe.Read(f)
	if err != nil {
		return err
	}
	u.summaries = probe.Summarize(results, u.phases, time.Second)
	for _, s := range u.summaries {
		for errText, count := range s.Errors {
			u.Steps.Note("%s: %d x %s", s.Phase, count, errText)
		}
	}
	for _, r := range results {
		if r.Err != "" {
			u.allFailed++
		}
	}
	u.Steps.Note("%d requests recorded in %s, %d failed", len(results), local, u.allFailed)
	return nil
}

func (u *Upgrade) waitProbeExit(ctx context.Context, n nodes.Node) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := exec.Output(n.Command(ctx, "pgrep", "-x", "kubenext-probe")); exec.ExitCode(err) == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the client on %s did not exit within 30s of SIGTERM", n.Name)
		case <-tick.C:
		}
	}
}
