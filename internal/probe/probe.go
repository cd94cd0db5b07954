// Package probe is the client that watches a service while a cluster
// changes under it: a steady rate of HTTP requests, every one recorded
// with its time, latency and error, so that failures can be put against
// the phase (a drain, an upgrade) during which they happened.
package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"
)

// Result is one request.
type Result struct {
	Start   time.Time     `json:"start"`
	Latency time.Duration `json:"latency"`
	Err     string        `json:"err,omitempty"` // empty when the answer was 200
}

// Options shape a run.
type Options struct {
	URL     string
	Rate    int           // requests a second
	Timeout time.Duration // per request; a request that times out failed
}

// Run requests o.URL o.Rate times a second until ctx ends, writing one
// JSON line per request to out. Requests overlap when one is slow, so a
// stall does not lower the rate.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if o.URL == "" || o.Rate < 1 || o.Timeout <= 0 {
		return fmt.Errorf("probe needs a URL, a rate of at least 1 a second and a timeout")
	}
	client := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	results := make(chan Result, 1024)
	w := bufio.NewWriter(out)
	done := make(chan error, 1)
	go func() {
		enc := json.NewEncoder(w)
		var err error
		for r := range results {
			if err == nil {
				err = enc.Encode(r)
			}
			if err == nil && len(results) == 0 {
				err = w.Flush()
			}
		}
		done <- err
	}()
	tick := time.NewTicker(time.Second / time.Duration(o.Rate))
	defer tick.Stop()
	inflight := make(chan struct{}, 4*o.Rate)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		inflight <- struct{}{}
		go func() {
			defer func() { <-inflight }()
			results <- request(client, o.URL)
		}()
	}
	for range cap(inflight) {
		inflight <- struct{}{}
	}
	close(results)
	if err := <-done; err != nil {
		return err
	}
	return w.Flush()
}

func request(client *http.Client, url string) Result {
	start := time.Now()
	resp, err := client.Get(url)
	r := Result{Start: start}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s", resp.Status)
		}
	}
	r.Latency = time.Since(start)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// Read parses what Run wrote.
func Read(in io.Reader) ([]Result, error) {
	var results []Result
	dec := json.NewDecoder(in)
	for {
		var r Result
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			return results, fmt.Errorf("probe log, after %d results: %w", len(results), err)
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Start.Before(results[j].Start) })
	return results, nil
}

// Phase is a named stretch of time.
type Phase struct {
	Name       string
	Start, End time.Time
}

// Summary is what happened to the requests started during a phase.
type Summary struct {
	Phase    string
	Seconds  float64
	Requests int
	Failed   int
	Slow     int            // succeeded, but took longer than the slow bound
	Failures []Result       // the failed ones, for the record
	Errors   map[string]int // failed requests by error
}

// Summarize puts each result in the phase during which it started.
func Summarize(results []Result, phases []Phase, slow time.Duration) []Summary {
	var out []Summary
	for _, p := range phases {
		s := Summary{Phase: p.Name, Seconds: p.End.Sub(p.Start).Seconds(), Errors: map[string]int{}}
		for _, r := range results {
			if r.Start.Before(p.Start) || !r.Start.Before(p.End) {
				continue
			}
			s.Requests++
			switch {
			case r.Err != "":
				s.Failed++
				s.Failures = append(s.Failures, r)
				s.Errors[r.Err]++
			case r.Latency > slow:
				s.Slow++
			}
		}
		out = append(out, s)
	}
	return out
}

// Line is the summary as the upgrade tool prints it.
func (s Summary) Line() string {
	return fmt.Sprintf("phase=%s seconds=%.0f failed=%d slow=%d", s.Phase, s.Seconds, s.Failed, s.Slow)
}
