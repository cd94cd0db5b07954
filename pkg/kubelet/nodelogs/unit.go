// Package nodelogs holds the kubelet's node-log-query decisions that
// upstream gets wrong or leaves out, as plain functions. The kubelet calls
// them through small hooks in the patched tree (see staging/k8s.io/kubernetes).
package nodelogs

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal"
)

// JournalHasUnit reports whether the output of
// `journalctl --field _SYSTEMD_UNIT` (one unit per line) lists the unit that
// query refers to. It matches whole lines: upstream's substring match lets
// "kubelet" match "mykubelet.service", so the kubelet then asks the journal
// for a unit with no entries instead of falling back to /var/log.
func JournalHasUnit(journalUnits []byte, query string) bool {
	if query == "" {
		return false
	}
	want := journal.UnitName(query)
	sc := bufio.NewScanner(bytes.NewReader(journalUnits))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == want {
			return true
		}
	}
	return false
}
