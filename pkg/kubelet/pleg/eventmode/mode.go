// Package eventmode is evented PLEG as KEP-3386 designed it, on top of
// upstream 1.37's generic PLEG: while the CRI event stream is healthy, CRI
// container events drive per-pod relists (which update the pod cache and
// emit the lifecycle events) and the full relist runs every 300 s as a
// safety net. When the stream breaks or lags, the kubelet polls every
// second at once, reconnects with backoff for as long as it takes, and
// returns to events once the stream is healthy again.
//
// The generic PLEG stays the only writer of the pod cache and the only
// source of lifecycle events, and every relist inspects the runtime rather
// than trusting an event's payload. That is what keeps out the failures of
// the first evented PLEG (duplicate containers, static pods that never
// start, stale readiness): an event only says "look at this pod now".
//
// This file is the pure core: a state machine that the watcher (the I/O
// edge, watcher.go) feeds with what happens to the stream and that answers
// with what the PLEG must do.
package eventmode

import "time"

// Mode is how the kubelet learns about container changes.
type Mode int

const (
	// Polling: the generic relist every second (upstream's behaviour, and
	// ours whenever the event stream cannot be trusted).
	Polling Mode = iota
	// Events: CRI events trigger per-pod relists; the full relist is the
	// 300 s safety net.
	Events
)

func (m Mode) String() string {
	if m == Events {
		return "events"
	}
	return "polling"
}

// Config holds the timings. Zero fields take the defaults.
type Config struct {
	// PollPeriod is the full relist period while polling (upstream: 1 s).
	PollPeriod time.Duration
	// EventPeriod is the full relist period while events flow (KEP: 300 s).
	EventPeriod time.Duration
	// MaxLag is the oldest an event may be when it arrives before the
	// stream counts as lagging.
	MaxLag time.Duration
	// SettleTime is how long a reconnected or recovered stream must deliver
	// on time before the kubelet trusts it again.
	SettleTime time.Duration
	// BackoffInitial and BackoffMax bound the reconnect delay, which
	// doubles on every consecutive failure. Retries never stop.
	BackoffInitial, BackoffMax time.Duration
}

// DefaultConfig is the KEP's timing.
var DefaultConfig = Config{
	PollPeriod:     time.Second,
	EventPeriod:    300 * time.Second,
	MaxLag:         time.Second,
	SettleTime:     2 * time.Second,
	BackoffInitial: 100 * time.Millisecond,
	BackoffMax:     30 * time.Second,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	return Config{
		PollPeriod:     orDefault(c.PollPeriod, d.PollPeriod),
		EventPeriod:    orDefault(c.EventPeriod, d.EventPeriod),
		MaxLag:         orDefault(c.MaxLag, d.MaxLag),
		SettleTime:     orDefault(c.SettleTime, d.SettleTime),
		BackoffInitial: orDefault(c.BackoffInitial, d.BackoffInitial),
		BackoffMax:     orDefault(c.BackoffMax, d.BackoffMax),
	}
}

func orDefault(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// Decision is what the PLEG must do after an input.
type Decision struct {
	Mode Mode
	// RelistPeriod is the full relist period from now on.
	RelistPeriod time.Duration
	// RelistNow asks for a full relist at once: on leaving event mode, so
	// nothing the stream missed waits for the next period.
	RelistNow bool
	// Fallback is set when this input ended event mode.
	Fallback bool
	// Recovered is set when this input returned the kubelet to event mode
	// after the stream had failed: the stream is back and trusted. A
	// stream that opens and fails at once (containerd accepts connections
	// before its CRI service is up) is not a recovery.
	Recovered bool
}

// Controller is the mode state machine. It is not safe for concurrent use;
// the watcher serializes its inputs.
type Controller struct {
	cfg       Config
	mode      Mode
	failures  int // consecutive stream failures, for the backoff
	connected bool
	// recovering: the stream failed since event mode was last reached.
	recovering bool
	// connectedAt and lastLate bound the quiet period: the stream is
	// trusted SettleTime after both the connection and the last late event.
	connectedAt, lastLate time.Time
}

// New returns a controller in polling mode: nothing is trusted until the
// stream has connected and settled.
func New(cfg Config) *Controller {
	return &Controller{cfg: cfg.withDefaults()}
}

// Mode is the current mode.
func (c *Controller) Mode() Mode { return c.mode }

func (c *Controller) decide(fallback bool) Decision {
	d := Decision{Mode: c.mode, RelistPeriod: c.cfg.PollPeriod, Fallback: fallback, RelistNow: fallback}
	if c.mode == Events {
		d.RelistPeriod = c.cfg.EventPeriod
	}
	return d
}

func (c *Controller) fallBack() Decision {
	was := c.mode
	c.mode = Polling
	return c.decide(was == Events)
}

// Connected: the stream is open. Event mode starts only after SettleTime of
// timely delivery (see Tick), and the polling relists that run meanwhile
// catch whatever happened while the stream was down.
func (c *Controller) Connected(now time.Time) Decision {
	c.connected = true
	c.failures = 0
	c.connectedAt, c.lastLate = now, time.Time{}
	return c.decide(false)
}

// StreamFailed: the stream returned an error or closed. Polling resumes at
// once; the returned delay is how long to wait before reconnecting.
func (c *Controller) StreamFailed() (Decision, time.Duration) {
	c.connected = false
	c.recovering = true
	c.failures++
	delay := c.cfg.BackoffInitial
	for i := 1; i < c.failures && delay < c.cfg.BackoffMax; i++ {
		delay *= 2
	}
	if delay > c.cfg.BackoffMax {
		delay = c.cfg.BackoffMax
	}
	return c.fallBack(), delay
}

// Event: an event created at createdAt arrived at now. A late event means
// the runtime or the kubelet is overloaded; polling takes over until no
// event has been late for SettleTime. Right after a connection, late events
// are normal: containerd replays what it buffered while nobody listened.
// They delay event mode the same way but are not a fallback.
func (c *Controller) Event(now, createdAt time.Time) Decision {
	if now.Sub(createdAt) <= c.cfg.MaxLag {
		return c.decide(false)
	}
	c.lastLate = now
	return c.fallBack()
}

// Tick advances time: a stream connected and free of late events for
// SettleTime puts the kubelet in event mode. No event is needed for that:
// an idle node sends none.
func (c *Controller) Tick(now time.Time) Decision {
	quietSince := c.connectedAt
	if c.lastLate.After(quietSince) {
		quietSince = c.lastLate
	}
	if c.mode == Polling && c.connected && now.Sub(quietSince) >= c.cfg.SettleTime {
		c.mode = Events
		d := c.decide(false)
		d.Recovered, c.recovering = c.recovering, false
		return d
	}
	return c.decide(false)
}
