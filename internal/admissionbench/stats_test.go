package admissionbench

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// three configurations, two rounds each, with latencies chosen so that
// the percentiles and ratios are exact.
func fixture() ([]Configuration, []Sample, []Batch) {
	configs, _ := SelectConfigurations([]string{NoPolicyID, "vap-10", WebhookID})
	var samples []Sample
	add := func(id string, round int, latency time.Duration, n int) {
		for range n {
			samples = append(samples, Sample{Round: round, Configuration: id, Latency: latency})
		}
	}
	// 100 samples each: p50 is the 50th, p99 the 99th.
	add(NoPolicyID, 1, ms(2), 50)
	add(NoPolicyID, 2, ms(4), 50)
	add("vap-10", 1, ms(2.5), 50)
	add("vap-10", 2, ms(4.5), 50)
	add(WebhookID, 1, ms(10), 99)
	add(WebhookID, 2, ms(50), 1)
	batches := []Batch{
		{1, NoPolicyID, 50, time.Second}, {2, NoPolicyID, 50, time.Second},
		{1, "vap-10", 50, 2 * time.Second}, {2, "vap-10", 50, 3 * time.Second},
		{1, WebhookID, 99, 4 * time.Second}, {2, WebhookID, 1, time.Second},
	}
	return configs, samples, batches
}

func TestSummarize(t *testing.T) {
	configs, samples, batches := fixture()
	got := Summarize(configs, samples, batches)
	if len(got) != 3 {
		t.Fatalf("%d summaries, want 3", len(got))
	}
	none, vap, webhook := got[0], got[1], got[2]
	if none.P50 != ms(2) || none.P99 != ms(4) || none.PerSecond != 50 || none.Creates != 100 || none.RoundP99Min != ms(2) || none.RoundP99Max != ms(4) {
		t.Errorf("no policy: %+v", none)
	}
	if vap.P99 != ms(4.5) || vap.PerSecond != 20 || vap.P99VsNoPolicy != 1.125 || vap.P99VsWebhook != 0.45 {
		t.Errorf("10 VAPs: %+v", vap)
	}
	if webhook.P50 != ms(10) || webhook.P99 != ms(10) || webhook.P99VsWebhook != 1 {
		t.Errorf("webhook: %+v", webhook)
	}
	// Without the webhook in the run, its ratio column is NaN, not 0 or Inf.
	onlyNone := Summarize(configs[:2], samples[:200], batches[:4])
	if !math.IsNaN(onlyNone[1].P99VsWebhook) {
		t.Errorf("ratio to a webhook that did not run = %v", onlyNone[1].P99VsWebhook)
	}
}

func TestJudge(t *testing.T) {
	configs, samples, batches := fixture()
	v, ok := Judge(Summarize(configs, samples, batches))
	if !ok {
		t.Fatal("Judge found no verdict with all three configurations")
	}
	// 10 VAPs: 4.5 - 4 = 0.5 ms added (met); webhook 10 / 4.5 = 2.2x (not met);
	// added: (10 - 4) / 0.5 = 12x.
	if v.AddedP99 != ms(0.5) || !v.AddedMet {
		t.Errorf("added %v met %v", v.AddedP99, v.AddedMet)
	}
	if math.Abs(v.WebhookOverPolicies-10.0/4.5) > 1e-9 || v.RatioMet {
		t.Errorf("webhook/policies %v met %v", v.WebhookOverPolicies, v.RatioMet)
	}
	if math.Abs(v.AddedWebhookOverAddedPolicies-12) > 1e-9 {
		t.Errorf("added ratio %v, want 12", v.AddedWebhookOverAddedPolicies)
	}
	var out bytes.Buffer
	if err := WriteVerdict(&out, v); err != nil {
		t.Fatal(err)
	}
	// No policy's rounds had p99s of 2 and 4 ms: 0.5 ms is inside that.
	if v.Noise != ms(2) || !strings.Contains(out.String(), "0.50 ms at p99 over no policy (target < 1.00 ms): met (but inside the noise: no policy's p99 moved by 2.00 ms between rounds)") || !strings.Contains(out.String(), "2.22x (target >= 10x): NOT met") {
		t.Errorf("verdict text:\n%s", out.String())
	}
	if _, ok := Judge(Summarize(configs[:2], samples[:200], batches[:4])); ok {
		t.Error("a verdict without the webhook")
	}
}

func TestWriteTable(t *testing.T) {
	configs, samples, batches := fixture()
	var out bytes.Buffer
	if err := WriteTable(&out, Summarize(configs, samples, batches)); err != nil {
		t.Fatal(err)
	}
	want := `| configuration | creates | p50 | p99 | p99 of single rounds | creates/s | p99 / no policy | p99 / webhook |
|---|---|---|---|---|---|---|---|
| no policy | 100 | 2.00 ms | 4.00 ms | 2.0–4.0 ms | 50 | 1.00 | 0.40 |
| 10 ValidatingAdmissionPolicies | 100 | 2.50 ms | 4.50 ms | 2.5–4.5 ms | 20 | 1.12 | 0.45 |
| validating webhook (TLS, loopback) | 100 | 10.00 ms | 10.00 ms | 10.0–50.0 ms | 20 | 2.50 | 1.00 |
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}
