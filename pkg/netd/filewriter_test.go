package netd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileIfChanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net.d")
	path := filepath.Join(dir, CNIConfigFileName)

	steps := []struct {
		name        string
		data        string
		wantChanged bool
	}{
		{name: "creates the directory and the file", data: "one\n", wantChanged: true},
		{name: "same content is not rewritten", data: "one\n", wantChanged: false},
		{name: "new content replaces the file", data: "two\n", wantChanged: true},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before, _ := os.Stat(path)
			changed, err := WriteFileIfChanged(path, []byte(step.data), 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if changed != step.wantChanged {
				t.Errorf("changed = %v, want %v", changed, step.wantChanged)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != step.data {
				t.Errorf("content = %q, want %q", got, step.data)
			}
			after, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if after.Mode().Perm() != 0o644 {
				t.Errorf("mode = %v, want 0644", after.Mode().Perm())
			}
			if !step.wantChanged && !os.SameFile(before, after) {
				t.Errorf("unchanged content replaced the file")
			}
		})
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only %s (no temporary files left)", len(entries), CNIConfigFileName)
	}
}

func TestWriteFileIfChangedIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CNIConfigFileName)
	if _, err := WriteFileIfChanged(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file keeps reading the old content: the new
	// one arrives as a different inode by rename, not by truncation.
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := WriteFileIfChanged(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := held.Read(buf)
	if string(buf[:n]) != "old\n" {
		t.Fatalf("open reader saw %q, want the old content", buf[:n])
	}
}
