package admissionbench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// TimeConcurrently calls create n times from workers goroutines (at most
// workers calls in flight), timing each call. It returns the latencies in
// order of completion and the wall time from the first call to the last
// return. The first error cancels the calls not yet started and is
// returned.
func TimeConcurrently(ctx context.Context, n, workers int, create func(ctx context.Context, i int) error) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := create(ctx, i)
				elapsed := time.Since(t0)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					latencies = append(latencies, elapsed)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return latencies, wall, firstErr
}

// Load calls create from workers goroutines until done is closed, to keep
// the server busy while a profile is taken. Calls in flight when done
// closes are let finish (cancelling them would only add noise to the
// client's log). It returns how many calls succeeded and the first error,
// which stops all workers.
func Load(ctx context.Context, done <-chan struct{}, workers int, create func(ctx context.Context, i int) error) (int, error) {
	var (
		next, succeeded atomic.Int64
		failed          = make(chan struct{})
		once            sync.Once
		firstErr        error
		wg              sync.WaitGroup
	)
	stopped := func() bool {
		select {
		case <-done:
			return true
		case <-failed:
			return true
		default:
			return false
		}
	}
	for range workers {
		wg.Go(func() {
			for !stopped() {
				if err := create(ctx, int(next.Add(1)-1)); err != nil {
					once.Do(func() { firstErr = err; close(failed) })
					return
				}
				succeeded.Add(1)
			}
		})
	}
	wg.Wait()
	return int(succeeded.Load()), firstErr
}
