package nodelogs

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"time"
)

// journalTimestampLayout is the timestamp of journalctl --output=short-precise,
// which the kubelet always uses (with --utc). The day is space padded.
const journalTimestampLayout = "Jan _2 15:04:05.000000"

// LogLine is one line of one node's output with the time used to order it.
type LogLine struct {
	Node string
	Text string
	// Time is parsed from the line or, for a line without a timestamp (a
	// continuation, a "-- Boot ... --" marker, a plain file), inherited from
	// the previous line of the same node, so the line stays right after it.
	Time time.Time
	// HasOwnTime says Time came from this line itself.
	HasOwnTime bool
}

// parseJournalTimestamp reads the short-precise timestamp at the start of a
// line. journalctl leaves the year out, so it is taken from now, and a date
// that would lie in the future (December lines read in January) is put in
// the previous year.
func parseJournalTimestamp(line string, now time.Time) (time.Time, bool) {
	n := len(journalTimestampLayout)
	if len(line) < n || (len(line) > n && line[n] != ' ') {
		return time.Time{}, false
	}
	parsed, err := time.Parse(journalTimestampLayout, line[:n])
	if err != nil {
		return time.Time{}, false
	}
	now = now.UTC()
	withYear := time.Date(now.Year(), parsed.Month(), parsed.Day(), parsed.Hour(), parsed.Minute(), parsed.Second(), parsed.Nanosecond(), time.UTC)
	if withYear.After(now.Add(24 * time.Hour)) {
		withYear = withYear.AddDate(-1, 0, 0)
	}
	return withYear, true
}

// lineReader reads one node's answer line by line, with each line's
// ordering time, so that a merge holds one line per node rather than
// every node's whole answer.
type lineReader struct {
	node    string
	scanner *bufio.Scanner
	now     time.Time
	last    time.Time
	head    LogLine // the line read last, valid while ok
	ok      bool
}

func newLineReader(node string, r io.Reader, now time.Time) *lineReader {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	l := &lineReader{node: node, scanner: scanner, now: now}
	l.advance()
	return l
}

func (l *lineReader) advance() {
	if l.ok = l.scanner.Scan(); !l.ok {
		return
	}
	text := l.scanner.Text()
	l.head = LogLine{Node: l.node, Text: text, Time: l.last}
	if ts, ok := parseJournalTimestamp(text, l.now); ok {
		l.head.Time, l.head.HasOwnTime = ts, true
		l.last = ts
	}
}

// err is what ended the answer early, nil at its end.
func (l *lineReader) err() error { return l.scanner.Err() }

// splitLines cuts one node's output into lines with their ordering times.
func splitLines(node string, output []byte, now time.Time) []LogLine {
	var lines []LogLine
	for l := newLineReader(node, bytes.NewReader(output), now); l.ok; l.advance() {
		lines = append(lines, l.head)
	}
	return lines
}

// mergeStreams writes the lines of readers in time order while it reads
// them: the same k-way merge as mergeByTime, with one line per node in
// memory.
func mergeStreams(out io.Writer, readers []*lineReader, prefix bool) error {
	w := bufio.NewWriterSize(out, 64*1024)
	for {
		best := -1
		for i, r := range readers {
			if r.ok && (best < 0 || r.head.Time.Before(readers[best].head.Time)) {
				best = i
			}
		}
		if best < 0 {
			return w.Flush()
		}
		writeLine(w, readers[best].head, prefix)
		readers[best].advance()
	}
}

// inTimeOrder returns one node's lines oldest first, whatever order the
// kubelet answered in: journalctl 252 prints a pattern combined with
// tailLines newest first, and an upstream kubelet passes that on, so
// without this its lines would merge out of order. Lines travel with the
// timestamped line they follow (an entry's continuation lines); lines
// before the first timestamp stay first. Already ordered input is
// returned as it is.
func inTimeOrder(lines []LogLine) []LogLine {
	sorted := true
	var last time.Time
	for _, l := range lines {
		if l.HasOwnTime {
			if l.Time.Before(last) {
				sorted = false
				break
			}
			last = l.Time
		}
	}
	if sorted {
		return lines
	}
	var groups [][]LogLine
	for _, l := range lines {
		if l.HasOwnTime || len(groups) == 0 {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], l)
	}
	head := 0
	if !groups[0][0].HasOwnTime {
		head = 1
	}
	slices.SortStableFunc(groups[head:], func(a, b []LogLine) int { return a[0].Time.Compare(b[0].Time) })
	out := make([]LogLine, 0, len(lines))
	for _, g := range groups {
		for i := range g {
			if !g[i].HasOwnTime && i > 0 {
				g[i].Time = g[0].Time
			}
		}
		out = append(out, g...)
	}
	return out
}

// mergeByTime interleaves the per-node line lists in time order. Each input
// keeps its own order (a k-way merge, not a sort), so lines without a
// timestamp never move away from the line they follow. Ties go to the node
// listed first, which keeps the output deterministic.
func mergeByTime(perNode [][]LogLine) []LogLine {
	next := make([]int, len(perNode))
	var merged []LogLine
	for {
		best := -1
		for i, lines := range perNode {
			if next[i] >= len(lines) {
				continue
			}
			if best < 0 || lines[next[i]].Time.Before(perNode[best][next[best]].Time) {
				best = i
			}
		}
		if best < 0 {
			return merged
		}
		merged = append(merged, perNode[best][next[best]])
		next[best]++
	}
}

// writeLines prints lines, each prefixed with its node when prefix is set.
func writeLines(out io.Writer, lines []LogLine, prefix bool) error {
	w := bufio.NewWriter(out)
	for _, line := range lines {
		writeLine(w, line, prefix)
	}
	return w.Flush()
}

func writeLine(w *bufio.Writer, line LogLine, prefix bool) {
	if prefix {
		w.WriteString(line.Node)
		w.WriteString(": ")
	}
	w.WriteString(line.Text)
	w.WriteByte('\n')
}
