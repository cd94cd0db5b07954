package patchtree

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// stampFile records what a materialized tree was built from. Go ignores
// files whose names start with a dot, so it never ends up in a package.
const stampFile = ".patchtree-stamp"

// stampVersion changes whenever the way trees are built changes, so that
// trees built by an older patchtree are rebuilt.
const stampVersion = "patchtree/1"

// Stats says what a Materialize call did.
type Stats struct {
	UpToDate  bool // the stamp matched; nothing was read or written
	Written   int
	Removed   int
	Unchanged int
}

func (s Stats) String() string {
	if s.UpToDate {
		return "up to date"
	}
	return fmt.Sprintf("%d files written, %d removed, %d unchanged", s.Written, s.Removed, s.Unchanged)
}

// Stamp identifies the inputs of a materialized tree.
func Stamp(mod Module, s Series) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", stampVersion, mod.Path, mod.Version, mod.Sum)
	for _, p := range s.Patches {
		fmt.Fprintf(h, "%s\n%d\n", filepath.Base(p.Path), len(p.raw))
		h.Write(p.raw)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Materialize makes dst hold mod with the series applied. If dst's stamp
// says it was built from the same inputs, nothing is touched. Otherwise
// only files whose content or mode differ are rewritten, so an edit to one
// patch rewrites only the files that patch touches and the Go build cache
// stays warm for everything else.
func Materialize(mod Module, s Series, dst string) (Stats, error) {
	if err := refuseInside(dst, mod.Dir); err != nil {
		return Stats{}, err
	}
	stamp := Stamp(mod, s)
	if old, err := os.ReadFile(filepath.Join(dst, stampFile)); err == nil && string(old) == stamp {
		return Stats{UpToDate: true}, nil
	}
	ov, err := ApplySeries(mod, s)
	if err != nil {
		return Stats{}, err
	}
	// Drop the stamp first: a tree left half-synced by a crash must not
	// look up to date on the next run.
	if err := os.Remove(filepath.Join(dst, stampFile)); err != nil && !os.IsNotExist(err) {
		return Stats{}, err
	}
	var st Stats
	want := map[string]bool{stampFile: true}
	err = filepath.WalkDir(mod.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel := filepath.ToSlash(mustRel(mod.Dir, path))
		if ov.Deleted[rel] {
			return nil
		}
		want[rel] = true
		content, patched := ov.Files[rel]
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := normalMode(info.Mode())
		if m, ok := ov.Modes[rel]; ok {
			mode = normalMode(m)
		}
		if !patched {
			if content, err = os.ReadFile(path); err != nil {
				return err
			}
		}
		return syncFile(&st, filepath.Join(dst, filepath.FromSlash(rel)), content, mode)
	})
	if err != nil {
		return Stats{}, err
	}
	for rel, content := range ov.Files { // files the series creates
		if want[rel] {
			continue
		}
		want[rel] = true
		mode := normalMode(ov.Modes[rel])
		if err := syncFile(&st, filepath.Join(dst, filepath.FromSlash(rel)), content, mode); err != nil {
			return Stats{}, err
		}
	}
	if err := removeUnwanted(&st, dst, want); err != nil {
		return Stats{}, err
	}
	if err := writeFileAtomic(filepath.Join(dst, stampFile), []byte(stamp), 0o644); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// normalMode gives every copied file an owner-writable mode: module cache
// files are read-only, and a read-only tree could not be re-synced.
func normalMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func syncFile(st *Stats, path string, content []byte, mode fs.FileMode) error {
	if info, err := os.Lstat(path); err == nil && info.Mode().IsRegular() && info.Mode().Perm() == mode && info.Size() == int64(len(content)) {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
			st.Unchanged++
			return nil
		}
	}
	st.Written++
	return writeFileAtomic(path, content, mode)
}

// writeFileAtomic writes a new inode and renames it over path. Writing in
// place would follow a hard link back into the module cache.
func writeFileAtomic(path string, content []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".patchtree-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func removeUnwanted(st *Stats, dst string, want map[string]bool) error {
	var stale []string
	err := filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !want[filepath.ToSlash(mustRel(dst, path))] {
			stale = append(stale, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, path := range stale {
		if err := os.Remove(path); err != nil {
			return err
		}
		st.Removed++
	}
	return nil
}

// refuseInside rejects a destination inside (or equal to) the source tree,
// which for us is the module cache.
func refuseInside(dst, src string) error {
	absDst, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if absDst == absSrc || strings.HasPrefix(absDst, absSrc+string(filepath.Separator)) {
		return fmt.Errorf("refusing to materialize into %s: it is inside the pristine module at %s, which must stay read-only", dst, src)
	}
	return nil
}

func mustRel(base, path string) string {
	rel, err := filepath.Rel(base, path)
	if err != nil {
		panic(err) // WalkDir only yields paths under base
	}
	return rel
}
