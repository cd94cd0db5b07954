package nodelogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"

	"github.com/kubenext/kubenext/pkg/features"
	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal"
)

// Query is a service log query as the kubelet validated it.
type Query = journal.Query

// openJournal and runningBoot are the node's; tests replace them.
var (
	openJournal = journal.Open
	runningBoot = journal.RunningBoot
)

// unavailable remembers, once per kubelet, that the gate is on and the
// journal cannot be read in process (no cgo, no libsystemd.so.0), so the
// error is logged once and every query after it takes upstream's path.
var unavailable struct {
	once sync.Once
	err  error
}

// InProcess reports whether this kubelet answers journal queries itself:
// the gate is on and sd-journal opens. When the gate is on and the journal
// cannot be opened, the kubelet says so once, at error level, and answers
// with journalctl, as upstream does; the answer then carries the
// Kubenext-Log-Source header saying so (see SourceHeader).
func InProcess() bool {
	if !utilfeature.DefaultFeatureGate.Enabled(features.NodeLogQueryInProcess) {
		return false
	}
	unavailable.once.Do(func() {
		r, err := openJournal()
		if err != nil {
			unavailable.err = err
			klog.ErrorS(err, "NodeLogQueryInProcess is on, but this kubelet cannot read the journal itself; node log queries run journalctl as upstream's do",
				"fix", "install libsystemd0 on the node (Debian, Ubuntu: apt-get install libsystemd0), or turn the gate off to silence this")
			return
		}
		_ = r.Close()
	})
	return unavailable.err == nil
}

// SourceHeader names how the kubelet answered a log query, so that a
// client can tell the in-process reader from journalctl.
const SourceHeader = "Kubenext-Log-Source"

// Source is the SourceHeader value for this kubelet, "" with the gate off.
func Source() string {
	switch {
	case !utilfeature.DefaultFeatureGate.Enabled(features.NodeLogQueryInProcess):
		return ""
	case InProcess():
		return "journal"
	default:
		return "journalctl (the journal cannot be read in process: " + unavailable.err.Error() + ")"
	}
}

// CopyJournal answers q from the journal, in place of upstream's
// journalctl command, and reports false when this kubelet does not answer
// in process (the caller then runs journalctl). A failure partway is
// written to w as upstream writes journalctl's failures: on a line of its
// own, after what was already sent.
func CopyJournal(ctx context.Context, w io.Writer, q Query) bool {
	if !InProcess() {
		return false
	}
	r, err := openJournal()
	if err != nil {
		fmt.Fprintf(w, "\nerror: journal output not available: %v\n", err)
		return true
	}
	defer func() { _ = r.Close() }()
	if err := journal.Copy(ctx, w, r, q, runningBoot); err != nil && !errors.Is(err, errOutputLimit) && ctx.Err() == nil {
		fmt.Fprintf(w, "\nerror: reading the journal: %v\n", err)
	}
	return true
}

// JournalKnowsUnit answers upstream's "does the journal have this unit"
// without running journalctl --field _SYSTEMD_UNIT; handled is false when
// this kubelet does not answer in process.
func JournalKnowsUnit(service string) (known, handled bool) {
	if !InProcess() {
		return false, false
	}
	r, err := openJournal()
	if err != nil {
		return false, true
	}
	defer func() { _ = r.Close() }()
	units, err := r.GetUniqueValues("_SYSTEMD_UNIT")
	if err != nil {
		return false, true
	}
	want := journal.UnitName(service)
	for _, u := range units {
		if u == want {
			return true, true
		}
	}
	return false, true
}
