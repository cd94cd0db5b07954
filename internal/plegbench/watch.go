package plegbench

import (
	"context"
	"fmt"
	"io"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
)

type exitSample struct {
	container string // pod/container
	latency   time.Duration
}

// collector turns pod watch events into exit-to-status latencies.
type collector struct {
	events <-chan watch.Event
	// uptime stamps an event's arrival on the clock the containers
	// stamp their exits on.
	uptime func() (time.Duration, error)
	log    io.Writer
}

// collect reads the watch until n containers have shown as terminated,
// stamping each on arrival, before anything else is done with the event.
func (p *collector) collect(ctx context.Context, n int, timeout time.Duration) ([]exitSample, error) {
	seen := map[string]bool{}
	var latencies []exitSample
	failedStarts := 0
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	defer func() {
		if failedStarts > 0 {
			fmt.Fprintf(p.log, "pleg: %d of %d containers failed to start and were not timed\n", failedStarts, n)
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
				fmt.Fprintf(p.log, "pleg: %d of %d containers never exited within %s (failed starts); measuring the rest\n", n-len(seen), n, timeout)
				return latencies, nil
			}
			return latencies, fmt.Errorf("after %s only %d of %d exits were seen (%d failed starts)", timeout, len(seen), n, failedStarts)
		case ev, ok := <-p.events:
			if !ok {
				return latencies, fmt.Errorf("the pod watch closed after %d of %d exits", len(seen), n)
			}
			received, err := p.uptime()
			if err != nil {
				return latencies, err
			}
			pod, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			for _, cs := range pod.Status.ContainerStatuses {
				t := cs.State.Terminated
				key := pod.Name + "/" + cs.Name
				if t == nil || seen[key] {
					continue
				}
				seen[key] = true
				exited, err := ParseUptime(t.Message)
				if err != nil {
					// A container that never started (runc "unable to
					// freeze" on a cgroup v1 host) terminates with the
					// runtime's error as its message: nothing to time.
					fmt.Fprintf(p.log, "pleg: container %s did not run (%s: %.80s); not timed\n", key, t.Reason, t.Message)
					failedStarts++
					continue
				}
				latencies = append(latencies, exitSample{container: key, latency: received - exited})
			}
		}
	}
	return latencies, nil
}
