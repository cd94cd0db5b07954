// Package conformance is the logic of `make conformance`: the skip list
// and the triage notes (spec names with reasons, kept in the repository),
// the ginkgo arguments that run upstream's [Conformance] specs in two
// phases, and the summary of ginkgo's JSON reports that goes into
// docs/conformance.md.
package conformance

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Entry names specs by a literal part of their full text (the name ginkgo
// prints, e.g. "[sig-network] DNS should provide DNS for services
// [Conformance]") and says why they are listed.
type Entry struct {
	Match  string
	Reason string
}

// Matches reports whether the spec with this full text is the entry's.
func (e Entry) Matches(fullText string) bool {
	return strings.Contains(fullText, e.Match)
}

// ParseList reads a list file:
//
//	# comment
//	- <part of the spec's full text>
//	  <reason, one or more lines>
//
// Every entry needs a reason: a skip or a triage without one is refused.
func ParseList(r io.Reader) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(text, "- "):
			match := strings.TrimSpace(strings.TrimPrefix(text, "- "))
			if match == "" {
				return nil, fmt.Errorf("line %d: empty spec name", line)
			}
			entries = append(entries, Entry{Match: match})
		case strings.HasPrefix(text, " ") || strings.HasPrefix(text, "\t"):
			if len(entries) == 0 {
				return nil, fmt.Errorf("line %d: reason before any \"- spec\" line", line)
			}
			last := &entries[len(entries)-1]
			last.Reason = strings.TrimSpace(last.Reason + " " + trimmed)
		default:
			return nil, fmt.Errorf("line %d: want \"- <spec>\", an indented reason or a comment, got %q", line, text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Reason == "" {
			return nil, fmt.Errorf("%q has no reason", e.Match)
		}
	}
	return entries, nil
}

// Find returns the first entry that names the spec.
func Find(entries []Entry, fullText string) (Entry, bool) {
	for _, e := range entries {
		if e.Matches(fullText) {
			return e, true
		}
	}
	return Entry{}, false
}

// SkipRegexp is one regular expression that matches every listed spec,
// for ginkgo's --skip (names are taken literally).
func SkipRegexp(entries []Entry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = regexp.QuoteMeta(e.Match)
	}
	return strings.Join(parts, "|")
}
