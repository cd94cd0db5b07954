// Package journal answers the kubelet's node log queries by reading the
// systemd journal in process, through sd-journal, and writes what
// journalctl --utc --output=short-precise would print for the same query.
// No process is started per query: the query is a set of journal matches
// and a walk over the entries, not a command line.
package journal

import (
	"errors"
	"syscall"
	"time"
)

// Reader is the part of sd-journal a query uses. go-systemd's
// *sdjournal.Journal provides it on a node; tests use an in-memory journal.
// A Reader is not safe for concurrent use: every query opens its own, as
// every journalctl process does.
type Reader interface {
	AddMatch(match string) error
	AddDisjunction() error
	AddConjunction() error
	FlushMatches()
	SeekHead() error
	SeekTail() error
	SeekRealtimeUsec(usec uint64) error
	Next() (uint64, error)
	Previous() (uint64, error)
	PreviousSkip(skip uint64) (uint64, error)
	GetDataValue(field string) (string, error)
	GetRealtimeUsec() (uint64, error)
	GetUniqueValues(field string) ([]string, error)
	Wait(timeout time.Duration) int
	Close() error
}

// ErrUnavailable is returned by Open when this kubelet cannot read the
// journal itself: it was built without cgo, or libsystemd.so.0 is missing.
var ErrUnavailable = errors.New("the journal cannot be read in process")

// missing reports whether err is sd-journal's "this entry has no such
// field" (ENOENT), as opposed to a failure to read it.
func missing(err error) bool { return errors.Is(err, syscall.ENOENT) }
