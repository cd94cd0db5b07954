package journal

import (
	"fmt"
	"regexp"
	"regexp/syntax"
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
// journalctl 252's PCRE2 runs in UTF mode without Unicode properties, so
// its caseless matching folds ASCII letters only ("äöü" does not match
// "ÄÖÜ", measured on the node image); Go's (?i) folds all of Unicode, so
// the pattern's literals and classes get their ASCII case partners
// instead. The kubelet already refused patterns Go cannot parse, so the
// patterns that reach here are RE2's subset of PCRE2.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	if strings.ContainsAny(pattern, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return regexp.Compile(pattern)
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	foldASCII(re)
	return regexp.Compile(re.String())
}

// foldASCII makes re match ASCII letters in either case. A group the
// pattern itself marks (?i) keeps Go's folding.
func foldASCII(re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return
		}
		subs := make([]*syntax.Regexp, 0, len(re.Rune))
		for _, r := range re.Rune {
			if partner, ok := asciiPartner(r); ok {
				subs = append(subs, &syntax.Regexp{Op: syntax.OpCharClass, Rune: []rune{r, r, partner, partner}, Flags: re.Flags})
			} else {
				subs = append(subs, &syntax.Regexp{Op: syntax.OpLiteral, Rune: []rune{r}, Flags: re.Flags})
			}
		}
		*re = syntax.Regexp{Op: syntax.OpConcat, Sub: subs, Flags: re.Flags}
		return
	case syntax.OpCharClass:
		ranges := re.Rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for _, letters := range [][2]rune{{'a', 'z'}, {'A', 'Z'}} {
				lo, hi := max(re.Rune[i], letters[0]), min(re.Rune[i+1], letters[1])
				if lo <= hi {
					plo, _ := asciiPartner(lo)
					phi, _ := asciiPartner(hi)
					ranges = append(ranges, plo, phi)
				}
			}
		}
		re.Rune = ranges
	}
	for _, sub := range re.Sub {
		foldASCII(sub)
	}
}

func asciiPartner(r rune) (rune, bool) {
	switch {
	case 'a' <= r && r <= 'z':
		return r - 'a' + 'A', true
	case 'A' <= r && r <= 'Z':
		return r - 'A' + 'a', true
	}
	return r, false
}
