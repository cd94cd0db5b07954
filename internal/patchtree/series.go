// Package patchtree materializes patched copies of pinned Go modules.
//
// Our changes to upstream live as patch series under staging/<module path>/
// (NNNN-<what>.patch). For each module with a series, the pinned module is
// read from the module cache, the series is applied in memory, and the
// result is synchronized into _output/src/<module>@<version>. A generated
// go.work then points the build at those trees.
//
// The module cache is only ever read. Every write goes through a fresh
// file that is renamed into place, so a tree whose files were hard-linked
// to the cache can never write through to it.
package patchtree

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Series is the ordered list of patches for one module.
type Series struct {
	Module  string // module path, e.g. k8s.io/kubernetes
	Patches []Patch
}

// Patch is one parsed patch file.
type Patch struct {
	Path   string // path of the .patch file, as found
	Header Header
	Files  []*gitdiff.File
	raw    []byte
}

// Header is the description every patch must start with.
type Header struct {
	Subject string
	What    string
	Why     string
	// Calls names the package of ours the patch hooks into, or "none" for
	// patches that only carry generated code.
	Calls string
	// GeneratedBy names the tool that wrote the patch ("hack/codegen
	// <generator>"); empty for hand-written patches. Generated patches are
	// numbered 9000 and up, so they apply after every hand-written one.
	GeneratedBy string
}

// GeneratedSeriesStart is the first number of the generated patches' range.
const GeneratedSeriesStart = 9000

// HandWritten returns the series without its generated patches: the input
// from which hack/codegen regenerates them.
func (s Series) HandWritten() Series {
	out := Series{Module: s.Module}
	for _, p := range s.Patches {
		if p.Header.GeneratedBy == "" {
			out.Patches = append(out.Patches, p)
		}
	}
	return out
}

var patchName = regexp.MustCompile(`^[0-9]{4}-[a-z0-9][a-z0-9-]*\.patch$`)

// FindSeries walks stagingDir and returns one Series per module directory
// that holds patches, sorted by module path. A directory's path relative to
// stagingDir is its module path.
func FindSeries(stagingDir string) ([]Series, error) {
	byModule := map[string][]string{}
	err := filepath.WalkDir(stagingDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || filepath.Ext(path) != ".patch" {
			return nil
		}
		if !patchName.MatchString(d.Name()) {
			return fmt.Errorf("%s: patch files are named NNNN-<what>.patch (four digits, lower-case words joined by '-'); rename it", path)
		}
		rel, err := filepath.Rel(stagingDir, filepath.Dir(path))
		if err != nil {
			return err
		}
		module := filepath.ToSlash(rel)
		byModule[module] = append(byModule[module], path)
		return nil
	})
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	modules := make([]string, 0, len(byModule))
	for m := range byModule {
		modules = append(modules, m)
	}
	sort.Strings(modules)

	var all []Series
	for _, module := range modules {
		paths := byModule[module]
		sort.Strings(paths)
		s := Series{Module: module}
		for _, p := range paths {
			patch, err := ReadPatch(p)
			if err != nil {
				return nil, err
			}
			if err := checkNumberRange(patch); err != nil {
				return nil, err
			}
			s.Patches = append(s.Patches, patch)
		}
		all = append(all, s)
	}
	return all, nil
}

// ReadPatch parses a patch file and checks its header.
func ReadPatch(path string) (Patch, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Patch{}, err
	}
	files, preamble, err := gitdiff.Parse(strings.NewReader(string(raw)))
	if err != nil {
		return Patch{}, fmt.Errorf("patch %s: not a valid unified diff: %w", path, err)
	}
	if len(files) == 0 {
		return Patch{}, fmt.Errorf("patch %s: contains no file changes", path)
	}
	hdr, err := parseHeader(preamble)
	if err != nil {
		return Patch{}, fmt.Errorf("patch %s: %w", path, err)
	}
	return Patch{Path: path, Header: hdr, Files: files, raw: raw}, nil
}

// parseHeader reads "Key: value" lines from the text before the first diff.
// A value continues on following lines that are indented.
func parseHeader(preamble string) (Header, error) {
	fields := map[string]*string{}
	var h Header
	fields["subject"] = &h.Subject
	fields["what"] = &h.What
	fields["why"] = &h.Why
	fields["calls"] = &h.Calls
	fields["generated-by"] = &h.GeneratedBy

	var current *string
	sc := bufio.NewScanner(strings.NewReader(preamble))
	for sc.Scan() {
		line := sc.Text()
		if current != nil && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
			*current += " " + strings.TrimSpace(line)
			continue
		}
		current = nil
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if dst, known := fields[strings.ToLower(strings.TrimSpace(key))]; known {
			*dst = strings.TrimSpace(value)
			current = dst
		}
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"Subject", h.Subject}, {"What", h.What}, {"Why", h.Why}, {"Calls", h.Calls},
	} {
		if f.value == "" {
			missing = append(missing, f.name+":")
		}
	}
	if len(missing) > 0 {
		return h, fmt.Errorf("header lacks %s; every patch starts with Subject:, What:, Why: and Calls: lines (Calls: names the package of ours it hooks into, or none)", strings.Join(missing, ", "))
	}
	return h, nil
}

// checkNumberRange keeps generated patches after hand-written ones: codegen
// regenerates them from the tree the hand-written patches produce.
func checkNumberRange(p Patch) error {
	var n int
	fmt.Sscanf(filepath.Base(p.Path), "%04d-", &n)
	switch generated := p.Header.GeneratedBy != ""; {
	case generated && n < GeneratedSeriesStart:
		return fmt.Errorf("%s: a generated patch (Generated-By: %s) must be numbered %d or higher; hack/codegen names them", p.Path, p.Header.GeneratedBy, GeneratedSeriesStart)
	case !generated && n >= GeneratedSeriesStart:
		return fmt.Errorf("%s: numbers from %d are for generated patches; number a hand-written patch below it, or add the Generated-By: header if hack/codegen wrote it", p.Path, GeneratedSeriesStart)
	}
	return nil
}
