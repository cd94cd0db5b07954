package plegbench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kubenext/kubenext/internal/benchstat"
)

// writeTable is the markdown table docs/benchmarks.md quotes, and the
// evented/generic ratios when both modes ran.
func writeTable(w io.Writer, c Config, results []result) {
	fmt.Fprintf(w, "| kubelet | pods | kubelet CPU over %s idle | of which PLEG (pprof) | containerd CPU | exit-to-status p50 | p99 | exits |\n", c.Idle)
	fmt.Fprintf(w, "| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %.2f s | %.2f s | %.2f s | %d ms | %d ms | %d |\n", r.mode, c.Pods, r.cpu, r.profiled.Matched.Seconds(), r.runtimeCPU, r.p50.Milliseconds(), r.p99.Milliseconds(), r.exits)
	}
	if len(results) == 2 && results[1].cpu > 0 {
		ev, gen := results[0], results[1]
		fmt.Fprintf(w, "\nevented/generic: kubelet CPU %s, PLEG CPU %s, kubelet+containerd %s\n",
			benchstat.FormatRatio(benchstat.Ratio(ev.cpu, gen.cpu)),
			benchstat.FormatRatio(benchstat.Ratio(ev.profiled.Matched, gen.profiled.Matched)),
			benchstat.FormatRatio(benchstat.Ratio(ev.cpu+ev.runtimeCPU, gen.cpu+gen.runtimeCPU)))
	}
}

// writeExitsCSV writes every timed exit (mode, pod, latency) to path;
// the mode is its first word (evented, generic).
func writeExitsCSV(path string, results []result) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("mode,pod,exit_to_status_ms\n")
	for _, r := range results {
		mode := strings.Fields(r.mode)[0]
		for _, e := range r.exitsRaw {
			fmt.Fprintf(&buf, "%s,%s,%.1f\n", mode, e.pod, float64(e.latency.Microseconds())/1000)
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
