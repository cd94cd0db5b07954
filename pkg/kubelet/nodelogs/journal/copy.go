package journal

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Copy writes q's answer to w, read from r: what upstream's kubelet gets
// from `journalctl --utc --no-pager --output=short-precise` with q's
// --since, --until, --pager-end --lines, --unit, --grep and --boot, byte
// for byte, with one intended difference. journalctl 252 walks the
// journal backwards when --grep and --lines are combined and prints those
// lines newest first; Copy prints them oldest first, as every other query
// prints.
//
// Everything else follows journalctl 252's positioning, quirks included,
// so that a kubelet of ours and an upstream one answer alike: with
// sinceTime, tailLines counts from sinceTime (the first N lines after it);
// with untilTime and no pattern, the last N lines of the whole journal are
// taken and then cut at untilTime.
func Copy(ctx context.Context, w io.Writer, r Reader, q Query, currentBoot func() (string, error)) error {
	re, ok, err := narrow(w, r, q, currentBoot)
	if err != nil || !ok {
		return err
	}
	walk := walker{r: r, q: q, re: re, reverse: re != nil && q.TailLines != nil}
	lines, err := walk.run(ctx)
	if err != nil {
		return err
	}
	if walk.reverse {
		lines = oldestFirst(lines)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		if b.Len() >= 64<<10 {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	if walk.shown == 0 {
		b.WriteString("-- No entries --\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// narrow compiles q's pattern and narrows r to q's boot and services. It
// reports false, having written journalctl's message, when the boot offset
// names a boot the journal does not have.
func narrow(w io.Writer, r Reader, q Query, currentBoot func() (string, error)) (*regexp.Regexp, bool, error) {
	re, err := compilePattern(q.Pattern)
	if err != nil {
		return nil, false, fmt.Errorf("pattern %q: %w", q.Pattern, err)
	}
	bootID, err := resolveBoot(r, q.Boot, currentBoot)
	if err != nil {
		return nil, false, err
	}
	if bootID == "" && q.Boot != nil {
		_, err := fmt.Fprintf(w, "Data from the specified boot (%+d) is not available: No such boot ID in journal\n", *q.Boot)
		return nil, false, err
	}
	return re, true, addMatches(r, q, bootID)
}

// line is one shown entry, or a boot separator. An entry without MESSAGE
// has no text: journalctl counts it as shown and prints nothing for it.
type line struct {
	text      string
	bootID    string
	separator bool
}

func bootSeparator(id string) line {
	return line{text: "-- Boot " + id + " --\n", bootID: id, separator: true}
}

// oldestFirst turns the lines of a backward walk around, with the boot
// separators that a forward walk over them would print.
func oldestFirst(backward []line) []line {
	var out []line
	previous := ""
	for i := len(backward) - 1; i >= 0; i-- {
		l := backward[i]
		if l.separator {
			continue
		}
		if previous != "" && l.bootID != previous {
			out = append(out, bootSeparator(l.bootID))
		}
		previous = l.bootID
		out = append(out, l)
	}
	return out
}

type walker struct {
	r       Reader
	q       Query
	re      *regexp.Regexp
	reverse bool
	shown   int
	boot    string // of the last entry walked over, shown or not
}

// position puts the journal's cursor where journalctl 252 starts; false
// means there is no entry there.
func (w *walker) position() (bool, error) {
	var n uint64
	var err error
	switch {
	case w.q.SinceTime != nil && !w.reverse:
		if err = w.r.SeekRealtimeUsec(usec(w.q.SinceTime)); err == nil {
			n, err = w.r.Next()
		}
	case w.q.UntilTime != nil && w.reverse:
		if err = w.r.SeekRealtimeUsec(usec(w.q.UntilTime)); err == nil {
			n, err = w.r.Previous()
		}
	case w.reverse:
		if err = w.r.SeekTail(); err == nil {
			n, err = w.r.Previous()
		}
	case w.q.TailLines != nil:
		if err = w.r.SeekTail(); err == nil {
			n, err = w.r.PreviousSkip(uint64(*w.q.TailLines))
		}
	default:
		if err = w.r.SeekHead(); err == nil {
			n, err = w.r.Next()
		}
	}
	return n > 0, err
}

// run walks from the start position, in journalctl's loop order: the
// time bound, the boot separator's bookkeeping, the pattern, the entry.
func (w *walker) run(ctx context.Context) ([]line, error) {
	ok, err := w.position()
	if err != nil || !ok {
		return nil, err
	}
	var lines []line
	var b strings.Builder
	for first := true; w.q.TailLines == nil || w.shown < *w.q.TailLines; first = false {
		if !first {
			var n uint64
			if w.reverse {
				n, err = w.r.Previous()
			} else {
				n, err = w.r.Next()
			}
			if err != nil {
				return nil, err
			}
			if n == 0 {
				break
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := readEntry(w.r)
		if err != nil {
			return nil, err
		}
		if w.q.UntilTime != nil && !w.reverse && e.realtime > usec(w.q.UntilTime) {
			break
		}
		if w.q.SinceTime != nil && w.reverse && e.realtime < usec(w.q.SinceTime) {
			break
		}
		// journalctl notes a boot change before it applies the pattern, so
		// a boot whose entries are all filtered out still gets its line.
		if w.boot != "" && e.bootID != w.boot && !w.reverse {
			lines = append(lines, bootSeparator(e.bootID))
		}
		w.boot = e.bootID
		if w.re != nil && (!e.hasMessage || !w.re.MatchString(e.message)) {
			continue
		}
		b.Reset()
		formatShortPrecise(&b, e)
		lines = append(lines, line{text: b.String(), bootID: e.bootID})
		w.shown++
	}
	return lines, nil
}

// usec is t as journalctl reads the kubelet's --since/--until argument:
// upstream formats it to the second ("2006-1-2 15:4:5") in the time's own
// zone, and journalctl reads that as the node's local time, UTC on our
// nodes.
//
// Upstream's formatting drops the zone, so a time with an offset is read
// as that wall-clock time in UTC there; here the instant is kept. Clients
// that send UTC (kubectl node-logs does) see no difference.
func usec(t *time.Time) uint64 {
	return uint64(t.Unix()) * 1e6
}

// resolveBoot turns a boot offset into a boot ID: 0 is the running boot,
// as journalctl takes it (without looking in the journal), -1 the one
// before the last boot the journal has, and so on. An offset the journal
// has no boot for gives "".
func resolveBoot(r Reader, offset *int, currentBoot func() (string, error)) (string, error) {
	if offset == nil {
		return "", nil
	}
	if *offset == 0 {
		return currentBoot()
	}
	ids, err := r.GetUniqueValues(fieldBootID)
	if err != nil {
		return "", err
	}
	type boot struct {
		id    string
		first uint64
	}
	var boots []boot
	for _, id := range ids {
		r.FlushMatches()
		if err := r.AddMatch(fieldBootID + "=" + id); err != nil {
			return "", err
		}
		if err := r.SeekHead(); err != nil {
			return "", err
		}
		if n, err := r.Next(); err != nil || n == 0 {
			continue
		}
		t, err := r.GetRealtimeUsec()
		if err != nil {
			return "", err
		}
		boots = append(boots, boot{id, t})
	}
	r.FlushMatches()
	slices.SortFunc(boots, func(a, b boot) int { return cmp.Compare(a.first, b.first) })
	i := len(boots) - 1 + *offset
	if *offset > 0 {
		i = *offset - 1
	}
	if i < 0 || i >= len(boots) {
		return "", nil
	}
	return boots[i].id, nil
}

// RunningBoot reads this machine's boot ID as sd_id128_get_boot does.
func RunningBoot() (string, error) {
	raw, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(strings.TrimSpace(string(raw)), "-", ""), nil
}
