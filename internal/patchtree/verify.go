package patchtree

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// CheckCalls makes a patch's Calls: header honest: the named package must
// be one of ours, exist, and be imported by a line the patch adds.
func CheckCalls(p Patch, ownModule, repoRoot string) error {
	calls := p.Header.Calls
	if calls == "none" {
		return nil
	}
	rel, ok := strings.CutPrefix(calls, ownModule+"/")
	if !ok {
		return fmt.Errorf("patch %s: Calls: %q is not a package of %s; hooks call into our own packages", p.Path, calls, ownModule)
	}
	if info, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(rel))); err != nil || !info.IsDir() {
		return fmt.Errorf("patch %s: Calls: %s names a package that does not exist in this repository", p.Path, calls)
	}
	quoted := strconv.Quote(calls)
	for _, f := range p.Files {
		for _, frag := range f.TextFragments {
			for _, line := range frag.Lines {
				if line.Op == gitdiff.OpAdd && strings.Contains(line.Line, quoted) {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("patch %s: Calls: says %s, but no line the patch adds imports it", p.Path, calls)
}
