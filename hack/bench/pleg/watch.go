package main

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubenext/kubenext/internal/plegbench"
)

type exitSample struct {
	pod     string
	latency time.Duration
}

type podWatch struct {
	w watch.Interface
}

func (b *bench) watchPods(ctx context.Context) (*podWatch, error) {
	w, err := b.client.CoreV1().Pods(b.namespace).Watch(ctx, metav1.ListOptions{LabelSelector: "app=plegbench"})
	if err != nil {
		return nil, err
	}
	return &podWatch{w: w}, nil
}

func (p *podWatch) stop() { p.w.Stop() }

// collect reads the watch until n pods have shown a terminated container,
// stamping each on arrival, before anything else is done with the event.
func (p *podWatch) collect(ctx context.Context, n int, timeout time.Duration) ([]exitSample, error) {
	seen := map[string]bool{}
	var latencies []exitSample
	failedStarts := 0
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	defer func() {
		if failedStarts > 0 {
			fmt.Fprintf(os.Stderr, "pleg: %d of %d containers failed to start and were not timed\n", failedStarts, n)
		}
	}()
	for len(seen) < n {
		select {
		case <-ctx.Done():
			return latencies, ctx.Err()
		case <-deadline.C:
			// On this cgroup v1 host runc now and then fails to start a
			// container ("unable to freeze"); such a pod never exits in
			// time. A few are reported, not fatal: the table's exit
			// count shows them.
			if (len(seen)-failedStarts)*100 >= n*95 {
				fmt.Fprintf(os.Stderr, "pleg: %d of %d pods never exited within %s (failed starts); measuring the rest\n", n-len(seen), n, timeout)
				return latencies, nil
			}
			return latencies, fmt.Errorf("after %s only %d of %d exits were seen (%d failed starts)", timeout, len(seen), n, failedStarts)
		case ev, ok := <-p.w.ResultChan():
			if !ok {
				return latencies, fmt.Errorf("the pod watch closed after %d of %d exits", len(seen), n)
			}
			received, err := hostUptime()
			if err != nil {
				return latencies, err
			}
			pod, ok := ev.Object.(*v1.Pod)
			if !ok || seen[pod.Name] || len(pod.Status.ContainerStatuses) == 0 {
				continue
			}
			t := pod.Status.ContainerStatuses[0].State.Terminated
			if t == nil {
				continue
			}
			seen[pod.Name] = true
			exited, err := plegbench.ParseUptime(t.Message)
			if err != nil {
				// A container that never started (runc "unable to
				// freeze" on this host) terminates with the runtime's
				// error as its message: nothing to time.
				fmt.Fprintf(os.Stderr, "pleg: pod %s did not run (%s: %.80s); not timed\n", pod.Name, t.Reason, t.Message)
				failedStarts++
				continue
			}
			latencies = append(latencies, exitSample{pod: pod.Name, latency: received - exited})
		}
	}
	return latencies, nil
}
