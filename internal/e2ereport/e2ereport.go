// Package e2ereport turns a Ginkgo JSON report into a short digest of the
// specs that failed: for each, its text, where and why it failed, and the
// last lines it logged. CI prints the digest last, because only the end
// of a failed run's output is kept, and Ginkgo's own summary at the end
// names the failed specs without saying why they failed.
package e2ereport

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Limits bound the digest, so that several failures still fit in the
// part of a log that is kept.
type Limits struct {
	MessageLines int // lines of each failure message
	LogLines     int // last lines each failed spec wrote to the GinkgoWriter
}

// DefaultLimits keeps a digest of two failures under about 50 lines.
var DefaultLimits = Limits{MessageLines: 12, LogLines: 8}

// Load reads a report that `go test ... --ginkgo.json-report` wrote.
func Load(path string) ([]types.Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Ginkgo report: %w (run the suite with --ginkgo.json-report=%s)", err, path)
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("%s is not a Ginkgo JSON report: %w", path, err)
	}
	return reports, nil
}

// Write writes the digest of every failed spec and suite node in reports
// and returns how many it wrote.
func Write(w io.Writer, reports []types.Report, l Limits) int {
	n := 0
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if !s.State.Is(types.SpecStateFailureStates) {
				continue
			}
			n++
			name := s.FullText()
			if name == "" {
				name = s.LeafNodeType.String()
			}
			fmt.Fprintf(w, "--- %s: %s\n", strings.ToUpper(s.State.String()), name)
			f := s.Failure
			where := "[" + f.FailureNodeType.String() + "]"
			if f.FailureNodeContext == types.FailureNodeIsLeafNode {
				where = "[" + s.LeafNodeType.String() + "]"
			}
			fmt.Fprintf(w, "    in %s at %s, after %s\n", where, f.Location, s.RunTime.Round(1e7))
			for _, line := range lastOrFirst(f.Message, l.MessageLines, false) {
				fmt.Fprintf(w, "    | %s\n", line)
			}
			if f.ForwardedPanic != "" {
				fmt.Fprintf(w, "    | panic: %s\n", firstLine(f.ForwardedPanic))
			}
			if logged := lastOrFirst(s.CapturedGinkgoWriterOutput, l.LogLines, true); len(logged) > 0 {
				fmt.Fprintf(w, "    last lines it logged:\n")
				for _, line := range logged {
					fmt.Fprintf(w, "    > %s\n", line)
				}
			}
		}
	}
	return n
}

// lastOrFirst returns up to max non-empty lines of text: the first ones
// of a failure message, which say what was expected, or the last ones of
// a log, which are nearest the failure. Long lines are cut.
func lastOrFirst(text string, max int, last bool) []string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimRight(line, " \t\r"); line != "" {
			lines = append(lines, cut(line, 240))
		}
	}
	if len(lines) <= max {
		return lines
	}
	if last {
		return append([]string{fmt.Sprintf("(%d earlier lines left out)", len(lines)-max)}, lines[len(lines)-max:]...)
	}
	return append(lines[:max], fmt.Sprintf("(%d more lines left out)", len(lines)-max))
}

func firstLine(s string) string { return cut(strings.SplitN(s, "\n", 2)[0], 240) }

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
