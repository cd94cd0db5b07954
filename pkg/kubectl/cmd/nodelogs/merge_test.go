package nodelogs

import (
	"bytes"
	"testing"
	"time"
)

var testNow = time.Date(2024, 11, 27, 0, 0, 0, 0, time.UTC)

func TestParseJournalTimestamp(t *testing.T) {
	tests := []struct {
		line string
		want time.Time
		ok   bool
	}{
		{"Nov 26 20:11:59.907124 host kubelet[1]: hi", time.Date(2024, 11, 26, 20, 11, 59, 907124000, time.UTC), true},
		{"Nov  6 01:02:03.000001 host kubelet[1]: hi", time.Date(2024, 11, 6, 1, 2, 3, 1000, time.UTC), true},
		{"Nov 26 20:11:59.907124", time.Date(2024, 11, 26, 20, 11, 59, 907124000, time.UTC), true},
		// December lines read in January belong to the previous year.
		{"Dec 31 23:59:59.000000 host x: y", time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{"-- Boot 1234 --", time.Time{}, false},
		{"    at continuation", time.Time{}, false},
		{"Nov 26 20:11:59 host kubelet: short format", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		now := testNow
		if tt.line[:min(3, len(tt.line))] == "Dec" {
			now = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
		}
		got, ok := parseJournalTimestamp(tt.line, now)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%q: got %v,%v want %v,%v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMergeByTime(t *testing.T) {
	n1 := splitLines("n1", []byte(
		"Nov 26 20:00:01.000000 n1 kubelet[1]: a\n"+
			"  continuation of a\n"+
			"Nov 26 20:00:03.000000 n1 kubelet[1]: c\n"), testNow)
	n2 := splitLines("n2", []byte(
		"-- Boot abc --\n"+
			"Nov 26 20:00:02.000000 n2 kubelet[1]: b\n"+
			"Nov 26 20:00:03.000000 n2 kubelet[1]: c2\n"+
			"Nov 26 20:00:04.000000 n2 kubelet[1]: d\n"), testNow)
	var out bytes.Buffer
	if err := writeLines(&out, mergeByTime([][]LogLine{n1, n2}), true); err != nil {
		t.Fatal(err)
	}
	want := "n2: -- Boot abc --\n" +
		"n1: Nov 26 20:00:01.000000 n1 kubelet[1]: a\n" +
		"n1:   continuation of a\n" +
		"n2: Nov 26 20:00:02.000000 n2 kubelet[1]: b\n" +
		"n1: Nov 26 20:00:03.000000 n1 kubelet[1]: c\n" +
		"n2: Nov 26 20:00:03.000000 n2 kubelet[1]: c2\n" +
		"n2: Nov 26 20:00:04.000000 n2 kubelet[1]: d\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestMergeKeepsUntimedFileOrder(t *testing.T) {
	lines := splitLines("n1", []byte("z\ny\nx\n"), testNow)
	var out bytes.Buffer
	writeLines(&out, mergeByTime([][]LogLine{lines}), false)
	if out.String() != "z\ny\nx\n" {
		t.Fatalf("a file without timestamps must come out as it is, got %q", out.String())
	}
}

func TestFollowCursorNeverPrintsTwice(t *testing.T) {
	c := &followCursor{}
	poll := func(body string) string {
		var out bytes.Buffer
		writeLines(&out, c.Fresh(splitLines("n1", []byte(body), testNow)), false)
		return out.String()
	}
	first := poll("Nov 26 20:00:01.100000 h u: a\nNov 26 20:00:01.500000 h u: b\nNov 26 20:00:01.500000 h u: b\n")
	if first != "Nov 26 20:00:01.100000 h u: a\nNov 26 20:00:01.500000 h u: b\nNov 26 20:00:01.500000 h u: b\n" {
		t.Fatalf("first poll printed %q", first)
	}
	if got := c.SinceTime(); !got.Equal(time.Date(2024, 11, 26, 20, 0, 1, 0, time.UTC)) {
		t.Fatalf("sinceTime must be the cursor's second, got %v", got)
	}
	// sinceTime is inclusive and per second: the same second comes back,
	// with one more identical "b" and a new line.
	second := poll("-- No entries --\nNov 26 20:00:01.100000 h u: a\nNov 26 20:00:01.500000 h u: b\nNov 26 20:00:01.500000 h u: b\nNov 26 20:00:01.500000 h u: b\n  tail of third b\nNov 26 20:00:02.000000 h u: c\n")
	if second != "Nov 26 20:00:01.500000 h u: b\n  tail of third b\nNov 26 20:00:02.000000 h u: c\n" {
		t.Fatalf("second poll printed %q", second)
	}
	if third := poll("Nov 26 20:00:02.000000 h u: c\n"); third != "" {
		t.Fatalf("third poll printed %q, want nothing", third)
	}
}

func TestFollowCursorStartsAtPollTimeWhenEmpty(t *testing.T) {
	c := &followCursor{}
	c.Fresh(splitLines("n1", []byte("-- No entries --\n"), testNow))
	c.StartAtIfEmpty(time.Date(2024, 11, 26, 20, 0, 0, 500, time.UTC))
	if got := c.SinceTime(); !got.Equal(time.Date(2024, 11, 26, 20, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %v", got)
	}
}

func TestInTimeOrderTurnsANewestFirstAnswerAround(t *testing.T) {
	// journalctl 252's answer to pattern + tailLines: newest first, each
	// entry's continuation line after it.
	newestFirst := splitLines("n1", []byte(
		"Nov 26 20:00:03.000000 n1 app[1]: three\n"+
			"                                 three, continued\n"+
			"Nov 26 20:00:02.000000 n1 app[1]: two\n"+
			"Nov 26 20:00:01.000000 n1 app[1]: one\n"), testNow)
	other := splitLines("n2", []byte("Nov 26 20:00:02.500000 n2 app[1]: n2\n"), testNow)
	var out bytes.Buffer
	if err := writeLines(&out, mergeByTime([][]LogLine{inTimeOrder(newestFirst), inTimeOrder(other)}), true); err != nil {
		t.Fatal(err)
	}
	want := "n1: Nov 26 20:00:01.000000 n1 app[1]: one\n" +
		"n1: Nov 26 20:00:02.000000 n1 app[1]: two\n" +
		"n2: Nov 26 20:00:02.500000 n2 app[1]: n2\n" +
		"n1: Nov 26 20:00:03.000000 n1 app[1]: three\n" +
		"n1:                                  three, continued\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	ordered := splitLines("n1", []byte("-- Boot 1 --\nNov 26 20:00:01.000000 n1 a: x\nNov 26 20:00:02.000000 n1 a: y\n"), testNow)
	if got := inTimeOrder(ordered); &got[0] != &ordered[0] {
		t.Error("an ordered answer must be returned as it is")
	}
}
