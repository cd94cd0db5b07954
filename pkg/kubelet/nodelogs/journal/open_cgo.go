//go:build linux && cgo

package journal

import (
	"fmt"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// Open opens the local journal, system and user files of this machine, as
// journalctl does without --directory or --file.
func Open() (Reader, error) {
	j, err := sdjournal.NewJournal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// journalctl prints whole fields (--full is its default); sd-journal
	// would cut them at 64 KiB.
	if err := j.SetDataThreshold(0); err != nil {
		_ = j.Close()
		return nil, err
	}
	return withOnePass(j), nil
}
