package nodelogs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"

	"github.com/kubenext/kubenext/pkg/features"
	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal"
)

// countingJournal records how many handles are open, to show that every
// query closes what it opened.
type countingJournal struct {
	journal.Reader
	open *int
	mu   *sync.Mutex
}

func (c countingJournal) Close() error {
	c.mu.Lock()
	*c.open--
	c.mu.Unlock()
	return nil
}

// emptyJournal has no entries at all.
type emptyJournal struct{}

func (emptyJournal) AddMatch(string) error               { return nil }
func (emptyJournal) AddDisjunction() error               { return nil }
func (emptyJournal) AddConjunction() error               { return nil }
func (emptyJournal) FlushMatches()                       {}
func (emptyJournal) SeekHead() error                     { return nil }
func (emptyJournal) SeekTail() error                     { return nil }
func (emptyJournal) SeekRealtimeUsec(uint64) error       { return nil }
func (emptyJournal) Next() (uint64, error)               { return 0, nil }
func (emptyJournal) Previous() (uint64, error)           { return 0, nil }
func (emptyJournal) PreviousSkip(uint64) (uint64, error) { return 0, nil }
func (emptyJournal) GetDataValue(string) (string, error) { return "", errors.New("no entry") }
func (emptyJournal) GetRealtimeUsec() (uint64, error)    { return 0, errors.New("no entry") }
func (emptyJournal) GetUniqueValues(string) ([]string, error) {
	return []string{"kubelet.service"}, nil
}
func (emptyJournal) Wait(time.Duration) int { return 0 }
func (emptyJournal) Close() error           { return nil }

func withJournal(t *testing.T, open func() (journal.Reader, error)) {
	t.Helper()
	saved := openJournal
	openJournal = open
	unavailable.once, unavailable.err = sync.Once{}, nil
	t.Cleanup(func() {
		openJournal = saved
		unavailable.once, unavailable.err = sync.Once{}, nil
	})
}

func TestGateOffLeavesUpstreamsPath(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.NodeLogQueryInProcess, false)
	withJournal(t, func() (journal.Reader, error) { t.Fatal("the journal was opened with the gate off"); return nil, nil })
	var out strings.Builder
	if CopyJournal(context.Background(), &out, Query{Services: []string{"kubelet"}}) {
		t.Error("CopyJournal answered with the gate off")
	}
	if _, handled := JournalKnowsUnit("kubelet"); handled {
		t.Error("JournalKnowsUnit answered with the gate off")
	}
	if Source() != "" {
		t.Errorf("Source() = %q with the gate off", Source())
	}
	if w := (&strings.Builder{}); LimitOutput(w) != w {
		t.Error("LimitOutput wrapped the writer with the gate off")
	}
}

func TestMissingLibsystemdFallsBackToJournalctlAndSaysSo(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.NodeLogQueryInProcess, true)
	opened := 0
	withJournal(t, func() (journal.Reader, error) {
		opened++
		return nil, errors.New("libsystemd.so.0: cannot open shared object file")
	})
	for range 3 {
		if CopyJournal(context.Background(), &strings.Builder{}, Query{Services: []string{"kubelet"}}) {
			t.Fatal("CopyJournal answered without a journal; upstream's journalctl path must")
		}
	}
	if opened != 1 {
		t.Errorf("the journal was tried %d times; once per kubelet is enough", opened)
	}
	if s := Source(); !strings.HasPrefix(s, "journalctl (") || !strings.Contains(s, "libsystemd.so.0") {
		t.Errorf("Source() = %q; it must say journalctl and why", s)
	}
}

func TestInProcessAnswersAndClosesEveryHandle(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.NodeLogQueryInProcess, true)
	var mu sync.Mutex
	open := 0
	withJournal(t, func() (journal.Reader, error) {
		mu.Lock()
		open++
		mu.Unlock()
		return countingJournal{Reader: emptyJournal{}, open: &open, mu: &mu}, nil
	})
	var out strings.Builder
	if !CopyJournal(context.Background(), &out, Query{Services: []string{"kubelet"}}) {
		t.Fatal("CopyJournal did not answer with the gate on and a journal")
	}
	if out.String() != "-- No entries --\n" {
		t.Errorf("got %q", out.String())
	}
	if known, handled := JournalKnowsUnit("kubelet"); !known || !handled {
		t.Errorf("JournalKnowsUnit(kubelet) = %v, %v", known, handled)
	}
	if known, _ := JournalKnowsUnit("mykubelet"); known {
		t.Error("mykubelet is not kubelet.service")
	}
	// 1,000 queries abandoned by their clients: every handle is closed.
	for range 1000 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		CopyJournal(ctx, &strings.Builder{}, Query{Services: []string{"kubelet"}})
	}
	if open != 0 {
		t.Errorf("%d journal handles left open", open)
	}
	if Source() != "journal" {
		t.Errorf("Source() = %q", Source())
	}
}

func TestAdmitRefusesBeyondTheLimit(t *testing.T) {
	l := NewLimits(2, 1<<20)
	var releases []func()
	for range 2 {
		release, ok := l.Admit(httptest.NewRecorder())
		if !ok {
			t.Fatal("refused below the limit")
		}
		releases = append(releases, release)
	}
	rec := httptest.NewRecorder()
	if _, ok := l.Admit(rec); ok {
		t.Fatal("admitted beyond the limit")
	}
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "2 at a time") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("refusal: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	releases[0]()
	if _, ok := l.Admit(httptest.NewRecorder()); !ok {
		t.Error("a released slot was not reused")
	}
}

func TestLimitOutputCutsWithAMessage(t *testing.T) {
	var out strings.Builder
	w := NewLimits(1, 10).LimitOutput(&out)
	if n, err := w.Write([]byte("12345")); n != 5 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if n, err := w.Write([]byte("6789abcdef")); n != 5 || !errors.Is(err, errOutputLimit) {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := w.Write([]byte("more")); !errors.Is(err, errOutputLimit) {
		t.Fatal("wrote past the limit")
	}
	if got := out.String(); !strings.HasPrefix(got, "123456789a\n-- output cut at 10 bytes") || strings.Count(got, "cut") != 1 {
		t.Errorf("got %q", got)
	}
}

func TestLimitsFromEnv(t *testing.T) {
	env := map[string]string{maxQueriesEnv: "3", maxBytesEnv: "4096"}
	l := limitsFromEnv(func(k string) string { return env[k] })
	if cap(l.slots) != 3 || l.MaxBytes != 4096 {
		t.Errorf("got %d queries, %d bytes", cap(l.slots), l.MaxBytes)
	}
	env = map[string]string{maxQueriesEnv: "0", maxBytesEnv: "lots"}
	l = limitsFromEnv(func(k string) string { return env[k] })
	if cap(l.slots) != defaultMaxQueries || l.MaxBytes != defaultMaxBytes {
		t.Errorf("bad values must keep the defaults: got %d, %d", cap(l.slots), l.MaxBytes)
	}
}

func TestServeFollowRefusesWhatCannotBeFollowed(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.NodeLogQueryInProcess, true)
	withJournal(t, func() (journal.Reader, error) { return emptyJournal{}, nil })
	until := time.Now()
	for name, c := range map[string]struct {
		files []string
		q     Query
		says  string
	}{
		"a file":    {[]string{"/var/log/dpkg.log"}, Query{}, "not files"},
		"no unit":   {nil, Query{}, "name a service"},
		"untilTime": {nil, Query{Services: []string{"kubelet"}, UntilTime: &until}, "untilTime"},
	} {
		rec := httptest.NewRecorder()
		ServeFollow(rec, httptest.NewRequest(http.MethodGet, "/logs/?follow=true", nil), c.files, c.q)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.says) {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Body.String())
		}
	}
}

func TestServeFollowStreamsUntilTheClientLeaves(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.NodeLogQueryInProcess, true)
	withJournal(t, func() (journal.Reader, error) { return emptyJournal{}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/logs/?query=kubelet&follow=true", nil).WithContext(ctx)
	if !FollowRequested(req) {
		t.Fatal("follow=true with the gate on and a journal must stream")
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		ServeFollow(rec, req, nil, Query{Services: []string{"kubelet"}})
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the follow went on after its client left")
	}
	if rec.Header().Get(FollowHeader) != "stream" || rec.Code != http.StatusOK {
		t.Errorf("%d %v", rec.Code, rec.Header())
	}
}

func TestAbandonedFollowsLeaveNoGoroutine(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.NodeLogQueryInProcess, true)
	var mu sync.Mutex
	open := 0
	withJournal(t, func() (journal.Reader, error) {
		mu.Lock()
		open++
		mu.Unlock()
		return countingJournal{Reader: emptyJournal{}, open: &open, mu: &mu}, nil
	})
	before := runtime.NumGoroutine()
	for range 1000 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequest(http.MethodGet, "/logs/?query=kubelet&follow=true", nil).WithContext(ctx)
		ServeFollow(httptest.NewRecorder(), req, nil, Query{Services: []string{"kubelet"}})
	}
	if open != 0 {
		t.Errorf("%d journal handles left open by 1,000 abandoned follows", open)
	}
	// Nothing is started in the background; allow the runtime's own.
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("%d goroutines after 1,000 abandoned follows, %d before", after, before)
	}
}
