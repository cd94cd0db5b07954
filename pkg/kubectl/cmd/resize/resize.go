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
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/qos"
)

var example = `  # give the only container of pod web more CPU
  kubectl resize pod/web --requests=cpu=500m --limits=cpu=1

  # resize container app and wait until the kubelet applied it
  kubectl resize pod/web -c app --requests=cpu=250m,memory=256Mi --limits=cpu=500m,memory=256Mi --wait --timeout=2m`

// ResizeOptions holds the flags and resolved state of one invocation.
type ResizeOptions struct {
	configFlags *genericclioptions.ConfigFlags
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
	client    kubernetes.Interface
}

// NewResizeOptions returns options with the flag defaults.
func NewResizeOptions(streams genericiooptions.IOStreams) *ResizeOptions {
	return &ResizeOptions{
		configFlags: genericclioptions.NewConfigFlags(true),
		IOStreams:   streams,
		Timeout:     5 * time.Minute,
	}
}

// NewCmdResize returns the "resize" command.
func NewCmdResize(streams genericiooptions.IOStreams) *cobra.Command {
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
			if err := o.Complete(args); err != nil {
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
	flags.BoolVar(&o.Wait, "wait", false, "Wait until the kubelet applied the new resources, or reports why it cannot")
	flags.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long --wait waits")
	o.configFlags.AddFlags(flags)
	return cmd
}

// Complete parses the pod argument and the resource lists.
func (o *ResizeOptions) Complete(args []string) error {
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
	if o.namespace, _, err = o.configFlags.ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	if o.client == nil {
		if o.client, err = cmdutil.NewFactory(o.configFlags).KubernetesClientSet(); err != nil {
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
	patch, err := resizePatch(containerName, o.requests, o.limits)
	if err != nil {
		return err
	}
	restartsBefore := restartCount(pod, containerName)
	patched, err := pods.Patch(ctx, o.podName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
	if err != nil {
		return explainPatchError(err)
	}
	fmt.Fprintf(o.Out, "pod/%s resized: container %s %s (restarts: %d)\n", o.podName, containerName, describeChange(o.requests, o.limits), restartsBefore)
	if !o.Wait {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	final, err := o.waitForResize(ctx, patched, containerName)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "pod/%s: container %s runs with the new resources (restarts: %d before, %d after)\n", o.podName, containerName, restartsBefore, restartCount(final, containerName))
	return nil
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
// ones and reads the kubelet's resize conditions.
func inspect(pod *corev1.Pod, container string, requests, limits corev1.ResourceList) resizeState {
	for _, cond := range pod.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		switch {
		case cond.Type == corev1.PodResizePending && cond.Reason == corev1.PodReasonInfeasible:
			return resizeState{failure: fmt.Errorf("the node can never fit this resize (Infeasible): %s", cond.Message)}
		case cond.Type == corev1.PodResizePending && cond.Reason == corev1.PodReasonDeferred:
			return resizeState{failure: fmt.Errorf("the node cannot fit this resize now (Deferred); the kubelet retries when resources free up, follow it with 'kubectl get pod %s -o yaml': %s", pod.Name, cond.Message)}
		case cond.Type == corev1.PodResizeInProgress && cond.Reason == corev1.PodReasonError:
			return resizeState{failure: fmt.Errorf("the kubelet failed to apply the resize: %s", cond.Message)}
		}
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

// waitForResize watches the pod from the patch's resourceVersion, printing
// each new progress message once, until the resize is done, fails, or ctx
// ends.
func (o *ResizeOptions) waitForResize(ctx context.Context, pod *corev1.Pod, container string) (*corev1.Pod, error) {
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
			fmt.Fprintf(o.Out, "pod/%s: %s\n", p.Name, state.progress)
			lastProgress = state.progress
		}
		return false, nil
	}
	if finished, err := check(pod); finished {
		return pod, err
	}
	watcher, err := o.client.CoreV1().Pods(o.namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", pod.Name).String(),
		ResourceVersion: pod.ResourceVersion,
	})
	if err != nil {
		return nil, err
	}
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("pod/%s: timed out after %s waiting for the resize (last state: %s)", pod.Name, o.Timeout, lastProgress)
		case event, ok := <-watcher.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("pod/%s: timed out after %s waiting for the resize (last state: %s)", pod.Name, o.Timeout, lastProgress)
				}
				return nil, fmt.Errorf("pod/%s: the watch ended before the resize finished (last state: %s); check with 'kubectl get pod %s -o yaml'", pod.Name, lastProgress, pod.Name)
			}
			switch event.Type {
			case watch.Deleted:
				return nil, fmt.Errorf("pod/%s was deleted while waiting for the resize", pod.Name)
			case watch.Error:
				return nil, fmt.Errorf("pod/%s: watch error: %v", pod.Name, event.Object)
			}
			current, isPod := event.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			if finished, err := check(current); finished {
				return current, err
			}
		}
	}
}
