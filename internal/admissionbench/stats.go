package admissionbench

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
)

// Sample is one timed create.
type Sample struct {
	Round         int
	Configuration string
	Latency       time.Duration
}

// Batch is one timed batch: Creates creates of one configuration in one
// round, which took Wall from the first request to the last answer.
type Batch struct {
	Round         int
	Configuration string
	Creates       int
	Wall          time.Duration
}

// Summary is one configuration's row of the table, over all rounds.
type Summary struct {
	Configuration Configuration
	Creates       int
	P50, P99      time.Duration
	// RoundP99Min and RoundP99Max bound the p99s of the single rounds: how
	// far apart they are shows the noise the pooled p99 carries.
	RoundP99Min, RoundP99Max time.Duration
	// PerSecond is all creates over the sum of the batches' wall times.
	PerSecond float64
	// P99VsNoPolicy and P99VsWebhook are this row's p99 over theirs, by
	// benchstat.Ratio: NaN when that configuration was not run.
	P99VsNoPolicy, P99VsWebhook float64
}

// Summarize aggregates samples and batches per configuration, in the
// order of configs; a configuration with no samples is left out.
func Summarize(configs []Configuration, samples []Sample, batches []Batch) []Summary {
	type roundKey struct {
		configuration string
		round         int
	}
	latencies := map[string][]time.Duration{}
	byRound := map[roundKey][]time.Duration{}
	for _, s := range samples {
		latencies[s.Configuration] = append(latencies[s.Configuration], s.Latency)
		k := roundKey{s.Configuration, s.Round}
		byRound[k] = append(byRound[k], s.Latency)
	}
	wall := map[string]time.Duration{}
	creates := map[string]int{}
	for _, b := range batches {
		wall[b.Configuration] += b.Wall
		creates[b.Configuration] += b.Creates
	}
	var out []Summary
	for _, c := range configs {
		l := latencies[c.ID]
		if len(l) == 0 {
			continue
		}
		s := Summary{Configuration: c, Creates: len(l), P50: benchstat.Percentile(l, 50), P99: benchstat.Percentile(l, 99)}
		for k, l := range byRound {
			if k.configuration != c.ID {
				continue
			}
			p99 := benchstat.Percentile(l, 99)
			if s.RoundP99Min == 0 || p99 < s.RoundP99Min {
				s.RoundP99Min = p99
			}
			s.RoundP99Max = max(s.RoundP99Max, p99)
		}
		if wall[c.ID] > 0 {
			s.PerSecond = float64(creates[c.ID]) / wall[c.ID].Seconds()
		}
		out = append(out, s)
	}
	p99 := func(id string) time.Duration { return benchstat.Percentile(latencies[id], 99) }
	for i := range out {
		out[i].P99VsNoPolicy = benchstat.Ratio(out[i].P99, p99(NoPolicyID))
		out[i].P99VsWebhook = benchstat.Ratio(out[i].P99, p99(WebhookID))
	}
	return out
}

// WriteTable writes the summaries as a markdown table.
func WriteTable(w io.Writer, summaries []Summary) error {
	if _, err := fmt.Fprintln(w, "| configuration | creates | p50 | p99 | p99 of single rounds | creates/s | p99 / no policy | p99 / webhook |\n|---|---|---|---|---|---|---|---|"); err != nil {
		return err
	}
	for _, s := range summaries {
		if _, err := fmt.Fprintf(w, "| %s | %d | %s | %s | %.1f–%.1f ms | %.0f | %s | %s |\n", s.Configuration.Title(), s.Creates,
			formatMillis(s.P50), formatMillis(s.P99), benchstat.Millis(s.RoundP99Min), benchstat.Millis(s.RoundP99Max), s.PerSecond, benchstat.FormatRatio(s.P99VsNoPolicy), benchstat.FormatRatio(s.P99VsWebhook)); err != nil {
			return err
		}
	}
	return nil
}

func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", benchstat.Millis(d))
}

// The targets for ten ValidatingAdmissionPolicies.
const (
	TargetAddedP99     = time.Millisecond
	TargetWebhookRatio = 10.0
	TargetPolicies     = "vap-10"
)

// Verdict compares ten ValidatingAdmissionPolicies with no policy and with
// the webhook.
type Verdict struct {
	// AddedP99 is p99(10 VAPs) - p99(no policy); target under 1 ms.
	AddedP99 time.Duration
	// WebhookOverPolicies is p99(webhook) / p99(10 VAPs): how many times
	// faster the policies are at p99, whole request; target at least 10.
	WebhookOverPolicies float64
	// AddedWebhookOverAddedPolicies compares only what each adds to a
	// create without admission: (p99(webhook) - p99(none)) over
	// (p99(10 VAPs) - p99(none)). NaN when the policies add nothing.
	AddedWebhookOverAddedPolicies float64
	AddedMet, RatioMet            bool
	// Noise is how far apart the single rounds' no-policy p99s were: an
	// AddedP99 smaller than that is not a measured difference.
	Noise time.Duration
}

// Judge returns the verdict, or false when one of the three
// configurations it needs is missing from summaries.
func Judge(summaries []Summary) (Verdict, bool) {
	byID := map[string]Summary{}
	for _, s := range summaries {
		byID[s.Configuration.ID] = s
	}
	none, ok1 := byID[NoPolicyID]
	policies, ok2 := byID[TargetPolicies]
	webhook, ok3 := byID[WebhookID]
	if !ok1 || !ok2 || !ok3 {
		return Verdict{}, false
	}
	v := Verdict{
		AddedP99:            policies.P99 - none.P99,
		WebhookOverPolicies: benchstat.Ratio(webhook.P99, policies.P99),
		Noise:               none.RoundP99Max - none.RoundP99Min,
	}
	v.AddedWebhookOverAddedPolicies = math.NaN()
	if v.AddedP99 > 0 {
		v.AddedWebhookOverAddedPolicies = benchstat.Ratio(webhook.P99-none.P99, v.AddedP99)
	}
	v.AddedMet = v.AddedP99 < TargetAddedP99
	v.RatioMet = v.WebhookOverPolicies >= TargetWebhookRatio
	return v, true
}

// WriteVerdict writes the verdict as two lines of markdown.
func WriteVerdict(w io.Writer, v Verdict) error {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	added := "n/a (the policies added nothing measurable)"
	if !math.IsNaN(v.AddedWebhookOverAddedPolicies) {
		added = fmt.Sprintf("%.1fx", v.AddedWebhookOverAddedPolicies)
	}
	noise := ""
	if v.AddedP99.Abs() < v.Noise {
		noise = fmt.Sprintf(" (but inside the noise: no policy's p99 moved by %s between rounds)", formatMillis(v.Noise))
	}
	_, err := fmt.Fprintf(w, "- 10 VAPs add %s at p99 over no policy (target < %s): %s%s\n- webhook p99 / 10-VAP p99 = %.2fx (target >= %.0fx): %s; comparing only what each adds at p99: %s\n",
		formatMillis(v.AddedP99), formatMillis(TargetAddedP99), met(v.AddedMet), noise, v.WebhookOverPolicies, TargetWebhookRatio, met(v.RatioMet), added)
	return err
}
