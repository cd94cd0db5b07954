package eventmode

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestStartsPollingAndTrustsTheStreamOnlyAfterItSettles(t *testing.T) {
	c := New(Config{})
	if d := c.Tick(t0); d.Mode != Polling || d.RelistPeriod != time.Second {
		t.Fatalf("before any stream: %+v, want polling every 1s", d)
	}
	c.Connected(t0)
	if d := c.Tick(t0.Add(time.Second)); d.Mode != Polling {
		t.Fatalf("1s after connecting: %+v, want still polling (settle time 2s)", d)
	}
	d := c.Tick(t0.Add(2 * time.Second))
	if d.Mode != Events || d.RelistPeriod != 300*time.Second || d.RelistNow {
		t.Fatalf("after settling: %+v, want events with a 300s relist", d)
	}
}

func TestStreamFailureFallsBackAtOnce(t *testing.T) {
	c := inEventMode(t)
	d, delay := c.StreamFailed()
	if d.Mode != Polling || d.RelistPeriod != time.Second || !d.RelistNow || !d.Fallback {
		t.Errorf("on failure: %+v, want polling every 1s with an immediate relist", d)
	}
	if delay != 100*time.Millisecond {
		t.Errorf("first reconnect delay = %v, want 100ms", delay)
	}
	// A second failure while already polling is not another fallback.
	if d, _ := c.StreamFailed(); d.Fallback || d.RelistNow {
		t.Errorf("failure while polling: %+v, want no new fallback", d)
	}
}

// Upstream disabled the feature for good after 5 stream errors (k/k#129827).
func TestReconnectsForeverWithCappedBackoff(t *testing.T) {
	c := New(Config{})
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}
	for i, w := range want {
		_, delay := c.StreamFailed()
		if delay != w*time.Millisecond {
			t.Errorf("failure %d: delay %v, want %v", i+1, delay, w*time.Millisecond)
		}
	}
	for range 100 {
		c.StreamFailed()
	}
	c.Connected(t0)
	if d := c.Tick(t0.Add(2 * time.Second)); d.Mode != Events {
		t.Fatalf("after 111 failures and a reconnect: %+v, want events again", d)
	}
	if _, delay := c.StreamFailed(); delay != 100*time.Millisecond {
		t.Errorf("a successful connection resets the backoff; got %v", delay)
	}
}

func TestLateEventFallsBackUntilTheStreamIsOnTimeAgain(t *testing.T) {
	c := inEventMode(t)
	now := t0.Add(10 * time.Second)
	if d := c.Event(now, now.Add(-500*time.Millisecond)); d.Mode != Events {
		t.Fatalf("event 500ms late: %+v, want events (lag limit 1s)", d)
	}
	d := c.Event(now, now.Add(-1500*time.Millisecond))
	if d.Mode != Polling || !d.Fallback || !d.RelistNow {
		t.Fatalf("event 1.5s late: %+v, want fallback to polling", d)
	}
	c.Event(now.Add(time.Second), now.Add(-time.Second)) // late again
	if d := c.Tick(now.Add(2500 * time.Millisecond)); d.Mode != Polling {
		t.Fatalf("1.5s after the last late event: %+v, want polling", d)
	}
	if d := c.Tick(now.Add(3 * time.Second)); d.Mode != Events {
		t.Fatalf("2s after the last late event: %+v, want events", d)
	}
}

// containerd buffers events while no client listens and replays them on
// connect; an idle node then sends nothing more. Event mode must still
// start (the first version waited for a timely event and stayed polling).
func TestReplayedBacklogOnConnectDelaysButDoesNotBlockEventMode(t *testing.T) {
	c := New(Config{})
	c.Connected(t0)
	for i := range 50 {
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		if d := c.Event(now, now.Add(-time.Hour)); d.Fallback {
			t.Fatalf("replayed event %d counted as a fallback", i)
		}
	}
	last := t0.Add(490 * time.Millisecond)
	if d := c.Tick(last.Add(1900 * time.Millisecond)); d.Mode != Polling {
		t.Fatalf("still within the settle time of the backlog: %+v", d)
	}
	if d := c.Tick(last.Add(2 * time.Second)); d.Mode != Events {
		t.Fatalf("2s after the backlog, no further events: %+v, want events", d)
	}
}

func inEventMode(t *testing.T) *Controller {
	t.Helper()
	c := New(Config{})
	c.Connected(t0)
	if d := c.Tick(t0.Add(2 * time.Second)); d.Mode != Events {
		t.Fatalf("setup: %+v", d)
	}
	return c
}

func TestRecoveredOncePerStreamFailure(t *testing.T) {
	c := New(Config{})
	c.Connected(t0)
	if d := c.Tick(t0.Add(2 * time.Second)); d.Mode != Events || d.Recovered {
		t.Fatalf("first event mode at start-up: %+v, want events and no recovery", d)
	}
	// containerd restarts: the stream breaks, an attempt opens and fails
	// at once (CRI not up yet), the next one holds.
	now := t0.Add(10 * time.Second)
	c.StreamFailed()
	c.Connected(now)
	c.StreamFailed()
	if d := c.Tick(now.Add(time.Second)); d.Recovered {
		t.Fatalf("no stream is up: %+v", d)
	}
	c.Connected(now.Add(2 * time.Second))
	if d := c.Tick(now.Add(3 * time.Second)); d.Mode != Polling || d.Recovered {
		t.Fatalf("not settled yet: %+v", d)
	}
	recovered := 0
	for i := range 8 {
		if d := c.Tick(now.Add(4*time.Second + time.Duration(i)*250*time.Millisecond)); d.Recovered {
			recovered++
		}
	}
	if recovered != 1 || c.Mode() != Events {
		t.Fatalf("%d recoveries (mode %v) for one restart, want exactly 1", recovered, c.Mode())
	}
	// A late event is a fallback, and coming back from it is no recovery:
	// the stream never failed.
	late := now.Add(10 * time.Second)
	if d := c.Event(late, late.Add(-5*time.Second)); !d.Fallback {
		t.Fatalf("a 5 s late event: %+v, want a fallback", d)
	}
	if d := c.Tick(late.Add(3 * time.Second)); d.Mode != Events || d.Recovered {
		t.Fatalf("back from a late event: %+v, want events and no recovery", d)
	}
}
