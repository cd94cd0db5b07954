package journal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The fields journalctl's short output reads.
const (
	fieldMessage        = "MESSAGE"
	fieldHostname       = "_HOSTNAME"
	fieldIdentifier     = "SYSLOG_IDENTIFIER"
	fieldComm           = "_COMM"
	fieldSyslogPID      = "SYSLOG_PID"
	fieldPID            = "_PID"
	fieldSourceRealtime = "_SOURCE_REALTIME_TIMESTAMP"
	fieldBootID         = "_BOOT_ID"
)

// printThreshold is journalctl's PRINT_CHAR_THRESHOLD: a hostname,
// identifier or pid this long is left out of the line.
const printThreshold = 300

// entry is what one journal entry contributes to a line.
type entry struct {
	realtime   uint64 // __REALTIME_TIMESTAMP: what --since and --until compare
	message    string
	hasMessage bool
	hostname   string
	identifier string
	comm       string
	syslogPID  string
	pid        string
	source     string // _SOURCE_REALTIME_TIMESTAMP, preferred for display
	bootID     string
}

// entryReader is a Reader that reads an entry's fields in one go.
type entryReader interface {
	readEntry() (entry, error)
}

// readEntry reads the current entry's fields. A field the entry lacks is
// empty; any other read error ends the query.
func readEntry(r Reader) (entry, error) {
	if one, ok := r.(entryReader); ok {
		return one.readEntry()
	}
	var e entry
	var err error
	if e.realtime, err = r.GetRealtimeUsec(); err != nil {
		return e, err
	}
	for _, f := range []struct {
		name string
		to   *string
	}{
		{fieldMessage, &e.message}, {fieldHostname, &e.hostname}, {fieldIdentifier, &e.identifier},
		{fieldComm, &e.comm}, {fieldSyslogPID, &e.syslogPID}, {fieldPID, &e.pid},
		{fieldSourceRealtime, &e.source}, {fieldBootID, &e.bootID},
	} {
		v, err := r.GetDataValue(f.name)
		switch {
		case err == nil:
			*f.to = v
			if f.name == fieldMessage {
				e.hasMessage = true
			}
		case !missing(err):
			return e, fmt.Errorf("reading %s: %w", f.name, err)
		}
	}
	return e, nil
}

// displayTime is the time journalctl prints: the sender's own timestamp
// when it is a valid one, the journal's otherwise.
func (e entry) displayTime() uint64 {
	if e.source != "" {
		if t, err := strconv.ParseUint(e.source, 10, 64); err == nil && t > 0 && t < maxFormattable {
			return t
		}
	}
	return e.realtime
}

// maxFormattable is systemd's USEC_TIMESTAMP_FORMATTABLE_MAX (year 9999).
const maxFormattable = uint64(253402214400) * 1000000

// formatShortPrecise writes e as journalctl --utc --output=short-precise
// (systemd 252, output_short) does when its output is not a terminal:
// "Jan 02 15:04:05.000000 host ident[pid]: message", continuation lines of
// a multi-line message indented under the message, and a message that is
// not printable text shown as "[<size> blob data]". It reports false for an
// entry without MESSAGE, which journalctl skips.
func formatShortPrecise(b *strings.Builder, e entry) bool {
	if !e.hasMessage {
		return false
	}
	start := b.Len()
	usec := e.displayTime()
	b.WriteString(time.Unix(int64(usec/1e6), 0).UTC().Format("Jan 02 15:04:05"))
	fmt.Fprintf(b, ".%06d", usec%1e6)
	if printable(e.hostname) {
		b.WriteByte(' ')
		b.WriteString(e.hostname)
	}
	switch {
	case printable(e.identifier):
		b.WriteByte(' ')
		b.WriteString(e.identifier)
	case printable(e.comm):
		b.WriteByte(' ')
		b.WriteString(e.comm)
	default:
		b.WriteString(" unknown")
	}
	switch {
	case printable(e.syslogPID):
		b.WriteString("[" + e.syslogPID + "]")
	case printable(e.pid):
		b.WriteString("[" + e.pid + "]")
	}
	b.WriteString(": ")
	indent := b.Len() - start
	if !printableText(e.message) {
		b.WriteString("[" + formatBytes(uint64(len(e.message))) + " blob data]\n")
		return true
	}
	for i, line := range strings.Split(strings.TrimSuffix(e.message, "\n"), "\n") {
		if i > 0 {
			b.WriteString(strings.Repeat(" ", indent))
		}
		// journalctl prints a tab as eight spaces, whatever the column.
		b.WriteString(strings.ReplaceAll(line, "\t", "        "))
		b.WriteByte('\n')
	}
	return true
}

// printable is journalctl's shall_print for a header field: present, short
// enough and printable.
func printable(s string) bool {
	return s != "" && len(s) < printThreshold && printableText(s) && !strings.Contains(s, "\n")
}

// printableText is systemd's utf8_is_printable with newlines allowed:
// valid UTF-8 without control characters other than tab and newline.
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < ' ' && r != '\t' && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// formatBytes is systemd's FORMAT_BYTES (format_bytes_full with one
// decimal below the point): 900B, 1.5K, 2.0M.
func formatBytes(n uint64) string {
	units := []struct {
		suffix string
		factor uint64
	}{{"E", 1 << 60}, {"P", 1 << 50}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}
	for i, u := range units {
		if n >= u.factor {
			var tenth uint64
			if i != len(units)-1 {
				tenth = (n / units[i+1].factor * 10 / units[len(units)-1].factor) % 10
			} else {
				tenth = (n * 10 / u.factor) % 10
			}
			return fmt.Sprintf("%d.%d%s", n/u.factor, tenth, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}
