package nodelogsbench

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/kubenext/kubenext/internal/benchstat"
)

// Summary is the median of each method over the rounds.
type Summary struct {
	Method         string
	LinesPerSecond float64
	KubectlMaxRSS  int64 // bytes, the largest of the rounds
	KubeletPeakRSS int64
	Rounds         int
}

// summarize takes the median throughput of each method and the largest
// memory seen, in the methods' fixed order.
func summarize(samples []Sample) []Summary {
	var out []Summary
	for _, m := range []string{methodInProcess, methodJournalctl, methodFloor} {
		var rates []float64
		s := Summary{Method: m}
		for _, x := range samples {
			if x.Method != m {
				continue
			}
			rates = append(rates, x.LinesPerSecond())
			s.KubectlMaxRSS = max(s.KubectlMaxRSS, x.KubectlMaxRSS)
			s.KubeletPeakRSS = max(s.KubeletPeakRSS, x.KubeletPeakRSS)
		}
		if len(rates) == 0 {
			continue
		}
		slices.Sort(rates)
		s.LinesPerSecond, s.Rounds = rates[len(rates)/2], len(rates)
		out = append(out, s)
	}
	return out
}

// Targets are issue 19's: in process at least as fast as journalctl
// through the kubelet, kubectl at least half of raw journalctl, and
// kubectl under 100 MiB.
func targets(sums []Summary) []string {
	rate := map[string]float64{}
	var kubectlPeak int64
	for _, s := range sums {
		rate[s.Method] = s.LinesPerSecond
		kubectlPeak = max(kubectlPeak, s.KubectlMaxRSS)
	}
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	inVsJournalctl := benchstat.Ratio(rate[methodInProcess], rate[methodJournalctl])
	inVsFloor := benchstat.Ratio(rate[methodInProcess], rate[methodFloor])
	return []string{
		fmt.Sprintf("in process / journalctl path = %.2f (target >= 1): %s", inVsJournalctl, check(inVsJournalctl >= 1)),
		fmt.Sprintf("kubectl in process / raw journalctl = %.2f (target >= 0.5): %s", inVsFloor, check(inVsFloor >= 0.5)),
		fmt.Sprintf("kubectl peak memory = %.1f MiB (target < 100): %s", mib(kubectlPeak), check(kubectlPeak < 100<<20)),
	}
}

func writeSummary(w io.Writer, samples []Sample) {
	sums := summarize(samples)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tlines/s (median)\tkubectl peak RSS\tkubelet peak RSS\trounds")
	for _, s := range sums {
		kubectl := "-"
		if s.KubectlMaxRSS > 0 {
			kubectl = fmt.Sprintf("%.1f MiB", mib(s.KubectlMaxRSS))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.1f MiB\t%d\n", s.Method, s.LinesPerSecond, kubectl, mib(s.KubeletPeakRSS), s.Rounds)
	}
	_ = tw.Flush()
	for _, t := range targets(sums) {
		fmt.Fprintln(w, t)
	}
}
