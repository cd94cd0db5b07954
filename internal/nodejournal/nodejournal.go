// Package nodejournal reads a node's systemd journal with full-resolution
// timestamps, for tests that time what a component did from its own
// records rather than from the API's one-second status times.
package nodejournal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// Entry is one journal record.
type Entry struct {
	// Time is when the component says it logged the line (logrus' and
	// klog's own stamp) when the line carries one, else when journald
	// received it.
	Time    time.Time
	Unit    string
	Message string
}

// Query selects entries.
type Query struct {
	Unit  string
	Since time.Time
	// Grep is a PCRE that MESSAGE must match (journalctl --grep).
	Grep string
}

func (q Query) args() []string {
	args := []string{"--no-pager", "-o", "json", "--output-fields=MESSAGE,_SYSTEMD_UNIT,__REALTIME_TIMESTAMP"}
	if q.Unit != "" {
		args = append(args, "-u", q.Unit)
	}
	if !q.Since.IsZero() {
		args = append(args, "--since", fmt.Sprintf("@%d.%06d", q.Since.Unix(), q.Since.Nanosecond()/1000))
	}
	if q.Grep != "" {
		args = append(args, "--grep", q.Grep)
	}
	return args
}

// Read returns the entries of q from node's journal, oldest first.
func Read(ctx context.Context, node exec.Cmder, q Query) ([]Entry, error) {
	out, err := exec.Output(node.Command(ctx, "journalctl", q.args()...))
	// journalctl --grep exits 1 when nothing matched.
	if err != nil && !(q.Grep != "" && exec.ExitCode(err) == 1 && len(bytes.TrimSpace(out)) == 0) {
		return nil, err
	}
	return Parse(out)
}

// Parse reads `journalctl -o json`, one object a line.
func Parse(out []byte) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var raw struct {
			Message  json.RawMessage `json:"MESSAGE"`
			Unit     string          `json:"_SYSTEMD_UNIT"`
			Realtime string          `json:"__REALTIME_TIMESTAMP"`
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("journal entry %.200s: %w", line, err)
		}
		us, err := strconv.ParseInt(raw.Realtime, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("journal entry without __REALTIME_TIMESTAMP: %.200s", line)
		}
		msg, err := message(raw.Message)
		if err != nil {
			return nil, err
		}
		e := Entry{Time: time.UnixMicro(us).UTC(), Unit: raw.Unit, Message: msg}
		if own, ok := ownTime(msg); ok {
			e.Time = own
		}
		entries = append(entries, e)
	}
	return entries, sc.Err()
}

// message: journald stores a MESSAGE that is not valid UTF-8 as an array
// of bytes.
func message(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var b []byte
	var ints []int
	if err := json.Unmarshal(raw, &ints); err != nil {
		return "", fmt.Errorf("journal MESSAGE %.100s: %w", raw, err)
	}
	for _, i := range ints {
		b = append(b, byte(i))
	}
	return string(b), nil
}

// logrus (containerd): time="2026-12-01T10:00:00.123456789Z" level=info ...
var logrusTime = regexp.MustCompile(`^time="([^"]+)"`)

func ownTime(msg string) (time.Time, bool) {
	m := logrusTime.FindStringSubmatch(msg)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, m[1])
	return t, err == nil
}
