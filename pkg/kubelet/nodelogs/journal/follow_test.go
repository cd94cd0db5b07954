package journal

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs/journal/journaltest"
)

// followUntil runs Follow and, at each flush, hands the output so far to
// step, which may append entries; Follow ends when step says done.
func followUntil(t *testing.T, j *journaltest.Journal, q Query, step func(out string, flushes int) (done bool)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out strings.Builder
	flushes := 0
	flush := func() {
		flushes++
		if step(out.String(), flushes) {
			cancel()
		}
	}
	if err := Follow(ctx, &out, flush, j, q, running); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("the follow did not end; output:\n%s", out.String())
	}
	return out.String()
}

func TestFollowShowsTheBacklogThenNewEntries(t *testing.T) {
	j := testJournal()
	got := followUntil(t, j, Query{Services: []string{"kubelet"}, TailLines: ptr.To(2)}, func(out string, flushes int) bool {
		switch flushes {
		case 1:
			if !strings.HasSuffix(out, "Dec 01 11:00:04.000000 node systemd-coredump[99]: Process 42 (kubelet) dumped core.\nDec 01 11:00:05.000500 node kubelet[42]: I1201 last line\n") || strings.Count(out, "\n") != 2 {
				t.Errorf("backlog: %q", out)
			}
			j.Append(kubeletLine("11:00:06", 600, bootB, "I1201 new line"))
			j.Append(map[string]string{"__REALTIME": at("11:00:07", 0), "_BOOT_ID": bootB, "_SYSTEMD_UNIT": "containerd.service", "MESSAGE": "not ours"})
			return false
		default:
			return strings.Contains(out, "new line")
		}
	})
	if strings.Contains(got, "not ours") || !strings.HasSuffix(got, "Dec 01 11:00:06.000600 node kubelet[42]: I1201 new line\n") {
		t.Errorf("got:\n%s", got)
	}
}

func TestFollowWithPatternAndSince(t *testing.T) {
	j := testJournal()
	got := followUntil(t, j, Query{Services: []string{"kubelet"}, Pattern: "^I1201", TailLines: ptr.To(1)}, func(out string, flushes int) bool {
		if flushes == 1 {
			j.Append(kubeletLine("11:00:06", 600, bootB, "W1201 filtered"))
			j.Append(kubeletLine("11:00:07", 700, bootB, "I1201 shown"))
			return false
		}
		return strings.Contains(out, "shown")
	})
	if want := "Dec 01 11:00:05.000500 node kubelet[42]: I1201 last line\nDec 01 11:00:07.000700 node kubelet[42]: I1201 shown\n"; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	got = followUntil(t, testJournal(), Query{Services: []string{"kubelet"}, SinceTime: tm("11:00:05")}, func(string, int) bool { return true })
	if want := "Dec 01 11:00:05.000500 node kubelet[42]: I1201 last line\n"; got != want {
		t.Errorf("since: got %q", got)
	}
}

func TestFollowOnAnEmptyJournalWaitsForTheFirstEntry(t *testing.T) {
	j := journaltest.New()
	got := followUntil(t, j, Query{Services: []string{"kubelet"}}, func(out string, flushes int) bool {
		if flushes == 1 {
			j.Append(kubeletLine("11:00:06", 600, bootB, "first"))
			return false
		}
		return out != ""
	})
	if got != "Dec 01 11:00:06.000600 node kubelet[42]: first\n" {
		t.Errorf("got %q", got)
	}
}
