package steps

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestSteps(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	s := &Steps{Out: &buf, Now: func() time.Time { clock = clock.Add(17600 * time.Millisecond); return clock }}
	_ = s.Run("Installing docker.io", func() error { s.Note("detail"); return nil })
	_ = s.Run("Failing", func() error { return errors.New("x") })
	want := " • Installing docker.io ...\n   detail\n ✓ Installing docker.io (17.6s)\n • Failing ...\n ✗ Failing (17.6s)\n"
	if buf.String() != want {
		t.Fatalf("got\n%s", buf.String())
	}
}
