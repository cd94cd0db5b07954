package nodelogs

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"

	"github.com/kubenext/kubenext/pkg/features"
)

// The load bounds of a kubelet with NodeLogQueryInProcess on. Each can be
// set in the kubelet's environment (a systemd drop-in on a machine):
//
//	KUBENEXT_NODE_LOG_MAX_QUERIES  log queries answered at once (default 8;
//	                               a follow holds its slot while it streams)
//	KUBENEXT_NODE_LOG_MAX_BYTES    what one answer may write (default 256 MiB)
//	KUBENEXT_NODE_LOG_MAX_FOLLOW   how long one follow streams (default 4h,
//	                               the kubelet's streamingConnectionIdleTimeout)
const (
	maxQueriesEnv     = "KUBENEXT_NODE_LOG_MAX_QUERIES"
	maxBytesEnv       = "KUBENEXT_NODE_LOG_MAX_BYTES"
	maxFollowEnv      = "KUBENEXT_NODE_LOG_MAX_FOLLOW"
	defaultMaxQueries = 8
	defaultMaxBytes   = 256 << 20
	defaultMaxFollow  = 4 * time.Hour
)

// Limits bounds the node log queries one kubelet serves.
type Limits struct {
	slots     chan struct{}
	MaxBytes  int64
	MaxFollow time.Duration
}

// NewLimits returns limits for maxQueries concurrent queries of at most
// maxBytes each.
func NewLimits(maxQueries int, maxBytes int64) *Limits {
	return &Limits{slots: make(chan struct{}, maxQueries), MaxBytes: maxBytes, MaxFollow: defaultMaxFollow}
}

// limitsFromEnv reads the environment once; a value that does not parse
// is reported and the default kept, so a typo cannot turn the bound off.
func limitsFromEnv(getenv func(string) string) *Limits {
	queries, bytes := defaultMaxQueries, int64(defaultMaxBytes)
	if v := getenv(maxQueriesEnv); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			queries = n
		} else {
			klog.ErrorS(nil, "ignoring a bad node log query limit; want a positive integer", "variable", maxQueriesEnv, "value", v, "using", queries)
		}
	}
	if v := getenv(maxBytesEnv); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			bytes = n
		} else {
			klog.ErrorS(nil, "ignoring a bad node log output limit; want a positive number of bytes", "variable", maxBytesEnv, "value", v, "using", bytes)
		}
	}
	l := NewLimits(queries, bytes)
	if v := getenv(maxFollowEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			l.MaxFollow = d
		} else {
			klog.ErrorS(nil, "ignoring a bad node log follow limit; want a positive duration such as 30m", "variable", maxFollowEnv, "value", v, "using", l.MaxFollow)
		}
	}
	return l
}

var kubeletLimits = limitsFromEnv(os.Getenv)

// Admit takes a query slot for one request, or answers it 429 when every
// slot is taken. With the gate off it admits everything, as upstream does.
// The caller defers release.
func Admit(w http.ResponseWriter) (release func(), ok bool) {
	if !utilfeature.DefaultFeatureGate.Enabled(features.NodeLogQueryInProcess) {
		return func() {}, true
	}
	return kubeletLimits.Admit(w)
}

// Admit is the package-level Admit for these limits.
func (l *Limits) Admit(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("too many node log queries: this kubelet answers %d at a time; retry shortly, or narrow the queries (tailLines, sinceTime) so they end sooner", cap(l.slots)), http.StatusTooManyRequests)
		return nil, false
	}
}

// errOutputLimit ends a query that wrote all it may.
var errOutputLimit = errors.New("node log output limit reached")

// LimitOutput caps what one answer writes. With the gate off it returns w.
func LimitOutput(w io.Writer) io.Writer {
	if !utilfeature.DefaultFeatureGate.Enabled(features.NodeLogQueryInProcess) {
		return w
	}
	return kubeletLimits.LimitOutput(w)
}

// LimitOutput is the package-level LimitOutput for these limits.
func (l *Limits) LimitOutput(w io.Writer) io.Writer {
	return &cappedWriter{w: w, left: l.MaxBytes, max: l.MaxBytes}
}

// cappedWriter writes up to its budget, then one line saying the answer
// was cut and how to ask for less, then refuses.
type cappedWriter struct {
	w         io.Writer
	left, max int64
	cut       bool
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.cut {
		return 0, errOutputLimit
	}
	if int64(len(p)) <= c.left {
		n, err := c.w.Write(p)
		c.left -= int64(n)
		return n, err
	}
	n, err := c.w.Write(p[:c.left])
	c.left -= int64(n)
	if err != nil {
		return n, err
	}
	c.cut = true
	fmt.Fprintf(c.w, "\n-- output cut at %d bytes (%s): narrow the query with tailLines, sinceTime or untilTime --\n", c.max, maxBytesEnv)
	return n, errOutputLimit
}

// Flush passes a flush through, so a following answer reaches the client.
func (c *cappedWriter) Flush() {
	if f, ok := c.w.(interface{ Flush() }); ok {
		f.Flush()
	}
}
