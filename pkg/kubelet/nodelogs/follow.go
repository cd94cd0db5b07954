package nodelogs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/klog/v2"

	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal"
)

// FollowHeader tells a client that the answer streams: it stays open and
// carries new journal entries as they come.
const FollowHeader = "Kubenext-Log-Follow"

// FollowRequested reports whether req asks to follow (follow=true) and this
// kubelet can stream it. Otherwise the parameter is ignored, as upstream's
// kubelet ignores it, and the client gets the usual answer.
func FollowRequested(req *http.Request) bool {
	return req.URL.Query().Get("follow") == "true" && InProcess()
}

// ServeFollow answers a follow request for services: their lines, then
// each new matching entry, until the client goes away or the kubelet's
// bound on a streaming answer passes. It refuses, with 400 and the fix,
// what cannot be followed.
func ServeFollow(w http.ResponseWriter, req *http.Request, files []string, q Query) {
	switch {
	case len(files) > 0:
		http.Error(w, "follow=true: only journal queries can be followed, not files; query a service, or drop follow", InvalidQueryStatus)
		return
	case len(q.Services) == 0:
		http.Error(w, "follow=true: name a service to follow in query", InvalidQueryStatus)
		return
	case q.UntilTime != nil:
		http.Error(w, "follow=true: untilTime ends what follow keeps open; drop one of them", InvalidQueryStatus)
		return
	}
	r, err := openJournal()
	if err != nil {
		http.Error(w, "the journal cannot be read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer func() { _ = r.Close() }()
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.Header().Set(SourceHeader, "journal")
	w.Header().Set(FollowHeader, "stream")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(req.Context(), kubeletLimits.MaxFollow)
	defer cancel()
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	out := kubeletLimits.LimitOutput(w)
	if err := journal.Follow(ctx, out, flush, r, q, runningBoot); err != nil && !errors.Is(err, errOutputLimit) && ctx.Err() == nil {
		fmt.Fprintf(out, "\nerror: reading the journal: %v\n", err)
		klog.ErrorS(err, "Following the journal for a node log query", "services", q.Services)
	}
	if ctx.Err() == context.DeadlineExceeded {
		fmt.Fprintf(out, "\n-- follow ended after %v (%s): ask again to go on --\n", kubeletLimits.MaxFollow, maxFollowEnv)
	}
	flush()
}
