//go:build linux && cgo

package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/sdjournal"
	"k8s.io/utils/ptr"
)

// journalRemote writes journal files from the export format. The unit
// target installs it (make cgo-deps); elsewhere these tests say what is
// missing and skip.
const journalRemote = "/lib/systemd/systemd-journal-remote"

// writeJournalFile turns entries into a real journal file, so that the
// one-pass read runs against sd-journal itself rather than a fake.
func writeJournalFile(t testing.TB, entries []map[string]string) string {
	t.Helper()
	if _, err := os.Stat(journalRemote); err != nil {
		t.Skipf("%s is missing (apt-get install systemd-journal-remote): %v", journalRemote, err)
	}
	var export bytes.Buffer
	for i, e := range entries {
		fmt.Fprintf(&export, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n", 1764586800000000+uint64(i)*1000, 1000+i)
		for k, v := range e {
			if !strings.ContainsAny(v, "\n") {
				fmt.Fprintf(&export, "%s=%s\n", k, v)
				continue
			}
			// The export format's binary form, for values with newlines.
			export.WriteString(k + "\n")
			_ = binary.Write(&export, binary.LittleEndian, uint64(len(v)))
			export.WriteString(v + "\n")
		}
		export.WriteString("\n")
	}
	path := filepath.Join(t.TempDir(), "test.journal")
	cmd := exec.Command(journalRemote, "--output="+path, "--split-mode=none", "-")
	cmd.Stdin = &export
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", journalRemote, err, out)
	}
	return path
}

func openFile(t testing.TB, path string) *sdjournal.Journal {
	t.Helper()
	j, err := sdjournal.NewJournalFromFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.SetDataThreshold(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func onePassEntries() []map[string]string {
	boot := "0123456789abcdef0123456789abcdef"
	entries := []map[string]string{
		{"_BOOT_ID": boot, "_HOSTNAME": "node", "SYSLOG_IDENTIFIER": "kubelet", "_PID": "42", "MESSAGE": "I1201 first line"},
		{"_BOOT_ID": boot, "_HOSTNAME": "node", "_COMM": "containerd", "_PID": "7", "MESSAGE": "multi\nline\nmessage"},
		{"_BOOT_ID": boot, "_HOSTNAME": "node", "SYSLOG_IDENTIFIER": "no-message", "_PID": "8"},
		{"_BOOT_ID": boot, "_HOSTNAME": "node", "SYSLOG_IDENTIFIER": "empty", "MESSAGE": ""},
		{"_BOOT_ID": boot, "SYSLOG_IDENTIFIER": "sender", "SYSLOG_PID": "9", "_PID": "10",
			"_SOURCE_REALTIME_TIMESTAMP": "1764586799000001", "MESSAGE": "unicode: žluťoučký kůň ☃"},
		// A prefix of a wanted field's name is not that field.
		{"_BOOT_ID": boot, "_HOSTNAME": "node", "MESSAGE_ID": "abc", "_PIDX": "1", "MESSAGE": "prefixes"},
		// Larger than the first buffer, so the read grows it and reads again.
		{"_BOOT_ID": boot, "_HOSTNAME": "node", "SYSLOG_IDENTIFIER": "big", "MESSAGE": strings.Repeat("x", 6000)},
	}
	for i := range 200 {
		entries = append(entries, map[string]string{"_BOOT_ID": boot, "_HOSTNAME": "node",
			"SYSLOG_IDENTIFIER": "bulk", "_PID": "11", "MESSAGE": fmt.Sprintf("line %d", i)})
	}
	return entries
}

func TestOnePassFindsGoSystemdsHandle(t *testing.T) {
	j := openFile(t, writeJournalFile(t, onePassEntries()[:1]))
	if journalHandle(j) == nil {
		t.Fatal("go-systemd's Journal has no cjournal *sd_journal field any more: reads fall back to one cgo call per field; update journalHandle")
	}
	if _, ok := withOnePass(j).(*onePass); !ok {
		t.Fatal("sd-journal's data functions were not found in the loaded libsystemd")
	}
}

func TestOnePassReadsWhatFieldByFieldReads(t *testing.T) {
	path := writeJournalFile(t, onePassEntries())
	fieldByField := openFile(t, path)
	one, ok := withOnePass(openFile(t, path)).(*onePass)
	if !ok {
		t.Fatal("no one-pass reader")
	}
	one.buf = make([]byte, 8) // every non-trivial entry takes the grow path
	n := 0
	for {
		a, errA := fieldByField.Next()
		b, errB := one.Next()
		if errA != nil || errB != nil || a != b {
			t.Fatalf("Next: %d, %v against %d, %v", a, errA, b, errB)
		}
		if a == 0 {
			break
		}
		want, err := readEntry(fieldByField)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readEntry(one)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("entry %d:\none-pass:       %+v\nfield by field: %+v", n, got, want)
		}
		n++
	}
	if want := len(onePassEntries()); n != want {
		t.Fatalf("read %d entries, wrote %d", n, want)
	}
}

func TestOnePassCopyMatchesFieldByField(t *testing.T) {
	path := writeJournalFile(t, onePassEntries())
	for _, q := range []Query{{}, {TailLines: ptr.To(5)}, {Pattern: "line 1"}, {Pattern: "^line", TailLines: ptr.To(3)}} {
		var want, got strings.Builder
		if err := Copy(context.Background(), &want, openFile(t, path), q, RunningBoot); err != nil {
			t.Fatal(err)
		}
		if err := Copy(context.Background(), &got, withOnePass(openFile(t, path)), q, RunningBoot); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("query %+v: one-pass output differs:\n%s\nfield by field:\n%s", q, got.String(), want.String())
		}
		if strings.Count(want.String(), "\n") < 3 {
			t.Fatalf("query %+v printed too little to compare:\n%s", q, want.String())
		}
	}
}

// BenchmarkReadEntry reads every entry of a 10,000-entry journal file
// field by field and in one pass (make bench-nodelogs-read).
func BenchmarkReadEntry(b *testing.B) {
	boot := "0123456789abcdef0123456789abcdef"
	var entries []map[string]string
	for i := range 10000 {
		entries = append(entries, map[string]string{"_BOOT_ID": boot, "_HOSTNAME": "node", "_COMM": "kubelet",
			"SYSLOG_IDENTIFIER": "kubelet", "_PID": "42", "_SYSTEMD_UNIT": "kubelet.service", "_UID": "0", "_GID": "0",
			"_CMDLINE": "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml", "_EXE": "/usr/bin/kubelet",
			"MESSAGE": fmt.Sprintf("I1201 11:00:00.%06d 42 reconciler.go:123] a line of the kubelet's usual length, number %d", i, i)})
	}
	path := writeJournalFile(b, entries)
	for _, c := range []struct {
		name string
		open func() Reader
	}{
		{"field-by-field", func() Reader { return openFile(b, path) }},
		{"one-pass", func() Reader { return withOnePass(openFile(b, path)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := c.open()
			read := 0
			for b.Loop() {
				n, err := r.Next()
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					if err := r.SeekHead(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := readEntry(r); err != nil {
					b.Fatal(err)
				}
				read++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(read, 1)), "ns/entry")
		})
	}
}
