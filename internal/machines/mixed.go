package machines

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// mixedE2ELog is where the side-by-side run writes, in the state dir.
const mixedE2ELog = "mixed-e2e.log"

// runMixedE2E runs the e2e command while the cluster has upstream and
// kubenext kubelets at once: the specs that do not need our kubelet must
// pass on a cluster in the middle of its roll, the one users have for as
// long as a roll lasts.
func (u *Upgrade) runMixedE2E(ctx context.Context) error {
	kubelets, err := u.kubelets(ctx)
	if err != nil {
		return err
	}
	ours, theirs := 0, 0
	for node, version := range kubelets {
		u.Steps.Note("%s: kubelet %s", node, version)
		if strings.Contains(version, "+kubenext") {
			ours++
		} else {
			theirs++
		}
	}
	if ours == 0 || theirs == 0 {
		return fmt.Errorf("the cluster is not mixed (%d kubenext and %d upstream kubelets); the side-by-side run needs both", ours, theirs)
	}
	path := filepath.Join(u.StateDir, mixedE2ELog)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	u.Steps.Note("%s (output in %s)", u.MixedE2E, path)
	done := make(chan error, 1)
	go func() { done <- exec.RunLogged(u.Cmd.Command(ctx, "sh", "-c", u.MixedE2E), f) }()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			log, _ := os.ReadFile(path)
			p := ginkgoProgressOf(log)
			u.Steps.Note("%s", p)
			if err != nil {
				return fmt.Errorf("the e2e specs failed beside an upstream kubelet (%s): %w; see %s", p, err, path)
			}
			return nil
		case <-tick.C:
			log, _ := os.ReadFile(path)
			u.Steps.Note("still running: %s", ginkgoProgressOf(log))
		}
	}
}

// kubelets maps each node to the kubelet version it reports.
func (u *Upgrade) kubelets(ctx context.Context) (map[string]string, error) {
	out, err := u.kubectl(ctx, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion}{"\n"}{end}`)
	if err != nil {
		return nil, err
	}
	kubelets := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if node, version, ok := strings.Cut(line, " "); ok {
			kubelets[node] = version
		}
	}
	return kubelets, nil
}

// ginkgoProgress is what a verbose Ginkgo log says so far.
type ginkgoProgress struct {
	Finished, Failed int
	Summary          string // "Ran N of M Specs ...", once printed
}

func (p ginkgoProgress) String() string {
	if p.Summary != "" {
		return p.Summary
	}
	return fmt.Sprintf("%d specs finished, %d failed", p.Finished, p.Failed)
}

var (
	ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")
	// A verbose Ginkgo run ends each spec with a line like "• [3.1 seconds]",
	// or "• [FAILED] [3.1 seconds]" when it failed.
	specEnd = regexp.MustCompile(`^• (\[(FAILED|PANICKED|TIMEDOUT|INTERRUPTED)\] )?\[[0-9.]+ seconds\]`)
	ranLine = regexp.MustCompile(`^Ran [0-9]+ of [0-9]+ Specs.*`)
)

func ginkgoProgressOf(log []byte) ginkgoProgress {
	var p ginkgoProgress
	for _, raw := range bytes.Split(ansiEscape.ReplaceAll(log, nil), []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if m := specEnd.FindStringSubmatch(line); m != nil {
			p.Finished++
			if m[2] != "" {
				p.Failed++
			}
		}
		if ranLine.MatchString(line) {
			p.Summary = line
		}
	}
	if p.Summary != "" && p.Failed > 0 {
		p.Summary += fmt.Sprintf(" (%d failed)", p.Failed)
	}
	return p
}
