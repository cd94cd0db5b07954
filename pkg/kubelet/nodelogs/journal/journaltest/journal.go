// Package journaltest is an in-memory systemd journal for tests of the
// kubelet's in-process log queries: the sd-journal calls they make, with
// sd-journal's match and cursor semantics.
package journaltest

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Journal is an in-memory journal with sd-journal's match and cursor
// semantics: matches on one field are ORed, on different fields ANDed, a
// disjunction ORs what came before with what follows, a conjunction ANDs.
// Each entry is a field map; "__REALTIME" holds its time in microseconds.
type Journal struct {
	entries []map[string]string // in journal order; "__REALTIME" holds the time
	levels  [][]map[string][]string
	cur     int // index of the current entry, or -1
	gap     int // with cur == -1: Next looks from gap, Previous before it
	closed  bool
	// appended wakes Wait; Append is called from the reader's goroutine
	// (a flush callback), as the journal is not safe for concurrent use.
	appended chan struct{}
}

// New returns a journal of entries, in journal order.
func New(entries ...map[string]string) *Journal {
	return &Journal{entries: entries, cur: -1, appended: make(chan struct{}, 1)}
}

// Append adds an entry at the end, as journald does, and wakes Wait.
func (j *Journal) Append(e map[string]string) {
	j.entries = append(j.entries, e)
	select {
	case j.appended <- struct{}{}:
	default:
	}
}

// Closed reports whether Close was called.
func (j *Journal) Closed() bool { return j.closed }

func (j *Journal) AddMatch(m string) error {
	field, value, ok := strings.Cut(m, "=")
	if !ok || field == "" {
		return syscall.EINVAL
	}
	if len(j.levels) == 0 {
		j.levels = [][]map[string][]string{{{}}}
	}
	level := j.levels[len(j.levels)-1]
	term := level[len(level)-1]
	term[field] = append(term[field], value)
	return nil
}

func (j *Journal) AddDisjunction() error {
	if n := len(j.levels); n > 0 {
		level := j.levels[n-1]
		if len(level[len(level)-1]) > 0 {
			j.levels[n-1] = append(level, map[string][]string{})
		}
	}
	return nil
}

func (j *Journal) AddConjunction() error {
	if n := len(j.levels); n > 0 {
		j.levels = append(j.levels, []map[string][]string{{}})
	}
	return nil
}

func (j *Journal) FlushMatches() { j.levels = nil }

func (j *Journal) matches(e map[string]string) bool {
	for _, level := range j.levels {
		any, empty := false, true
		for _, term := range level {
			if len(term) == 0 {
				continue
			}
			empty = false
			all := true
			for field, values := range term {
				found := false
				for _, v := range values {
					if e[field] == v {
						found = true
					}
				}
				all = all && found
			}
			any = any || all
		}
		if !empty && !any {
			return false
		}
	}
	return true
}

func (j *Journal) SeekHead() error { j.cur, j.gap = -1, 0; return nil }
func (j *Journal) SeekTail() error { j.cur, j.gap = -1, len(j.entries); return nil }

func (j *Journal) SeekRealtimeUsec(u uint64) error {
	j.cur, j.gap = -1, len(j.entries)
	for i, e := range j.entries {
		if realtimeOf(e) >= u {
			j.gap = i
			break
		}
	}
	return nil
}

func (j *Journal) Next() (uint64, error) {
	from := j.gap
	if j.cur >= 0 {
		from = j.cur + 1
	}
	for i := from; i < len(j.entries); i++ {
		if j.matches(j.entries[i]) {
			j.cur = i
			return 1, nil
		}
	}
	return 0, nil
}

func (j *Journal) Previous() (uint64, error) {
	before := j.gap
	if j.cur >= 0 {
		before = j.cur
	}
	for i := before - 1; i >= 0; i-- {
		if j.matches(j.entries[i]) {
			j.cur = i
			return 1, nil
		}
	}
	return 0, nil
}

func (j *Journal) PreviousSkip(n uint64) (uint64, error) {
	var done uint64
	for ; done < n; done++ {
		if k, _ := j.Previous(); k == 0 {
			break
		}
	}
	return done, nil
}

func (j *Journal) GetDataValue(field string) (string, error) {
	if j.cur < 0 {
		return "", fmt.Errorf("no entry: %w", syscall.EADDRNOTAVAIL)
	}
	v, ok := j.entries[j.cur][field]
	if !ok {
		return "", fmt.Errorf("failed to read message: %w", syscall.ENOENT)
	}
	return v, nil
}

func (j *Journal) GetRealtimeUsec() (uint64, error) {
	if j.cur < 0 {
		return 0, syscall.EADDRNOTAVAIL
	}
	return realtimeOf(j.entries[j.cur]), nil
}

func (j *Journal) GetUniqueValues(field string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, e := range j.entries {
		if v, ok := e[field]; ok && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// Wait returns 1 (SD_JOURNAL_APPEND) once an entry was appended, or 0
// (SD_JOURNAL_NOP) after timeout.
func (j *Journal) Wait(timeout time.Duration) int {
	select {
	case <-j.appended:
		return 1
	case <-time.After(timeout):
		return 0
	}
}
func (j *Journal) Close() error { j.closed = true; return nil }

func realtimeOf(e map[string]string) uint64 {
	u, _ := strconv.ParseUint(e["__REALTIME"], 10, 64)
	return u
}
