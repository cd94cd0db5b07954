package probe

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunRecordsEveryRequest(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	// Stop once enough requests were answered, not after a fixed time.
	go func() {
		for n.Load() < 9 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if err := Run(ctx, Options{URL: srv.URL, Rate: 100, Timeout: time.Second}, &out); err != nil {
		t.Fatal(err)
	}
	results, err := Read(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 9 || int32(len(results)) != n.Load() {
		t.Fatalf("%d results for %d requests", len(results), n.Load())
	}
	failed := 0
	for _, r := range results {
		if r.Err != "" {
			failed++
			if !strings.Contains(r.Err, "503") {
				t.Errorf("error %q does not say what the server answered", r.Err)
			}
		}
	}
	if failed == 0 {
		t.Error("the 503s were not recorded as failures")
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	if err := Run(context.Background(), Options{URL: "http://x", Rate: 0, Timeout: time.Second}, &bytes.Buffer{}); err == nil {
		t.Error("rate 0 accepted")
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	results := []Result{
		{Start: at(0.5), Latency: 10 * time.Millisecond},
		{Start: at(1.0), Latency: 2 * time.Second},          // slow, phase a
		{Start: at(1.5), Err: "connection refused"},         // phase a
		{Start: at(2.0), Latency: 10 * time.Millisecond},    // phase b starts at 2
		{Start: at(2.5), Err: "connection refused"},         // phase b
		{Start: at(9.0), Latency: 5 * time.Second, Err: ""}, // after every phase
	}
	phases := []Phase{{"a", at(0), at(2)}, {"b", at(2), at(3)}}
	got := Summarize(results, phases, time.Second)
	if len(got) != 2 {
		t.Fatalf("%d summaries", len(got))
	}
	if a := got[0]; a.Requests != 3 || a.Failed != 1 || a.Slow != 1 || a.Errors["connection refused"] != 1 {
		t.Errorf("phase a: %+v", a)
	}
	if b := got[1]; b.Requests != 2 || b.Failed != 1 || b.Slow != 0 {
		t.Errorf("phase b: %+v", b)
	}
	if line := got[0].Line(); line != "phase=a seconds=2 failed=1 slow=1" {
		t.Errorf("line %q", line)
	}
}
