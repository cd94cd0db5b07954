package journal

import (
	"fmt"
	"time"

	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal/journaltest"
)

var newFakeJournal = journaltest.New

// at is a realtime in microseconds, on the day the tests use.
func at(hms string, micro int) string {
	t, err := time.Parse("2006-01-02 15:04:05", "2026-12-01 "+hms)
	if err != nil {
		panic(err)
	}
	return fmt.Sprint(uint64(t.Unix())*1e6 + uint64(micro))
}
