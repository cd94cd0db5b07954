package journal

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// followBacklog is how many lines a follow starts with when the query
// gives neither tailLines nor sinceTime, as journalctl --follow does.
const followBacklog = 10

// waitSlice bounds each wait for the journal to change, so that a client
// that went away is noticed within it even on a journal that stays quiet.
const waitSlice = time.Second

// Follow writes q's lines and then each new matching entry as the journal
// gets it, until ctx ends: the client went away, or the kubelet's bound
// on a streaming answer passed. It waits with sd-journal's wait (inotify
// on the journal files), not by polling. flush is called whenever it has
// caught up, so that what was written reaches the client.
//
// It starts as journalctl --follow does: with sinceTime, from there; with
// tailLines N (10 without either), the last N matching lines. untilTime
// has no meaning for a follow; the kubelet refuses it before this.
func Follow(ctx context.Context, w io.Writer, flush func(), r Reader, q Query, currentBoot func() (string, error)) error {
	re, ok, err := narrow(w, r, q, currentBoot)
	if err != nil || !ok {
		return err
	}
	onEntry, err := followStart(r, q, re)
	if err != nil {
		return err
	}
	var b strings.Builder
	previousBoot := ""
	for {
		if onEntry {
			e, err := readEntry(r)
			if err != nil {
				return err
			}
			if previousBoot != "" && e.bootID != previousBoot {
				fmt.Fprintf(&b, "-- Boot %s --\n", e.bootID)
			}
			previousBoot = e.bootID
			if re == nil || (e.hasMessage && re.MatchString(e.message)) {
				formatShortPrecise(&b, e)
			}
			if b.Len() >= 64<<10 {
				if _, err := io.WriteString(w, b.String()); err != nil {
					return err
				}
				b.Reset()
			}
		}
		n, err := r.Next()
		if err != nil {
			return err
		}
		if onEntry = n > 0; onEntry {
			continue
		}
		// Caught up: send what there is, then wait for the journal.
		if b.Len() > 0 {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
			b.Reset()
		}
		flush()
		for {
			if err := ctx.Err(); err != nil {
				return nil
			}
			if r.Wait(waitSlice) != 0 { // SD_JOURNAL_APPEND or INVALIDATE
				break
			}
		}
	}
}

// followStart puts the cursor on the first line to show and reports
// whether there is one.
func followStart(r Reader, q Query, re *regexp.Regexp) (bool, error) {
	if q.SinceTime != nil {
		if err := r.SeekRealtimeUsec(usec(q.SinceTime)); err != nil {
			return false, err
		}
		n, err := r.Next()
		return n > 0, err
	}
	backlog := followBacklog
	if q.TailLines != nil {
		backlog = *q.TailLines
	}
	if err := r.SeekTail(); err != nil {
		return false, err
	}
	if backlog == 0 {
		return false, nil
	}
	if re == nil {
		n, err := r.PreviousSkip(uint64(backlog))
		return n > 0, err
	}
	// Back to the backlog'th match from the end; the walk forward from it
	// shows the matches oldest first.
	found := 0
	for found < backlog {
		n, err := r.Previous()
		if err != nil {
			return false, err
		}
		if n == 0 {
			if found == 0 {
				return false, nil
			}
			// Fewer matches than asked: start from the oldest entry.
			if err := r.SeekHead(); err != nil {
				return false, err
			}
			n, err := r.Next()
			return n > 0, err
		}
		msg, err := r.GetDataValue(fieldMessage)
		if err != nil && !missing(err) {
			return false, err
		}
		if err == nil && re.MatchString(msg) {
			found++
		}
	}
	return true, nil
}
