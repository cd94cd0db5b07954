// Package admissioncpubench reads the output of make bench-admission-cpu's
// go test run (internal/celadmission's BenchmarkValidating and
// BenchmarkMutating, gate off and on) and prints issue 18's summary: per
// size, gate off over gate on for ns/op and allocs/op, and the CPU per
// policy at 10 policies. Medians over the -count runs, as benchstat
// reports them; benchstat itself prints the full table before this.
package admissioncpubench

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kubenext/kubenext/internal/benchstat"
)

// Key names one benchmark configuration.
type Key struct {
	Plugin   string // "Validating" or "Mutating"
	Bindings int
	Gate     string // "off" or "on"
}

// Samples are one configuration's runs.
type Samples struct {
	NsPerOp, AllocsPerOp []float64
	CPUNsPerOp           []float64 // the process's CPU time per op, when reported
}

// name is BenchmarkValidating/bindings=100/gate=on, with the -GOMAXPROCS
// suffix that go test adds.
var name = regexp.MustCompile(`^Benchmark(\w+)/bindings=(\d+)/gate=(on|off)(?:-\d+)?$`)

// Parse reads go test -bench -benchmem output. Lines that are not results
// of these benchmarks (goos, pkg, PASS, logs) are skipped; a result line
// of these benchmarks without ns/op and allocs/op is an error.
func Parse(r io.Reader) (map[Key]*Samples, error) {
	out := map[Key]*Samples{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		m := name.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		k := Key{Plugin: m[1], Bindings: n, Gate: m[3]}
		var ns, allocs float64
		var haveNs, haveAllocs bool
		var cpu []float64
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not a number: %w", line, f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				ns, haveNs = v, true
			case "allocs/op":
				allocs, haveAllocs = v, true
			case "cpu-ns/op":
				cpu = append(cpu, v)
			}
		}
		if !haveNs || !haveAllocs {
			return nil, fmt.Errorf("line %d: %s has no ns/op or allocs/op (run go test with -benchmem)", line, f[0])
		}
		s := out[k]
		if s == nil {
			s = &Samples{}
			out[k] = s
		}
		s.NsPerOp = append(s.NsPerOp, ns)
		s.AllocsPerOp = append(s.AllocsPerOp, allocs)
		s.CPUNsPerOp = append(s.CPUNsPerOp, cpu...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no BenchmarkValidating or BenchmarkMutating results in the input")
	}
	return out, nil
}

// Median is the middle sample (the mean of the two middle ones for an even
// count). v must not be empty.
func Median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Summary writes one line per plugin and size, mutating first, and ends
// with the validating lines in the form issue 18 asks for:
// bindings=<N> cpu_ratio=<off/on ns/op> allocs_ratio=<off/on allocs/op>
// (and process_cpu_ratio, the same for the process's CPU time per op, when
// the benchmark reported it), after the per-policy CPU at 10 policies.
func Summary(w io.Writer, results map[Key]*Samples) error {
	sizes := map[string][]int{}
	for k := range results {
		if k.Gate == "off" {
			if _, ok := results[Key{k.Plugin, k.Bindings, "on"}]; ok {
				sizes[k.Plugin] = append(sizes[k.Plugin], k.Bindings)
			}
		}
	}
	if len(sizes["Validating"]) == 0 {
		return fmt.Errorf("no validating size has both gate=off and gate=on results")
	}
	line := func(plugin string, n int) string {
		off, on := results[Key{plugin, n, "off"}], results[Key{plugin, n, "on"}]
		l := fmt.Sprintf("bindings=%d cpu_ratio=%s allocs_ratio=%s",
			n, benchstat.FormatRatio(benchstat.Ratio(Median(off.NsPerOp), Median(on.NsPerOp))),
			benchstat.FormatRatio(benchstat.Ratio(Median(off.AllocsPerOp), Median(on.AllocsPerOp))))
		if len(off.CPUNsPerOp) > 0 && len(on.CPUNsPerOp) > 0 {
			l += " process_cpu_ratio=" + benchstat.FormatRatio(benchstat.Ratio(Median(off.CPUNsPerOp), Median(on.CPUNsPerOp)))
		}
		return l
	}
	for _, plugin := range []string{"Mutating", "Validating"} {
		sort.Ints(sizes[plugin])
	}
	for _, n := range sizes["Mutating"] {
		fmt.Fprintf(w, "mutating %s\n", line("Mutating", n))
	}
	for _, plugin := range []string{"Mutating", "Validating"} {
		for _, gate := range []string{"off", "on"} {
			if s, ok := results[Key{plugin, 10, gate}]; ok {
				l := fmt.Sprintf("%s per_policy_at_10 gate=%s ns=%.0f", strings.ToLower(plugin), gate, Median(s.NsPerOp)/10)
				if len(s.CPUNsPerOp) > 0 {
					l += fmt.Sprintf(" process_cpu_ns=%.0f", Median(s.CPUNsPerOp)/10)
				}
				fmt.Fprintln(w, l)
			}
		}
	}
	for _, n := range sizes["Validating"] {
		fmt.Fprintln(w, line("Validating", n))
	}
	return nil
}
