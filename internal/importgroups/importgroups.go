// Package importgroups checks the import layout this repository uses:
// groups separated by a blank line, in this order, each holding one kind
// only: the standard library, other modules, then our own module. A kind
// may take more than one group only where the later group opens with a
// comment saying why it stands apart. gofmt sorts within a group but never moves an import from
// one group to another, so this check does what gofmt cannot.
package importgroups

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
)

// Kind is where an import comes from.
type Kind int

const (
	Std Kind = iota
	ThirdParty
	Own
)

func (k Kind) String() string {
	return [...]string{"standard library", "third-party", "own module"}[k]
}

// KindOf classifies path: a path whose first element has no dot is the
// standard library's (as goimports decides).
func KindOf(path, ownModule string) Kind {
	switch {
	case path == ownModule || strings.HasPrefix(path, ownModule+"/"):
		return Own
	case !strings.Contains(strings.SplitN(path, "/", 2)[0], "."):
		return Std
	}
	return ThirdParty
}

// Check returns one message per problem in the Go source src, named file.
func Check(file string, src []byte, ownModule string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var problems []string
	lastLine, lastKind := -1, Kind(-1)
	seen := map[Kind]bool{}
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return nil, err
		}
		// cgo's import "C" stands alone under its preamble, as cgo
		// requires; it belongs to no group.
		if path == "C" {
			continue
		}
		kind := KindOf(path, ownModule)
		line := fset.Position(spec.Pos()).Line
		if spec.Doc != nil {
			line = fset.Position(spec.Doc.Pos()).Line
		}
		newGroup := lastLine >= 0 && line > lastLine+1
		switch {
		case lastLine < 0 || newGroup:
			// A group led by a comment is set apart on purpose (blank
			// imports with a reason): it may repeat its kind.
			if seen[kind] && spec.Doc == nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %q starts a second %s group", file, line, path, kind))
			}
			if kind < lastKind {
				problems = append(problems, fmt.Sprintf("%s:%d: the %s group must come before the %s group", file, line, kind, lastKind))
			}
		case kind != lastKind:
			problems = append(problems, fmt.Sprintf("%s:%d: %q (%s) is in a %s group: separate the groups with a blank line", file, line, path, kind, lastKind))
		}
		seen[kind] = true
		lastLine, lastKind = fset.Position(spec.End()).Line, kind
	}
	return problems, nil
}

// CheckFiles checks each file; it returns every problem found and the
// first file it could not read or parse.
func CheckFiles(files []string, ownModule string) ([]string, error) {
	var all []string
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			return all, err
		}
		problems, err := Check(file, src, ownModule)
		if err != nil {
			return all, err
		}
		all = append(all, problems...)
	}
	return all, nil
}
