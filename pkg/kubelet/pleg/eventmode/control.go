package eventmode

import (
	"sync/atomic"
	"time"
)

// RelistControl is the generic PLEG's side of event mode: upstream's
// pkg/kubelet/pleg consults it through a few hooked lines. A nil
// *RelistControl keeps upstream's behaviour exactly (gate off).
type RelistControl struct {
	periodNanos atomic.Int64
	events      atomic.Bool // current mode is Events
	maxLag      time.Duration
	wake        chan struct{}
	fresh       chan struct{}
}

// NewRelistControl returns a control in polling mode; its driver (the
// Watcher) calls Apply, RequestRelist and SignalFresh.
func NewRelistControl(cfg Config) *RelistControl {
	cfg = cfg.withDefaults()
	c := &RelistControl{maxLag: cfg.MaxLag, wake: make(chan struct{}, 1), fresh: make(chan struct{}, 1)}
	c.periodNanos.Store(int64(cfg.PollPeriod))
	return c
}

// Period is the full relist period to arm the timer with.
func (c *RelistControl) Period(upstream time.Duration) time.Duration {
	if c == nil {
		return upstream
	}
	return time.Duration(c.periodNanos.Load())
}

// Threshold is how long the PLEG may go without a full relist before the
// kubelet reports it unhealthy: upstream's threshold on top of the current
// period, so a 300 s safety-net period is not "PLEG is not healthy".
func (c *RelistControl) Threshold(upstream time.Duration) time.Duration {
	if c == nil {
		return upstream
	}
	return upstream + c.Period(upstream)
}

// Wake delivers a request for an immediate full relist (on fallback to
// polling). A nil control returns a nil channel, which never fires.
func (c *RelistControl) Wake() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.wake
}

// FreshTicks fires when the PLEG should consider stamping its cache fresh
// (see FreshAsOf). Nil for a nil control.
func (c *RelistControl) FreshTicks() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.fresh
}

// FreshAsOf is the time the PLEG may stamp the whole cache with, when its
// queue of per-pod relists is empty; zero means "not now". Pod workers wait
// for the cache to be newer than their last sync; without full relists
// every second, this stamp is what releases a worker whose sync changed
// nothing in the runtime.
func (c *RelistControl) FreshAsOf(now time.Time) time.Time {
	if c == nil || !c.events.Load() {
		return time.Time{}
	}
	return now.Add(-c.maxLag)
}

// FreshStamp is what the PLEG stamps its cache with on a freshness tick,
// and whether to stamp at all: not while per-pod relists are queued or a
// full relist is pending (their results are not in the cache yet), and
// never behind the last full relist, which stamped the cache itself.
func (c *RelistControl) FreshStamp(now time.Time, queuedPodRelists int, lastRelist time.Time) (time.Time, bool) {
	t := c.FreshAsOf(now)
	if t.IsZero() || queuedPodRelists > 0 || len(c.Wake()) > 0 || !t.After(lastRelist) {
		return time.Time{}, false
	}
	return t, true
}

// Apply sets the period and mode a controller Decision asks for.
func (c *RelistControl) Apply(d Decision) {
	c.periodNanos.Store(int64(d.RelistPeriod))
	c.events.Store(d.Mode == Events)
	if d.RelistNow {
		c.RequestRelist()
	}
}

// SignalFresh prompts a freshness check; signals coalesce.
func (c *RelistControl) SignalFresh() {
	select {
	case c.fresh <- struct{}{}:
	default:
	}
}

// RequestRelist asks for a full relist; requests coalesce. The PLEG calls
// it when a per-pod relist fails, since in event mode no full relist is due
// for minutes. A no-op on a nil control.
func (c *RelistControl) RequestRelist() {
	if c == nil {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
