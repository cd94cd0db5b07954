package admissionbench

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The first calls block until four are in flight at once, so the test
// sees the bound reached; none may ever make it five.
func TestTimeConcurrentlyBoundsConcurrency(t *testing.T) {
	const workers = 4
	var inFlight, peak, calls atomic.Int64
	allIn := make(chan struct{})
	var once sync.Once
	create := func(ctx context.Context, i int) error {
		calls.Add(1)
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n == workers {
			// Let every other runnable goroutine reach create before the
			// four are released: a fifth one, if there were any, would.
			for range 1000 {
				runtime.Gosched()
			}
			once.Do(func() { close(allIn) })
		}
		select {
		case <-allIn:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("never had 4 calls in flight")
		}
	}
	latencies, wall, err := TimeConcurrently(context.Background(), 200, workers, create)
	if err != nil {
		t.Fatal(err)
	}
	if len(latencies) != 200 || calls.Load() != 200 {
		t.Errorf("%d latencies from %d calls, want 200", len(latencies), calls.Load())
	}
	if peak.Load() != workers {
		t.Errorf("at most %d calls in flight, want %d", peak.Load(), workers)
	}
	for _, l := range latencies {
		if l <= 0 || l > wall {
			t.Fatalf("latency %v outside (0, wall %v]", l, wall)
		}
	}
}

func TestTimeConcurrentlyStopsAtFirstError(t *testing.T) {
	denied := errors.New("denied")
	var calls atomic.Int64
	_, _, err := TimeConcurrently(context.Background(), 10000, 2, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 5 {
			return denied
		}
		return nil
	})
	if !errors.Is(err, denied) {
		t.Errorf("err = %v, want the create's error", err)
	}
	if calls.Load() >= 10000 {
		t.Errorf("all %d creates ran after an error", calls.Load())
	}
}

func TestLoadRunsUntilDone(t *testing.T) {
	done := make(chan struct{})
	var calls atomic.Int64
	n, err := Load(context.Background(), done, 3, func(ctx context.Context, i int) error {
		if calls.Add(1) == 1000 {
			close(done) // the profile is taken
		}
		return nil
	})
	if err != nil {
		t.Errorf("the end of the load is not an error: %v", err)
	}
	// The closing call and the ones in flight with it complete: at most
	// one more per other worker.
	if n < 1000 || n > 1002 || int64(n) != calls.Load() {
		t.Errorf("%d successful creates of %d calls, want 1000..1002, all of them", n, calls.Load())
	}

	failure := errors.New("apiserver said no")
	_, err = Load(context.Background(), make(chan struct{}), 3, func(ctx context.Context, i int) error {
		if i == 50 {
			return failure
		}
		return nil
	})
	if !errors.Is(err, failure) {
		t.Errorf("err = %v, want the create's error", err)
	}
}
