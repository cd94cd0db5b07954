package nodelogs

import (
	"time"
)

// followCursor remembers, for one node, how far --follow has printed.
//
// The kubelet's sinceTime is inclusive and only has second precision, so
// every poll returns again the lines of the cursor's second. Lines older
// than the cursor are dropped; lines exactly at the cursor are counted, and
// only as many copies as were not printed yet pass, which keeps two truly
// identical lines at the same microsecond without ever printing one twice.
type followCursor struct {
	at          time.Time
	printedAtAt map[string]int
	started     bool
}

// SinceTime is the sinceTime to ask for on the next poll.
func (c *followCursor) SinceTime() time.Time { return c.at.Truncate(time.Second) }

// Started says at least one poll has been taken in, so the next poll must
// ask from the cursor on.
func (c *followCursor) Started() bool { return c.started }

// StartAtIfEmpty places a cursor that has seen no timestamp yet at the
// second polling began, so the next poll does not ask for the whole journal
// from year one.
func (c *followCursor) StartAtIfEmpty(pollStarted time.Time) {
	if c.at.IsZero() {
		c.at = pollStarted.UTC().Truncate(time.Second)
	}
}

// Fresh filters one poll's lines down to the ones not printed yet and moves
// the cursor to the newest of them.
func (c *followCursor) Fresh(lines []LogLine) []LogLine {
	firstPoll := !c.started
	c.started = true
	if c.printedAtAt == nil {
		c.printedAtAt = map[string]int{}
	}
	seenThisPoll := map[string]int{}
	var fresh []LogLine
	for _, line := range lines {
		if !firstPoll {
			if line.Time.Before(c.at) {
				continue
			}
			if line.Time.Equal(c.at) {
				seenThisPoll[line.Text]++
				if seenThisPoll[line.Text] <= c.printedAtAt[line.Text] {
					continue
				}
			}
		}
		if line.Time.After(c.at) {
			c.at = line.Time
			c.printedAtAt = map[string]int{}
			seenThisPoll = map[string]int{}
			seenThisPoll[line.Text] = 1
		}
		if line.Time.Equal(c.at) {
			c.printedAtAt[line.Text]++
		}
		fresh = append(fresh, line)
	}
	return fresh
}
