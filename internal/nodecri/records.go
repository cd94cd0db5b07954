package nodecri

import (
	"regexp"
	"strconv"
	"time"

	"github.com/kubenext/kubenext/internal/nodejournal"
)

// StopRequest is the kubelet asking the runtime to stop a container, as
// containerd's CRI service logs it on receipt.
type StopRequest struct {
	ContainerID string
	// Timeout is the grace period the kubelet passed: SIGTERM, then
	// SIGKILL this long after.
	Timeout time.Duration
	// At is when containerd logged it.
	At time.Time
}

// containerd: StopContainer for "<id>" with timeout 5 (s); inside logrus'
// msg="..." the quotes are escaped.
var stopRequest = regexp.MustCompile(`StopContainer for \\?"([0-9a-f]{12,64})\\?" with timeout (\d+) \(s\)`)

// StopRequestGrep is a journalctl --grep pattern for those lines.
const StopRequestGrep = `StopContainer for .* with timeout`

// ParseStopRequest reads one containerd log line.
func ParseStopRequest(line string) (StopRequest, bool) {
	m := stopRequest.FindStringSubmatch(line)
	if m == nil {
		return StopRequest{}, false
	}
	s, err := strconv.Atoi(m[2])
	if err != nil {
		return StopRequest{}, false
	}
	return StopRequest{ContainerID: m[1], Timeout: time.Duration(s) * time.Second}, true
}

// FirstStopRequests is the first request for each container among
// containerd's journal entries (a kubelet restart mid-termination asks
// again).
func FirstStopRequests(entries []nodejournal.Entry) map[string]StopRequest {
	first := map[string]StopRequest{}
	for _, e := range entries {
		r, ok := ParseStopRequest(e.Message)
		if !ok {
			continue
		}
		if _, seen := first[r.ContainerID]; !seen {
			r.At = e.Time
			first[r.ContainerID] = r
		}
	}
	return first
}
