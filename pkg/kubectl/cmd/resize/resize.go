// Package resize implements "kubectl resize": change the CPU and memory of a
// running pod's container in place through the pods/resize subresource
// (KEP-1287, InPlacePodVerticalScaling), optionally waiting for the kubelet
// to apply it.
package resize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/qos"
)

var example = `  # give the only container of pod web more CPU
  kubectl resize pod/web --requests=cpu=500m --limits=cpu=1

  # resize container app and wait until the kubelet applied it
  kubectl resize pod/web -c app --requests=cpu=250m,memory=256Mi --limits=cpu=500m,memory=256Mi --wait --timeout=2m

  # let the apiserver check a resize without applying it, and show the pod it would make
  kubectl resize pod/web --requests=cpu=2 --dry-run=server -o yaml`

// ResizeOptions holds the flags and resolved state of one invocation.
type ResizeOptions struct {
	printFlags *genericclioptions.PrintFlags
	genericiooptions.IOStreams

	Container string
	Requests  string
	Limits    string
	Wait      bool
	Timeout   time.Duration

	// Filled by Complete.
	namespace string
	podName   string
	requests  corev1.ResourceList
	limits    corev1.ResourceList
	dryRun    cmdutil.DryRunStrategy
	// printer is nil without -o: the command then speaks in sentences.
	printer printers.ResourcePrinter
	client  kubernetes.Interface
}

// NewResizeOptions returns options with the flag defaults.
func NewResizeOptions(streams genericiooptions.IOStreams) *ResizeOptions {
	return &ResizeOptions{
		// The type setter fills in apiVersion/kind, which typed clients
		// strip from decoded objects.
		printFlags: genericclioptions.NewPrintFlags("resized").WithTypeSetter(scheme.Scheme),
		IOStreams:  streams,
		Timeout:    5 * time.Minute,
	}
}

// NewCmdResize returns the "resize" command, connecting through f.
func NewCmdResize(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewResizeOptions(streams)
	cmd := &cobra.Command{
		Use:          "resize pod/NAME [-c CONTAINER] [--requests=cpu=...,memory=...] [--limits=...]",
		Short:        "Change the CPU and memory of a running pod's container in place",
		Example:      example,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		// kubectl and the plugin mains print the returned error once.
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(f, c, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&o.Container, "container", "c", "", "Container to resize; may be left out when the pod has one container")
	flags.StringVar(&o.Requests, "requests", "", "New requests, like cpu=500m,memory=256Mi")
	flags.StringVar(&o.Limits, "limits", "", "New limits, like cpu=1,memory=512Mi")
	flags.BoolVar(&o.Wait, "wait", false, "Wait until the kubelet applied the new resources, or reports that it never can; a deferred resize is waited for until --timeout")
	flags.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long --wait waits")
	o.printFlags.AddFlags(cmd)
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete parses the pod argument, the resource lists and the output and
// dry-run flags, and builds the client.
func (o *ResizeOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	name, err := parsePodArg(args[0])
	if err != nil {
		return err
	}
	o.podName = name
	if o.requests, err = parseResourceList("--requests", o.Requests); err != nil {
		return err
	}
	if o.limits, err = parseResourceList("--limits", o.Limits); err != nil {
		return err
	}
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return err
	}
	if *o.printFlags.OutputFormat != "" {
		cmdutil.PrintFlagsWithDryRunStrategy(o.printFlags, o.dryRun)
		if o.printer, err = o.printFlags.ToPrinter(); err != nil {
			return err
		}
	}
	if o.namespace, _, err = f.ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	if o.client == nil {
		if o.client, err = f.KubernetesClientSet(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks what can be checked without the pod.
func (o *ResizeOptions) Validate() error {
	if len(o.requests) == 0 && len(o.limits) == 0 {
		return errors.New("nothing to change: give --requests and/or --limits, like --requests=cpu=500m")
	}
	if o.Wait && o.dryRun != cmdutil.DryRunNone {
		return errors.New("--wait with --dry-run would wait for a resize that is never applied: drop one of them")
	}
	if o.Wait && o.Timeout <= 0 {
		return fmt.Errorf("--timeout=%s: must be positive with --wait", o.Timeout)
	}
	return nil
}

// parsePodArg accepts pod/NAME (also pods/ and po/) or a bare NAME; only
// pods have a resize subresource.
func parsePodArg(arg string) (string, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		return arg, nil
	}
	switch strings.ToLower(kind) {
	case "pod", "pods", "po":
		if name == "" {
			return "", fmt.Errorf("%q names no pod: write pod/NAME", arg)
		}
		return name, nil
	}
	return "", fmt.Errorf("%q: only pods can be resized in place; for a Deployment or StatefulSet change its pod template with 'kubectl set resources'", arg)
}

// parseResourceList reads "cpu=500m,memory=1Gi". Only cpu and memory can be
// resized in place; the apiserver would refuse anything else after the
// round trip, so it is refused here with the reason.
func parseResourceList(flag, value string) (corev1.ResourceList, error) {
	list := corev1.ResourceList{}
	if strings.TrimSpace(value) == "" {
		return list, nil
	}
	for _, pair := range strings.Split(value, ",") {
		key, quantity, found := strings.Cut(strings.TrimSpace(pair), "=")
		if !found {
			return nil, fmt.Errorf("%s: %q is not NAME=QUANTITY, write it like cpu=500m", flag, pair)
		}
		name := corev1.ResourceName(strings.TrimSpace(key))
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			return nil, fmt.Errorf("%s: %q cannot be resized in place, only cpu and memory can", flag, name)
		}
		if _, dup := list[name]; dup {
			return nil, fmt.Errorf("%s: %s given twice", flag, name)
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(quantity))
		if err != nil {
			return nil, fmt.Errorf("%s: %s=%q is not a quantity (examples: cpu=250m, memory=512Mi): %v", flag, name, quantity, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%s: %s=%s is negative", flag, name, quantity)
		}
		list[name] = q
	}
	return list, nil
}

// Run checks the change against the live pod, patches pods/resize and, with
// --wait, follows the pod until the kubelet has applied it.
func (o *ResizeOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	pods := o.client.CoreV1().Pods(o.namespace)
	pod, err := pods.Get(ctx, o.podName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	containerName, err := pickContainer(pod, o.Container)
	if err != nil {
		return err
	}
	resized, err := applyResources(pod, containerName, o.requests, o.limits)
	if err != nil {
		return err
	}
	if before, after := qos.ComputePodQOS(pod), qos.ComputePodQOS(resized); before != after {
		return fmt.Errorf("this change would turn pod %s from QoS class %s into %s, which an in-place resize may not do; %s", o.podName, before, after, qosAdvice(before))
	}
	restartsBefore := restartCount(pod, containerName)
	if o.dryRun == cmdutil.DryRunClient {
		// The class is unchanged (checked above); applyResources only
		// cleared it so the check would recompute it.
		resized.Status.QOSClass = pod.Status.QOSClass
		return o.report(resized, containerName, restartsBefore)
	}
	patch, err := resizePatch(containerName, o.requests, o.limits)
	if err != nil {
		return err
	}
	options := metav1.PatchOptions{}
	if o.dryRun == cmdutil.DryRunServer {
		options.DryRun = []string{metav1.DryRunAll}
	}
	patched, err := pods.Patch(ctx, o.podName, types.StrategicMergePatchType, patch, options, "resize")
	if err != nil {
		return explainPatchError(err)
	}
	if !o.Wait {
		return o.report(patched, containerName, restartsBefore)
	}
	if o.printer == nil {
		o.say("pod/%s resized: container %s %s (restarts: %d)", o.podName, containerName, describeChange(o.requests, o.limits), restartsBefore)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	final, err := o.waitForResize(ctx, patched, containerName)
	if err != nil {
		return err
	}
	if o.printer != nil {
		return o.printer.PrintObj(final, o.Out)
	}
	o.say("pod/%s: container %s runs with the new resources (restarts: %d before, %d after)", o.podName, containerName, restartsBefore, restartCount(final, containerName))
	return nil
}

// report prints the outcome of a resize that is not waited for: the pod as
// the apiserver returned it (or would, for --dry-run=client) with -o, else
// one sentence.
func (o *ResizeOptions) report(pod *corev1.Pod, container string, restarts int32) error {
	if o.printer != nil {
		return o.printer.PrintObj(pod, o.Out)
	}
	suffix := ""
	switch o.dryRun {
	case cmdutil.DryRunClient:
		suffix = " (dry run)"
	case cmdutil.DryRunServer:
		suffix = " (server dry run)"
	}
	o.say("pod/%s resized%s: container %s %s (restarts: %d)", o.podName, suffix, container, describeChange(o.requests, o.limits), restarts)
	return nil
}

// say prints a progress sentence. With -o, stdout carries only the printed
// object, so sentences go to stderr.
func (o *ResizeOptions) say(format string, args ...any) {
	out := o.Out
	if o.printer != nil {
		out = o.ErrOut
	}
	fmt.Fprintf(out, format+"\n", args...)
}

func qosAdvice(class corev1.PodQOSClass) string {
	switch class {
	case corev1.PodQOSGuaranteed:
		return "keep requests equal to limits for both cpu and memory in every container"
	case corev1.PodQOSBurstable:
		return "keep at least one request or limit, and requests different from limits somewhere in the pod"
	default:
		return "a BestEffort pod cannot get requests or limits in place; recreate it"
	}
}

// pickContainer resolves -c: required when the pod has several containers,
// so a resize never lands on a sidecar by accident.
func pickContainer(pod *corev1.Pod, requested string) (string, error) {
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
		if c.Name == requested {
			return requested, nil
		}
	}
	if requested != "" {
		return "", fmt.Errorf("pod %s has no container %q; its containers are: %s", pod.Name, requested, strings.Join(names, ", "))
	}
	if len(names) == 1 {
		return names[0], nil
	}
	return "", fmt.Errorf("pod %s has %d containers (%s): choose one with -c", pod.Name, len(names), strings.Join(names, ", "))
}

// applyResources returns a copy of pod with the change applied, for the QoS
// and request<=limit checks.
func applyResources(pod *corev1.Pod, container string, requests, limits corev1.ResourceList) (*corev1.Pod, error) {
	resized := pod.DeepCopy()
	resized.Status.QOSClass = ""
	for i := range resized.Spec.Containers {
		c := &resized.Spec.Containers[i]
		if c.Name != container {
			continue
		}
		if c.Resources.Requests == nil && len(requests) > 0 {
			c.Resources.Requests = corev1.ResourceList{}
		}
		if c.Resources.Limits == nil && len(limits) > 0 {
			c.Resources.Limits = corev1.ResourceList{}
		}
		for name, q := range requests {
			c.Resources.Requests[name] = q
		}
		for name, q := range limits {
			c.Resources.Limits[name] = q
		}
		for name, request := range c.Resources.Requests {
			if limit, ok := c.Resources.Limits[name]; ok && request.Cmp(limit) > 0 {
				return nil, fmt.Errorf("container %s would request %s %s but be limited to %s: a request may not exceed its limit", container, name, request.String(), limit.String())
			}
		}
	}
	return resized, nil
}

// resizePatch is a strategic merge patch that touches only the given keys of
// the one container; containers merge by name.
func resizePatch(container string, requests, limits corev1.ResourceList) ([]byte, error) {
	resources := map[string]map[string]string{}
	if len(requests) > 0 {
		resources["requests"] = quantityStrings(requests)
	}
	if len(limits) > 0 {
		resources["limits"] = quantityStrings(limits)
	}
	return json.Marshal(map[string]any{
		"spec": map[string]any{
			"containers": []map[string]any{{"name": container, "resources": resources}},
		},
	})
}

func quantityStrings(list corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for name, q := range list {
		out[string(name)] = q.String()
	}
	return out
}

func describeChange(requests, limits corev1.ResourceList) string {
	var parts []string
	for _, l := range []struct {
		label string
		list  corev1.ResourceList
	}{{"requests", requests}, {"limits", limits}} {
		if len(l.list) == 0 {
			continue
		}
		var kv []string
		for name, q := range l.list {
			kv = append(kv, fmt.Sprintf("%s=%s", name, q.String()))
		}
		sort.Strings(kv)
		parts = append(parts, l.label+" "+strings.Join(kv, ","))
	}
	return strings.Join(parts, ", ")
}

func explainPatchError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "the server could not find the requested resource") {
		return fmt.Errorf("the apiserver has no pods/resize subresource (Kubernetes 1.33+, InPlacePodVerticalScaling): %w", err)
	}
	return err
}

func restartCount(pod *corev1.Pod, container string) int32 {
	if status := containerStatus(pod, container); status != nil {
		return status.RestartCount
	}
	return 0
}

func containerStatus(pod *corev1.Pod, container string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == container {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// resizeState is what one look at the pod says about the resize.
type resizeState struct {
	done     bool
	failure  error
	progress string
}

// inspect compares the pod's reported container resources with the wanted
// ones and reads the kubelet's resize conditions. Deferred is progress, not
// failure: the kubelet retries it whenever resources free up on the node.
func inspect(pod *corev1.Pod, container string, requests, limits corev1.ResourceList) resizeState {
	deferred := ""
	for _, cond := range pod.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		switch {
		case cond.Type == corev1.PodResizePending && cond.Reason == corev1.PodReasonInfeasible:
			return resizeState{failure: fmt.Errorf("the node can never fit this resize (Infeasible): %s", cond.Message)}
		case cond.Type == corev1.PodResizePending && cond.Reason == corev1.PodReasonDeferred:
			deferred = fmt.Sprintf("deferred: the node cannot fit this resize now and the kubelet retries when resources free up; waiting (%s)", cond.Message)
		case cond.Type == corev1.PodResizeInProgress && cond.Reason == corev1.PodReasonError:
			return resizeState{failure: fmt.Errorf("the kubelet failed to apply the resize: %s", cond.Message)}
		}
	}
	if deferred != "" {
		return resizeState{progress: deferred}
	}
	status := containerStatus(pod, container)
	if status == nil || status.Resources == nil {
		return resizeState{progress: "waiting for the kubelet to report the container's resources"}
	}
	if mismatch := firstMismatch("requests", requests, status.Resources.Requests); mismatch != "" {
		return resizeState{progress: mismatch}
	}
	if mismatch := firstMismatch("limits", limits, status.Resources.Limits); mismatch != "" {
		return resizeState{progress: mismatch}
	}
	return resizeState{done: true}
}

func firstMismatch(label string, want, actual corev1.ResourceList) string {
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, name := range names {
		w := want[corev1.ResourceName(name)]
		a, ok := actual[corev1.ResourceName(name)]
		if !ok || a.Cmp(w) != 0 {
			return fmt.Sprintf("in progress: %s %s is %s, want %s", label, name, a.String(), w.String())
		}
	}
	return ""
}

// errWatchExpired ends one watch whose resourceVersion the apiserver no
// longer serves (410 Gone), so the wait starts over from a fresh read.
var errWatchExpired = errors.New("watch expired")

// waitForResize follows the pod from the patch's resourceVersion, printing
// each new progress message once, until the resize is done, fails, or ctx
// ends. The retry watcher opens a new watch whenever one closes (the
// apiserver ends them after a few minutes), so only ctx bounds the wait.
func (o *ResizeOptions) waitForResize(ctx context.Context, pod *corev1.Pod, container string) (*corev1.Pod, error) {
	pods := o.client.CoreV1().Pods(o.namespace)
	lastProgress := ""
	check := func(p *corev1.Pod) (bool, error) {
		state := inspect(p, container, o.requests, o.limits)
		if state.failure != nil {
			return true, fmt.Errorf("pod/%s: %w", p.Name, state.failure)
		}
		if state.done {
			return true, nil
		}
		if state.progress != lastProgress {
			o.say("pod/%s: %s", p.Name, state.progress)
			lastProgress = state.progress
		}
		return false, nil
	}
	onePod := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
		options.FieldSelector = fields.OneTermEqualSelector("metadata.name", pod.Name).String()
		return pods.Watch(ctx, options)
	}}
	current := pod
	for {
		if finished, err := check(current); finished {
			return current, err
		}
		watcher, err := watchtools.NewRetryWatcherWithContext(ctx, current.ResourceVersion, onePod)
		if err != nil {
			return nil, fmt.Errorf("pod/%s: cannot watch it: %w", pod.Name, err)
		}
		_, err = watchtools.UntilWithoutRetry(ctx, watcher, func(event watch.Event) (bool, error) {
			switch event.Type {
			case watch.Deleted:
				return true, fmt.Errorf("pod/%s was deleted while waiting for the resize", pod.Name)
			case watch.Error:
				if apierrors.IsResourceExpired(apierrors.FromObject(event.Object)) || apierrors.IsGone(apierrors.FromObject(event.Object)) {
					return true, errWatchExpired
				}
				return true, fmt.Errorf("pod/%s: watch error: %v", pod.Name, apierrors.FromObject(event.Object))
			}
			p, isPod := event.Object.(*corev1.Pod)
			if !isPod {
				return false, nil
			}
			current = p
			return check(p)
		})
		switch {
		case err == nil:
			return current, nil
		case errors.Is(err, errWatchExpired):
			if current, err = pods.Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
				return nil, o.waitError(ctx, pod.Name, lastProgress, err)
			}
		default:
			return nil, o.waitError(ctx, pod.Name, lastProgress, err)
		}
	}
}

// waitError names the timeout when ctx ran out, whatever the watch said.
func (o *ResizeOptions) waitError(ctx context.Context, name, lastProgress string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("pod/%s: timed out after %s waiting for the resize (last state: %s); the kubelet goes on trying, follow it with 'kubectl get pod %s -o yaml'", name, o.Timeout, lastProgress, name)
	case ctx.Err() != nil:
		return fmt.Errorf("pod/%s: stopped waiting for the resize (last state: %s)", name, lastProgress)
	}
	return err
}
