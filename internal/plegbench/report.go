package plegbench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
)

// writeTables writes the two tables docs/benchmarks.md quotes, the
// subjects as columns, and the ratios the targets are stated in.
func writeTables(w io.Writer, c Config, r results) {
	header := func(first string) {
		fmt.Fprintf(w, "| %s |", first)
		for _, s := range r.subjects {
			fmt.Fprintf(w, " %s |", s)
		}
		fmt.Fprint(w, "\n| --- |")
		for range r.subjects {
			fmt.Fprint(w, " --- |")
		}
		fmt.Fprintln(w)
	}
	header("exit to status")
	for _, pods := range exitRounds(r) {
		for _, stat := range []struct {
			name string
			p    float64
		}{{"p50", 50}, {"p90", 90}, {"p99", 99}} {
			fmt.Fprintf(w, "| %d pods, %s |", pods, stat.name)
			for _, s := range r.subjects {
				fmt.Fprintf(w, " %d ms |", benchstat.Percentile(latencies(r.exits[s][pods]), stat.p).Milliseconds())
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "| %d pods, exits |", pods)
		for _, s := range r.subjects {
			fmt.Fprintf(w, " %d |", len(r.exits[s][pods]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	header(fmt.Sprintf("%s idle, %d pods", c.Idle, c.Pods))
	for _, row := range []struct {
		name string
		of   func(idleResult) float64
	}{
		{"PLEG full relists", func(i idleResult) float64 { return i.relists }},
		{"PLEG pod relists", func(i idleResult) float64 { return i.podRelists }},
		{"PLEG list calls (2 per full relist)", plegListCalls},
	} {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, s := range r.subjects {
			fmt.Fprintf(w, " %.0f |", row.of(r.idle[s]))
		}
		fmt.Fprintln(w)
	}
	for _, op := range runtimeOps {
		fmt.Fprintf(w, "| kubelet %s calls |", op.call)
		for _, s := range r.subjects {
			fmt.Fprintf(w, " %.0f |", r.idle[s].calls[op.call])
		}
		fmt.Fprintln(w)
	}
	for _, row := range []struct {
		name string
		of   func(idleResult) float64
	}{
		{"PLEG CPU (pprof)", func(i idleResult) float64 { return i.profiled.Matched.Seconds() }},
		{"kubelet CPU", func(i idleResult) float64 { return i.cpu }},
		{"containerd CPU", func(i idleResult) float64 { return i.runtimeCPU }},
	} {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, s := range r.subjects {
			fmt.Fprintf(w, " %.2f s |", row.of(r.idle[s]))
		}
		fmt.Fprintln(w)
	}
	writeTargets(w, r)
}

// writeTargets compares our evented kubelet with upstream's as the
// targets are stated; nothing without an upstream kubelet.
func writeTargets(w io.Writer, r results) {
	ours, upEvented, upGeneric := subject{"kubenext", true}, subject{"upstream", true}, subject{"upstream", false}
	if _, ok := r.idle[upEvented]; !ok {
		return
	}
	fmt.Fprintln(w)
	rounds := exitRounds(r)
	if len(rounds) > 0 {
		few := rounds[0]
		o, u := benchstat.Percentile(latencies(r.exits[ours][few]), 99), benchstat.Percentile(latencies(r.exits[upEvented][few]), 99)
		fmt.Fprintf(w, "- exit-to-status p99 at %d pods: ours evented %d ms, upstream evented %d ms (ours/upstream %s; target at most 0.5 and under 200 ms)\n",
			few, o.Milliseconds(), u.Milliseconds(), benchstat.FormatRatio(benchstat.Ratio(o, u)))
	}
	pleg := func(s subject) float64 { return plegListCalls(r.idle[s]) }
	fmt.Fprintf(w, "- the PLEG's runtime list calls over the idle period: ours evented %.0f, upstream generic %.0f (%s fewer; target 100x), upstream evented %.0f (%s fewer; target 50x)\n",
		pleg(ours), pleg(upGeneric), timesFewer(pleg(upGeneric), pleg(ours)), pleg(upEvented), timesFewer(pleg(upEvented), pleg(ours)))
	all := func(s subject) float64 { return r.idle[s].calls["ListPodSandbox"] + r.idle[s].calls["ListContainers"] }
	fmt.Fprintf(w, "- the whole kubelet's list calls, the PLEG's and pod housekeeping's: ours evented %.0f, upstream generic %.0f (%s fewer), upstream evented %.0f (%s fewer)\n",
		all(ours), all(upGeneric), timesFewer(all(upGeneric), all(ours)), all(upEvented), timesFewer(all(upEvented), all(ours)))
}

// plegListCalls are the list calls of the PLEG's full relists: each calls
// ListPodSandbox and ListContainers once (GetPods). A pod relist lists
// only that pod's containers, and at idle there are none.
func plegListCalls(i idleResult) float64 { return 2 * i.relists }

// timesFewer is how many times fewer ours is than theirs; with none of
// ours, at least theirs times fewer.
func timesFewer(theirs, ours float64) string {
	if ours == 0 {
		return fmt.Sprintf(">= %.0fx", theirs)
	}
	return fmt.Sprintf("%.0fx", theirs/ours)
}

// exitRounds are the pod counts exits were timed among, ascending.
func exitRounds(r results) []int {
	seen := map[int]bool{}
	for _, byPods := range r.exits {
		for pods := range byPods {
			seen[pods] = true
		}
	}
	var out []int
	for pods := range seen {
		out = append(out, pods)
	}
	sort.Ints(out)
	return out
}

func latencies(samples []exitSample) []time.Duration {
	out := make([]time.Duration, len(samples))
	for i, e := range samples {
		out[i] = e.latency
	}
	return out
}

// writeExitsCSV writes every timed exit to path.
func writeExitsCSV(path string, r results) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("kubelet,mode,pods,container,exit_to_status_ms\n")
	for _, s := range r.subjects {
		for _, pods := range exitRounds(r) {
			for _, e := range r.exits[s][pods] {
				fmt.Fprintf(&buf, "%s,%s,%d,%s,%.1f\n", s.kubelet, mode(s), pods, e.container, float64(e.latency.Microseconds())/1000)
			}
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeIdleCSV writes every idle measure to path.
func writeIdleCSV(path string, r results) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("kubelet,mode,measure,value\n")
	for _, s := range r.subjects {
		i := r.idle[s]
		for _, op := range runtimeOps {
			fmt.Fprintf(&buf, "%s,%s,kubelet_%s_calls,%.0f\n", s.kubelet, mode(s), op.call, i.calls[op.call])
		}
		fmt.Fprintf(&buf, "%s,%s,pleg_full_relists,%.0f\n", s.kubelet, mode(s), i.relists)
		fmt.Fprintf(&buf, "%s,%s,pleg_pod_relists,%.0f\n", s.kubelet, mode(s), i.podRelists)
		fmt.Fprintf(&buf, "%s,%s,pleg_cpu_s,%.3f\n", s.kubelet, mode(s), i.profiled.Matched.Seconds())
		fmt.Fprintf(&buf, "%s,%s,profiled_cpu_s,%.3f\n", s.kubelet, mode(s), i.profiled.Total.Seconds())
		fmt.Fprintf(&buf, "%s,%s,kubelet_cpu_s,%.2f\n", s.kubelet, mode(s), i.cpu)
		fmt.Fprintf(&buf, "%s,%s,containerd_cpu_s,%.2f\n", s.kubelet, mode(s), i.runtimeCPU)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func mode(s subject) string { return strings.Fields(s.String())[1] }
