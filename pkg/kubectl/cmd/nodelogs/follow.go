package nodelogs

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
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

// follow polls every PollInterval, printing only lines not printed before.
// It returns when ctx is cancelled; the error then names the nodes whose
// last poll failed, since their output may be incomplete.
func (o *NodeLogsOptions) follow(ctx context.Context, nodes []string, prefix bool) error {
	streams, polled := o.openStreams(ctx, nodes)
	for _, node := range nodes {
		if _, ok := streams[node]; ok {
			fmt.Fprintf(o.ErrOut, "%s: following in the kubelet (streamed)\n", node)
		} else {
			fmt.Fprintf(o.ErrOut, "%s: the kubelet does not stream; polling every %v\n", node, o.PollInterval)
		}
	}
	if len(streams) == 0 {
		return o.poll(ctx, polled, prefix)
	}
	var group errgroup.Group
	var streamed map[string]error
	group.Go(func() error {
		streamed = o.copyStreams(ctx, streams, prefix)
		return nil
	})
	var pollErr error
	if len(polled) > 0 {
		pollErr = o.poll(ctx, polled, prefix)
	}
	_ = group.Wait()
	var failed []*NodeError
	for _, node := range nodes {
		if err, ok := streamed[node]; ok {
			failed = append(failed, &NodeError{Node: node, Err: fmt.Errorf("the kubelet's stream ended (%w); run the command again to go on", err)})
		}
	}
	if pollErr != nil {
		return pollErr
	}
	return summarize(failed, len(nodes))
}

// poll follows nodes whose kubelet does not stream.
func (o *NodeLogsOptions) poll(ctx context.Context, nodes []string, prefix bool) error {
	cursors := make(map[string]*followCursor, len(nodes))
	for _, node := range nodes {
		cursors[node] = &followCursor{}
	}
	queryFor := func(node string) LogQuery {
		c := cursors[node]
		if !c.Started() {
			return o.query
		}
		// After the first answer only the cursor matters: a --tail would
		// cut off lines when more than that arrived between two polls.
		q := o.query
		since := c.SinceTime()
		q.SinceTime, q.TailLines = &since, nil
		return q
	}
	lastFailed := map[string]*NodeError{}
	poll := func() error {
		pollStarted := o.Clock.Now()
		results := o.fetchAll(ctx, nodes, queryFor)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perNode [][]LogLine
		for i, r := range results {
			node := nodes[i]
			if r.err != nil {
				lastFailed[node] = r.err
				fmt.Fprintf(o.ErrOut, "error: %v\n", r.err)
				continue
			}
			delete(lastFailed, node)
			c := cursors[node]
			perNode = append(perNode, c.Fresh(inTimeOrder(splitLines(node, r.body, pollStarted))))
			c.StartAtIfEmpty(pollStarted)
		}
		return writeLines(o.Out, mergeByTime(perNode), prefix)
	}

	ticker := o.Clock.NewTicker(o.PollInterval)
	defer ticker.Stop()
	for {
		if err := poll(); err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			var failed []*NodeError
			for _, node := range nodes {
				if f := lastFailed[node]; f != nil {
					failed = append(failed, f)
				}
			}
			return summarize(failed, len(nodes))
		case <-ticker.C():
		}
	}
}
