package patchtree

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Module is a pinned module whose pristine source sits in Dir.
type Module struct {
	Path    string
	Version string
	Dir     string // read-only source, normally in the module cache
	Sum     string // go.sum hash of the module zip; part of the stamp
}

func (m Module) String() string { return m.Path + "@" + m.Version }

// Overlay is what a series changes relative to the pristine module.
type Overlay struct {
	Files   map[string][]byte // slash-separated path -> new content
	Modes   map[string]fs.FileMode
	Deleted map[string]bool
}

// ApplySeries applies every patch of s, in order, to mod's files and
// returns the resulting overlay. Nothing is written to disk.
func ApplySeries(mod Module, s Series) (*Overlay, error) {
	ov := &Overlay{Files: map[string][]byte{}, Modes: map[string]fs.FileMode{}, Deleted: map[string]bool{}}
	for _, p := range s.Patches {
		for _, f := range p.Files {
			if err := applyFile(mod, ov, f); err != nil {
				return nil, fmt.Errorf("patch %s does not apply to %s: %w", p.Path, mod, err)
			}
		}
	}
	return ov, nil
}

func applyFile(mod Module, ov *Overlay, f *gitdiff.File) error {
	var src []byte
	if !f.IsNew {
		var err error
		src, err = ov.read(mod, f.OldName)
		if err != nil {
			return fmt.Errorf("%s: %w", f.OldName, err)
		}
	}
	if f.IsDelete {
		delete(ov.Files, f.OldName)
		ov.Deleted[f.OldName] = true
		return nil
	}
	var out bytes.Buffer
	if err := gitdiff.Apply(&out, bytes.NewReader(src), f); err != nil {
		return describeApplyError(f, err)
	}
	if f.IsRename {
		delete(ov.Files, f.OldName)
		ov.Deleted[f.OldName] = true
	}
	delete(ov.Deleted, f.NewName)
	ov.Files[f.NewName] = out.Bytes()
	if f.NewMode != 0 {
		ov.Modes[f.NewName] = f.NewMode.Perm()
	}
	return nil
}

// describeApplyError names the file, the hunk and the source line, so that
// a failed rebase points straight at the context that moved.
func describeApplyError(f *gitdiff.File, err error) error {
	var ae *gitdiff.ApplyError
	if !errors.As(err, &ae) || ae.Fragment == 0 || ae.Fragment > len(f.TextFragments) {
		return fmt.Errorf("%s: %w", f.NewName, err)
	}
	frag := f.TextFragments[ae.Fragment-1]
	hunk := fmt.Sprintf("@@ -%d,%d +%d,%d @@", frag.OldPosition, frag.OldLines, frag.NewPosition, frag.NewLines)
	if frag.Comment != "" {
		hunk += " " + frag.Comment
	}
	return fmt.Errorf("%s: hunk #%d %q fails at line %d of the pristine file: %w", f.NewName, ae.Fragment, hunk, ae.Line, err)
}

// read returns the current content of name: patched if an earlier patch
// touched it, pristine otherwise.
func (ov *Overlay) read(mod Module, name string) ([]byte, error) {
	if ov.Deleted[name] {
		return nil, fmt.Errorf("deleted by an earlier patch")
	}
	if b, ok := ov.Files[name]; ok {
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(mod.Dir, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no such file in %s", mod)
	}
	return b, err
}
