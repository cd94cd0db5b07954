package journal

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Query is a node log query for services, as the kubelet parsed and
// validated it (upstream's nodeLogQuery with its file part removed).
type Query struct {
	Services  []string
	SinceTime *time.Time
	UntilTime *time.Time
	TailLines *int
	Boot      *int
	Pattern   string
}

// unitTypes are systemd's unit type suffixes. A query that already ends in
// one names that unit; anything else is a service, as journalctl --unit
// reads it.
var unitTypes = []string{
	".service", ".socket", ".target", ".device", ".mount", ".automount",
	".swap", ".timer", ".path", ".slice", ".scope",
}

// UnitName returns the systemd unit a log query refers to.
func UnitName(query string) string {
	for _, suffix := range unitTypes {
		if strings.HasSuffix(query, suffix) && len(query) > len(suffix) {
			return query
		}
	}
	return query + ".service"
}

// coredumpMessageID is systemd-coredump's MESSAGE_ID.
const coredumpMessageID = "fc2e22bc6ee647b6b90729ab34a250b1"

// addUnitMatches adds the matches journalctl --unit=<unit> adds
// (add_matches_for_unit): the unit's own messages, its coredumps, what PID
// 1 says about it, and what privileged daemons say about it.
func addUnitMatches(r Reader, unit string) error {
	groups := [][]string{
		{"_SYSTEMD_UNIT=" + unit},
		{"MESSAGE_ID=" + coredumpMessageID, "_UID=0", "COREDUMP_UNIT=" + unit},
		{"_PID=1", "UNIT=" + unit},
		{"_UID=0", "OBJECT_SYSTEMD_UNIT=" + unit},
	}
	if strings.HasSuffix(unit, ".slice") {
		groups = append(groups, []string{"_SYSTEMD_SLICE=" + unit})
	}
	for i, g := range groups {
		if i > 0 {
			if err := r.AddDisjunction(); err != nil {
				return err
			}
		}
		for _, m := range g {
			if err := r.AddMatch(m); err != nil {
				return fmt.Errorf("journal match %q: %w", m, err)
			}
		}
	}
	return nil
}

// addMatches narrows r to q's boot and services, in journalctl's order:
// the boot, then each unit's matches, ORed, as one conjunction.
func addMatches(r Reader, q Query, bootID string) error {
	if bootID != "" {
		if err := r.AddMatch(fieldBootID + "=" + bootID); err != nil {
			return err
		}
		if err := r.AddConjunction(); err != nil {
			return err
		}
	}
	n := 0
	for _, s := range q.Services {
		if s == "" {
			continue
		}
		if err := addUnitMatches(r, UnitName(s)); err != nil {
			return err
		}
		if err := r.AddDisjunction(); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		return r.AddConjunction()
	}
	return nil
}

// compilePattern compiles a query's pattern as journalctl --grep reads it
// with its default --case-sensitive=auto: a pattern with an upper-case
// ASCII letter matches case-sensitively, any other case-insensitively.
// The kubelet already refused patterns Go cannot parse, so the patterns
// that reach here are RE2's subset of PCRE2.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	if !strings.ContainsAny(pattern, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		pattern = "(?i)" + pattern
	}
	return regexp.Compile(pattern)
}
