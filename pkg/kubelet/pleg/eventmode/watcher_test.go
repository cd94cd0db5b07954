package eventmode

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	testingclock "k8s.io/utils/clock/testing"
)

// session scripts one GetContainerEvents call: connect (or fail at once),
// deliver events, then end with err when ended is closed.
type session struct {
	connect bool
	events  []*runtimeapi.ContainerEventResponse
	ended   chan struct{}
	err     error
}

// scriptedRuntime is a CRI runtime whose event stream follows a script.
// Only GetContainerEvents is implemented.
type scriptedRuntime struct {
	internalapi.RuntimeService
	sessions chan session
	calls    chan struct{}
}

func (r *scriptedRuntime) GetContainerEvents(ctx context.Context, ch chan *runtimeapi.ContainerEventResponse, connected func(runtimeapi.RuntimeService_GetContainerEventsClient)) error {
	r.calls <- struct{}{}
	var s session
	select {
	case s = <-r.sessions:
	case <-ctx.Done():
		return ctx.Err()
	}
	if !s.connect {
		return s.err
	}
	connected(nil)
	for _, ev := range s.events {
		ch <- ev
	}
	select {
	case <-s.ended:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type recordingPLEG struct {
	mu       sync.Mutex
	relisted []types.UID
	control  *RelistControl
}

func (p *recordingPLEG) RequestRelist(_ klog.Logger, uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.relisted = append(p.relisted, uid)
}

func (p *recordingPLEG) SetRelistControl(c *RelistControl) { p.control = c }

func (p *recordingPLEG) relists() []types.UID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]types.UID(nil), p.relisted...)
}

func event(uid string, typ runtimeapi.ContainerEventType, created time.Time) *runtimeapi.ContainerEventResponse {
	ev := &runtimeapi.ContainerEventResponse{ContainerId: "c-" + uid, ContainerEventType: typ, CreatedAt: created.UnixNano()}
	if uid != "" {
		ev.PodSandboxStatus = &runtimeapi.PodSandboxStatus{Metadata: &runtimeapi.PodSandboxMetadata{Uid: uid}}
	}
	return ev
}

type harness struct {
	t       *testing.T
	clock   *testingclock.FakeClock
	runtime *scriptedRuntime
	pleg    *recordingPLEG
	watcher *Watcher
	delays  chan time.Duration // reconnect backoffs the watcher asked for
}

func newHarness(t *testing.T) *harness {
	h := &harness{
		t:       t,
		clock:   testingclock.NewFakeClock(t0),
		runtime: &scriptedRuntime{sessions: make(chan session), calls: make(chan struct{}, 100)},
		pleg:    &recordingPLEG{},
	}
	h.watcher = newWatcher(h.runtime, h.pleg, h.clock, Config{})
	h.delays = make(chan time.Duration, 100)
	h.watcher.backoff = func(_ context.Context, d time.Duration) bool { h.delays <- d; return true }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.watcher.Start(ctx)
	return h
}

// eventually waits (with a timeout, never a fixed sleep) for cond.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		h.t.Fatalf("timed out waiting for %s", what)
	}
}

// play hands the next script to the runtime once the watcher asks for it.
func (h *harness) play(s session) {
	h.t.Helper()
	select {
	case <-h.runtime.calls:
	case <-time.After(10 * time.Second):
		h.t.Fatal("the watcher never (re)opened the event stream")
	}
	h.runtime.sessions <- s
}

// settle advances the fake clock past the settle time in tick-sized steps.
func (h *harness) settle() {
	for range 12 {
		h.clock.Step(250 * time.Millisecond)
	}
}

func TestEveryEventTypeRelistsItsPod(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	h.play(session{connect: true, ended: make(chan struct{}), events: []*runtimeapi.ContainerEventResponse{
		event("pod-a", runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, now),
		event("pod-a", runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, now),
		event("pod-b", runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, now),
		event("pod-b", runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, now),
	}})
	h.eventually("four relists", func() bool { return len(h.pleg.relists()) == 4 })
	want := []types.UID{"pod-a", "pod-a", "pod-b", "pod-b"}
	for i, uid := range h.pleg.relists() {
		if uid != want[i] {
			t.Errorf("relist %d = %s, want %s", i, uid, want[i])
		}
	}
}

func TestEventWithoutAPodTriggersAFullRelist(t *testing.T) {
	h := newHarness(t)
	h.play(session{connect: true, ended: make(chan struct{}), events: []*runtimeapi.ContainerEventResponse{
		event("", runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, h.clock.Now()),
	}})
	select {
	case <-h.pleg.control.Wake():
	case <-time.After(10 * time.Second):
		t.Fatal("no full relist was requested for an event without a sandbox")
	}
}

func TestStreamFailuresFallBackAndRecoverWithoutLimit(t *testing.T) {
	h := newHarness(t)
	end := make(chan struct{})
	h.play(session{connect: true, ended: end, err: errors.New("containerd restarted")})
	h.eventually("event mode after settling", func() bool { h.settle(); return h.watcher.Mode() == Events })
	if p := h.pleg.control.Period(time.Second); p != 300*time.Second {
		t.Fatalf("relist period in event mode = %v, want 300s", p)
	}

	close(end) // the stream breaks
	h.eventually("fallback to polling", func() bool { return h.watcher.Mode() == Polling })
	if p := h.pleg.control.Period(time.Second); p != time.Second {
		t.Errorf("relist period after the fallback = %v, want 1s", p)
	}
	select {
	case <-h.pleg.control.Wake():
	default:
		t.Error("the fallback did not request an immediate full relist")
	}

	// Ten failed reconnects, more than upstream's limit of five, each
	// waiting longer than the last (up to the cap).
	if d := <-h.delays; d != 100*time.Millisecond {
		t.Errorf("first backoff %v, want 100ms", d)
	}
	last := 100 * time.Millisecond
	for i := range 10 {
		h.play(session{err: errors.New("connection refused")})
		d := <-h.delays
		if d <= last && d != 30*time.Second {
			t.Errorf("attempt %d: backoff %v after %v, want growth up to 30s", i, d, last)
		}
		last = d
		if h.watcher.Mode() != Polling {
			t.Fatalf("attempt %d: mode %v while the runtime is down", i, h.watcher.Mode())
		}
	}
	h.play(session{connect: true, ended: make(chan struct{})})
	h.eventually("event mode again", func() bool { h.settle(); return h.watcher.Mode() == Events })
}

func TestFreshnessStampOnlyInEventMode(t *testing.T) {
	h := newHarness(t)
	if got := h.pleg.control.FreshAsOf(h.clock.Now()); !got.IsZero() {
		t.Fatalf("polling: fresh as of %v, want zero", got)
	}
	h.play(session{connect: true, ended: make(chan struct{})})
	h.eventually("event mode", func() bool { h.settle(); return h.watcher.Mode() == Events })
	now := h.clock.Now()
	if got := h.pleg.control.FreshAsOf(now); !got.Equal(now.Add(-time.Second)) {
		t.Errorf("events: fresh as of %v, want %v", got, now.Add(-time.Second))
	}
	select {
	case <-h.pleg.control.FreshTicks():
	case <-time.After(10 * time.Second):
		t.Error("no freshness tick in event mode")
	}
}
