package eventmode

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	kubeletmetrics "k8s.io/kubernetes/pkg/kubelet/metrics"
	"k8s.io/utils/clock"
)

// PLEG is what the watcher needs from upstream's generic PLEG: per-pod
// relists on demand, and the hook that hands it the relist control.
type PLEG interface {
	RequestRelist(logger klog.Logger, podUID types.UID)
	SetRelistControl(*RelistControl)
}

// eventBuffer absorbs bursts (pod churn) without blocking the CRI stream.
const eventBuffer = 1000

var errStreamClosed = errors.New("CRI container event stream closed without an error")

// Watcher is the I/O edge of event mode: it holds the CRI event stream,
// feeds the Controller, and applies its decisions to the generic PLEG.
type Watcher struct {
	runtime internalapi.RuntimeService
	pleg    PLEG
	clock   clock.WithTicker
	control *RelistControl

	mu         sync.Mutex // serializes Controller inputs
	controller *Controller
	startOnce  sync.Once
	ticker     clock.Ticker
	// backoff waits before a reconnect; false when ctx ended first.
	backoff func(ctx context.Context, d time.Duration) bool
}

// NewWatcher wires event mode into a generic PLEG. It must run before the
// PLEG starts. A PLEG without the hook (not upstream's generic PLEG) is a
// programming error, reported at startup rather than ignored.
func NewWatcher(runtime internalapi.RuntimeService, pleg any) *Watcher {
	p, ok := pleg.(PLEG)
	if !ok {
		panic("eventmode: the kubelet's PLEG has no SetRelistControl hook; is the kubenext pleg patch applied?")
	}
	return newWatcher(runtime, p, clock.RealClock{}, DefaultConfig)
}

func newWatcher(runtime internalapi.RuntimeService, p PLEG, clk clock.WithTicker, cfg Config) *Watcher {
	cfg = cfg.withDefaults()
	registerMetrics()
	// The tick drives both settling (Controller.Tick) and the cache
	// freshness stamp; a quarter of MaxLag keeps both prompt and cheap (no
	// runtime call is made on a tick).
	ticker := clk.NewTicker(cfg.MaxLag / 4)
	w := &Watcher{runtime: runtime, pleg: p, clock: clk, controller: New(cfg), ticker: ticker}
	w.backoff = func(ctx context.Context, d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-clk.After(d):
			return true
		}
	}
	w.control = NewRelistControl(cfg)
	p.SetRelistControl(w.control)
	w.apply(w.controller.decide(false))
	return w
}

// Start runs the watcher until ctx ends.
func (w *Watcher) Start(ctx context.Context) {
	w.startOnce.Do(func() {
		events := make(chan *runtimeapi.ContainerEventResponse, eventBuffer)
		go w.stream(ctx, events)
		go w.process(ctx, events)
	})
}

// stream keeps a GetContainerEvents stream open, reconnecting with backoff
// for as long as the kubelet runs. (Upstream gave up after 5 failures.)
func (w *Watcher) stream(ctx context.Context, events chan *runtimeapi.ContainerEventResponse) {
	logger := klog.FromContext(ctx)
	for {
		err := w.runtime.GetContainerEvents(ctx, events, func(runtimeapi.RuntimeService_GetContainerEventsClient) {
			kubeletmetrics.EventedPLEGConn.Inc()
			w.input(func(c *Controller) Decision { return c.Connected(w.clock.Now()) })
			logger.V(2).Info("Evented PLEG: CRI event stream connected")
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errStreamClosed
		}
		kubeletmetrics.EventedPLEGConnErr.Inc()
		var delay time.Duration
		w.input(func(c *Controller) Decision {
			d, backoff := c.StreamFailed()
			delay = backoff
			return d
		})
		logger.Info("Evented PLEG: CRI event stream failed; polling every second until it reconnects", "err", err, "retryIn", delay)
		if !w.backoff(ctx, delay) {
			return
		}
	}
}

// process turns events into per-pod relists and ticks into mode changes
// and cache freshness.
func (w *Watcher) process(ctx context.Context, events <-chan *runtimeapi.ContainerEventResponse) {
	logger := klog.FromContext(ctx)
	defer w.ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			w.handle(logger, ev)
		case <-w.ticker.C():
			w.input(func(c *Controller) Decision { return c.Tick(w.clock.Now()) })
			w.control.SignalFresh()
		}
	}
}

func (w *Watcher) handle(logger klog.Logger, ev *runtimeapi.ContainerEventResponse) {
	now := w.clock.Now()
	created := time.Unix(0, ev.CreatedAt)
	kubeletmetrics.EventedPLEGConnLatency.Observe(now.Sub(created).Seconds())
	w.input(func(c *Controller) Decision { return c.Event(now, created) })
	if ev.PodSandboxStatus == nil || ev.PodSandboxStatus.Metadata == nil {
		// The runtime could not say which pod (its sandbox is already
		// gone): relist everything rather than drop the change.
		logger.V(4).Info("Evented PLEG: event without a pod; full relist", "containerID", ev.ContainerId, "type", ev.ContainerEventType)
		w.control.RequestRelist()
		return
	}
	uid := types.UID(ev.PodSandboxStatus.Metadata.Uid)
	logger.V(5).Info("Evented PLEG: relisting pod", "podUID", uid, "containerID", ev.ContainerId, "type", ev.ContainerEventType)
	w.pleg.RequestRelist(logger, uid)
}

// input runs one Controller input and applies its decision.
func (w *Watcher) input(fn func(*Controller) Decision) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.apply(fn(w.controller))
}

func (w *Watcher) apply(d Decision) {
	w.control.Apply(d)
	// Counters before the gauge: whoever sees the mode change also sees
	// what caused it.
	if d.Fallback {
		fallbacks.Inc()
	}
	if d.Recovered {
		reconnects.Inc()
	}
	if d.Mode == Events {
		modeGauge.Set(1)
	} else {
		modeGauge.Set(0)
	}
}

// Mode reports the current mode (tests, debugging).
func (w *Watcher) Mode() Mode {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.controller.Mode()
}
