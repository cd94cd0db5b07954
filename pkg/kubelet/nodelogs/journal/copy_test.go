package journal

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal/journaltest"
)

const (
	bootA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	bootB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func kubeletLine(hms string, micro int, boot, msg string) map[string]string {
	return map[string]string{"__REALTIME": at(hms, micro), "_BOOT_ID": boot, "_HOSTNAME": "node",
		"_SYSTEMD_UNIT": "kubelet.service", "SYSLOG_IDENTIFIER": "kubelet", "_PID": "42", "MESSAGE": msg}
}

// testJournal: boot A (previous) and boot B (running), kubelet and
// containerd lines, systemd's own line about the kubelet, a coredump.
func testJournal() *journaltest.Journal {
	return newFakeJournal(
		kubeletLine("10:00:00", 1, bootA, "old boot starting"),
		kubeletLine("10:00:01", 2, bootA, "old boot ERROR here"),
		map[string]string{"__REALTIME": at("11:00:00", 0), "_BOOT_ID": bootB, "_HOSTNAME": "node", "_PID": "1", "_COMM": "systemd",
			"SYSLOG_IDENTIFIER": "systemd", "UNIT": "kubelet.service", "MESSAGE": "Started kubelet."},
		kubeletLine("11:00:01", 100, bootB, "I1201 first line"),
		map[string]string{"__REALTIME": at("11:00:01", 200), "_BOOT_ID": bootB, "_HOSTNAME": "node",
			"_SYSTEMD_UNIT": "containerd.service", "SYSLOG_IDENTIFIER": "containerd", "_PID": "7", "MESSAGE": "level=error containerd"},
		kubeletLine("11:00:02", 300, bootB, "E1201 an error"),
		kubeletLine("11:00:03", 400, bootB, "W1201 warning\nsecond line"),
		map[string]string{"__REALTIME": at("11:00:04", 0), "_BOOT_ID": bootB, "_HOSTNAME": "node", "_UID": "0",
			"MESSAGE_ID": coredumpMessageID, "COREDUMP_UNIT": "kubelet.service", "SYSLOG_IDENTIFIER": "systemd-coredump", "_PID": "99",
			"MESSAGE": "Process 42 (kubelet) dumped core."},
		kubeletLine("11:00:05", 500, bootB, "I1201 last line"),
	)
}

func running() (string, error) { return bootB, nil }

func tm(hms string) *time.Time {
	t, err := time.Parse(time.RFC3339, "2026-12-01T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return &t
}

func run(t *testing.T, j Reader, q Query) string {
	t.Helper()
	var out strings.Builder
	if err := Copy(context.Background(), &out, j, q, running); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestCopy(t *testing.T) {
	const (
		oldStart = "Dec 01 10:00:00.000001 node kubelet[42]: old boot starting\n"
		oldError = "Dec 01 10:00:01.000002 node kubelet[42]: old boot ERROR here\n"
		started  = "Dec 01 11:00:00.000000 node systemd[1]: Started kubelet.\n"
		first    = "Dec 01 11:00:01.000100 node kubelet[42]: I1201 first line\n"
		ctrd     = "Dec 01 11:00:01.000200 node containerd[7]: level=error containerd\n"
		errLine  = "Dec 01 11:00:02.000300 node kubelet[42]: E1201 an error\n"
		warn     = "Dec 01 11:00:03.000400 node kubelet[42]: W1201 warning\n" +
			"                                         second line\n"
		core = "Dec 01 11:00:04.000000 node systemd-coredump[99]: Process 42 (kubelet) dumped core.\n"
		last = "Dec 01 11:00:05.000500 node kubelet[42]: I1201 last line\n"
		sep  = "-- Boot " + bootB + " --\n"
		none = "-- No entries --\n"
	)
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"a unit: its lines, systemd's about it, its coredump, boot separators",
			Query{Services: []string{"kubelet"}}, oldStart + oldError + sep + started + first + errLine + warn + core + last},
		{"two units merged in journal order", Query{Services: []string{"kubelet", "containerd.service"}, SinceTime: tm("11:00:01")},
			first + ctrd + errLine + warn + core + last},
		{"an unknown unit", Query{Services: []string{"nothing"}}, none},
		{"tailLines", Query{Services: []string{"kubelet"}, TailLines: ptr.To(2)}, core + last},
		{"tailLines 0", Query{Services: []string{"kubelet"}, TailLines: ptr.To(0)}, none},
		{"tailLines beyond the journal", Query{Services: []string{"kubelet"}, TailLines: ptr.To(100000)},
			oldStart + oldError + sep + started + first + errLine + warn + core + last},
		{"a window at line boundaries (until is inclusive to the second)", Query{Services: []string{"kubelet"}, SinceTime: tm("11:00:01"), UntilTime: tm("11:00:03")},
			first + errLine},
		{"journalctl 252: with sinceTime, tailLines counts from it", Query{Services: []string{"kubelet"}, SinceTime: tm("11:00:00"), TailLines: ptr.To(1)},
			started},
		{"journalctl 252: with untilTime, tailLines is the journal's last lines cut at it", Query{Services: []string{"kubelet"}, UntilTime: tm("11:00:03"), TailLines: ptr.To(2)},
			none},
		{"pattern, lower case matches any case", Query{Services: []string{"kubelet"}, Pattern: "error"}, oldError + sep + errLine},
		{"pattern with an upper-case letter is case-sensitive", Query{Services: []string{"kubelet"}, Pattern: "ERROR"}, oldError + sep},
		{"pattern anchors", Query{Services: []string{"kubelet"}, Pattern: "^I1201"}, sep + first + last},
		{"pattern and tailLines: the last matches, oldest first (journalctl 252 prints them newest first)",
			Query{Services: []string{"kubelet"}, Pattern: "1201", TailLines: ptr.To(2)}, warn + last},
		{"pattern, tailLines and untilTime", Query{Services: []string{"kubelet"}, Pattern: "1201", TailLines: ptr.To(2), UntilTime: tm("11:00:03")},
			first + errLine},
		{"pattern, tailLines and sinceTime", Query{Services: []string{"kubelet"}, Pattern: "line", TailLines: ptr.To(5), SinceTime: tm("11:00:02")},
			warn + last},
		{"boot 0 is the running boot", Query{Services: []string{"kubelet"}, Boot: ptr.To(0)}, started + first + errLine + warn + core + last},
		{"boot -1", Query{Services: []string{"kubelet"}, Boot: ptr.To(-1)}, oldStart + oldError},
		{"a boot the journal does not have", Query{Services: []string{"kubelet"}, Boot: ptr.To(-2)},
			"Data from the specified boot (-2) is not available: No such boot ID in journal\n"},
		{"a boot change among filtered-out lines", Query{Services: []string{"kubelet"}, Pattern: "starting|last line"},
			oldStart + sep + last},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := run(t, testJournal(), c.q); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestFormatShortPrecise(t *testing.T) {
	base := func(kv ...string) map[string]string {
		e := map[string]string{"__REALTIME": at("12:00:00", 5), "_BOOT_ID": bootB, "_SYSTEMD_UNIT": "x.service", "MESSAGE": "m"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(e, kv[i])
			} else {
				e[kv[i]] = kv[i+1]
			}
		}
		return e
	}
	cases := []struct {
		name  string
		entry map[string]string
		want  string
	}{
		{"no identifier: the command", base("_COMM", "sh", "_PID", "3"), "Dec 01 12:00:00.000005 sh[3]: m\n"},
		{"neither: unknown, no pid", base(), "Dec 01 12:00:00.000005 unknown: m\n"},
		{"SYSLOG_PID before _PID", base("SYSLOG_IDENTIFIER", "app", "SYSLOG_PID", "8", "_PID", "9"), "Dec 01 12:00:00.000005 app[8]: m\n"},
		{"the sender's timestamp is shown", base("SYSLOG_IDENTIFIER", "app", "_SOURCE_REALTIME_TIMESTAMP", at("11:59:59", 999999)), "Dec 01 11:59:59.999999 app: m\n"},
		{"an invalid sender timestamp is not", base("SYSLOG_IDENTIFIER", "app", "_SOURCE_REALTIME_TIMESTAMP", "x"), "Dec 01 12:00:00.000005 app: m\n"},
		{"binary message", base("SYSLOG_IDENTIFIER", "app", "MESSAGE", "a\x00b"), "Dec 01 12:00:00.000005 app: [3B blob data]\n"},
		{"large binary message", base("SYSLOG_IDENTIFIER", "app", "MESSAGE", strings.Repeat("\x01", 1536)), "Dec 01 12:00:00.000005 app: [1.5K blob data]\n"},
		{"a tab is eight spaces", base("SYSLOG_IDENTIFIER", "app", "MESSAGE", "a\tb"), "Dec 01 12:00:00.000005 app: a        b\n"},
		{"trailing newline", base("SYSLOG_IDENTIFIER", "app", "MESSAGE", "m\n"), "Dec 01 12:00:00.000005 app: m\n"},
		{"unprintable hostname left out", base("SYSLOG_IDENTIFIER", "app", "_HOSTNAME", "a\x01"), "Dec 01 12:00:00.000005 app: m\n"},
		{"no MESSAGE: counted, nothing printed", base("MESSAGE", ""), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := run(t, newFakeJournal(c.entry), Query{Services: []string{"x"}}); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestUnitName(t *testing.T) {
	for in, want := range map[string]string{"kubelet": "kubelet.service", "containerd.service": "containerd.service",
		"kubelet.slice": "kubelet.slice", "foo.bar": "foo.bar.service", "getty@tty1": "getty@tty1.service",
		".service": ".service.service"} {
		if got := UnitName(in); got != want {
			t.Errorf("UnitName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCopyStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Copy(ctx, &strings.Builder{}, testJournal(), Query{Services: []string{"kubelet"}}, running); err == nil {
		t.Fatal("a cancelled query must end with its context's error")
	}
}

func TestPatternFoldsASCIIOnly(t *testing.T) {
	cases := []struct {
		pattern, message string
		match            bool
	}{
		{"alpha", "ALPHA", true},
		{"alpha", "Alpha", true},
		{"ALPHA", "alpha", false},
		{"äöü", "ÄÖÜ", false}, // journalctl 252 on the node image
		{"grüße", "GRüßE", true},
		{"[a-c]x", "Bx", true},
		{"[a-c]x", "bX", true},
		{"k", "\u212a", false},   // Go's (?i) folds the Kelvin sign; PCRE2 without UCP does not
		{"(?i)äöü", "ÄÖÜ", true}, // an explicit (?i) keeps Go's folding (documented)
		{"^level=error one$", "LEVEL=error one", true},
		{`\d+ms`, "12MS", true},
	}
	for _, c := range cases {
		re, err := compilePattern(c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := re.MatchString(c.message); got != c.match {
			t.Errorf("%q on %q: %v, want %v (compiled %s)", c.pattern, c.message, got, c.match, re)
		}
	}
}

// TestRealJournalLeavesNothingOpen opens this machine's journal through
// sd-journal 1,000 times, each query abandoned by its context, and counts
// the process's file descriptors before and after.
func TestRealJournalLeavesNothingOpen(t *testing.T) {
	r, err := Open()
	if err != nil {
		t.Skipf("no journal here: %v", err)
	}
	_ = r.Close()
	before := openDescriptors(t)
	for i := range 1000 {
		ctx, cancel := context.WithCancel(context.Background())
		if i%2 == 0 {
			cancel()
		}
		r, err := Open()
		if err != nil {
			t.Fatal(err)
		}
		_ = Copy(ctx, &strings.Builder{}, r, Query{Services: []string{"kubelet"}, TailLines: ptr.To(10)}, RunningBoot)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	if after := openDescriptors(t); after > before {
		t.Errorf("%d file descriptors open after 1,000 queries, %d before", after, before)
	}
}

func openDescriptors(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(entries)
}
