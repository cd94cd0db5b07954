// Package startupbench is make bench-startup: on the kind cluster it
// measures
//   - the time to schedule and run -pods pods created at once (spread over
//     the workers by the scheduler): from the first create to the last pod
//     Running, and each pod's creation-to-Running time;
//   - the control plane's memory at rest: the resident set of each
//     control-plane process, read from /proc in the control-plane node.
package startupbench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/benchkube"
	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// controlPlane are the processes whose memory is reported.
var controlPlane = []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kubelet", "containerd"}

// Config is make bench-startup's flags.
type Config struct {
	Kubeconfig string
	// Cluster is the kind cluster; its control-plane node is
	// <cluster>-control-plane.
	Cluster, Image, Namespace string
	Pods                      int
	// Stdout gets the table; Stderr the progress.
	Stdout, Stderr io.Writer
}

// Check refuses flags the benchmark cannot run with.
func (c Config) Check() error {
	if c.Kubeconfig == "" || c.Image == "" {
		return fmt.Errorf("-kubeconfig and -image are required; run it with make bench-startup")
	}
	if c.Pods < 1 || c.Pods > 200 {
		return fmt.Errorf("-pods must be 1..200: two workers run at most 220 pods, system pods included")
	}
	return nil
}

// Run reads the control plane's memory first, at rest, then starts the
// pods in a namespace of its own, deleted at the end.
func Run(ctx context.Context, c Config) error {
	cpNode := c.Cluster + "-control-plane"
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	// The default 5 QPS of client-go would be what is measured.
	rc.QPS, rc.Burst = 100, 200
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	s := &steps.Steps{Out: c.Stderr}

	var rss map[string]int64
	if err := s.Run("Reading the control plane's memory at rest", func() error {
		rss, err = residentSets(ctx, nodes.Docker().Node(cpNode))
		return err
	}); err != nil {
		return err
	}

	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.Namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s (left by an earlier run? delete it): %w", c.Namespace, err)
	}
	defer func() {
		_ = s.Run("Deleting namespace "+c.Namespace, func() error { return benchkube.DeleteNamespace(context.Background(), client, c.Namespace) })
	}()

	var wall time.Duration
	var perPod []time.Duration
	if err := s.Run(fmt.Sprintf("Creating %d pods and waiting until all run", c.Pods), func() error {
		start := time.Now()
		for i := range c.Pods {
			if _, err := client.CoreV1().Pods(c.Namespace).Create(ctx, pod(i, c.Image), metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := client.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			return running(list.Items) == c.Pods, nil
		})
		wall = time.Since(start)
		if err != nil {
			return fmt.Errorf("not all %d pods Running after %s: %w", c.Pods, wall.Round(time.Second), err)
		}
		perPod, err = creationToRunning(ctx, client, c.Namespace)
		return err
	}); err != nil {
		return err
	}
	writeTable(c.Stdout, c.Pods, cpNode, wall, perPod, rss)
	return nil
}

func pod(i int, image string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%03d", i)},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			// No node name: the scheduler's work is part of what is timed.
			Containers: []v1.Container{{Name: "c", Image: image, ImagePullPolicy: v1.PullNever, Command: []string{"sleep", "100000"}}},
		},
	}
}

func running(pods []v1.Pod) int {
	n := 0
	for _, p := range pods {
		if p.Status.Phase == v1.PodRunning {
			n++
		}
	}
	return n
}

func writeTable(w io.Writer, n int, cpNode string, wall time.Duration, perPod []time.Duration, rss map[string]int64) {
	fmt.Fprintf(w, "| what | value |\n| --- | --- |\n")
	fmt.Fprintf(w, "| %d pods: first create to all Running | %.1f s |\n", n, wall.Seconds())
	fmt.Fprintf(w, "| per pod, creation to Running: p50 / p99 | %.1f s / %.1f s |\n",
		benchstat.Percentile(perPod, 50).Seconds(), benchstat.Percentile(perPod, 99).Seconds())
	var total int64
	for _, name := range controlPlane {
		fmt.Fprintf(w, "| RSS at rest, %s on %s | %d MiB |\n", name, cpNode, rss[name]>>20)
		total += rss[name]
	}
	fmt.Fprintf(w, "| RSS at rest, all of the above | %d MiB |\n", total>>20)
}

// creationToRunning is, per pod, from its creation timestamp to the start
// of its container; both are stamped with second precision.
func creationToRunning(ctx context.Context, client kubernetes.Interface, namespace string) ([]time.Duration, error) {
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, p := range list.Items {
		if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running == nil {
			return nil, fmt.Errorf("pod %s has no running container", p.Name)
		}
		out = append(out, p.Status.ContainerStatuses[0].State.Running.StartedAt.Sub(p.CreationTimestamp.Time))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// residentSets reads VmRSS of each control-plane process in the node.
func residentSets(ctx context.Context, node exec.Cmder) (map[string]int64, error) {
	rss := map[string]int64{}
	for _, name := range controlPlane {
		out, err := exec.CombinedOutput(node.Command(ctx, "sh", "-c", "grep VmRSS /proc/$(pidof "+name+")/status"))
		if err != nil {
			return nil, fmt.Errorf("VmRSS of %s: %w", name, err)
		}
		kb, err := parseVmRSS(string(out))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rss[name] = kb << 10
	}
	return rss, nil
}

func parseVmRSS(line string) (int64, error) {
	var kb int64
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "VmRSS:" || fields[2] != "kB" {
		return 0, fmt.Errorf("unexpected VmRSS line %q", line)
	}
	_, err := fmt.Sscan(fields[1], &kb)
	return kb, err
}
