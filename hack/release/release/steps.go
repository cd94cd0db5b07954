package release

import (
	"fmt"
	"io"
	"time"
)

// Steps prints one start and one result line per step with its duration,
// the look of internal/steps in the main module, which this module cannot
// import.
type Steps struct {
	Out io.Writer
	// Now is the clock; tests replace it to get stable durations.
	Now func() time.Time
}

// Run runs fn as the step called title.
func (s *Steps) Run(title string, fn func() error) error {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	fmt.Fprintf(s.Out, " • %s ...\n", title)
	err := fn()
	mark := "✓"
	if err != nil {
		mark = "✗"
	}
	fmt.Fprintf(s.Out, " %s %s (%.1fs)\n", mark, title, now().Sub(start).Seconds())
	return err
}

// Note prints an indented detail line under the current step.
func (s *Steps) Note(format string, args ...any) {
	fmt.Fprintf(s.Out, "   %s\n", fmt.Sprintf(format, args...))
}
