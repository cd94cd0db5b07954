package admissionbench

import (
	"fmt"
	"io"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
)

// AdmissionPackages hold the apiserver's policy and webhook admission
// plugins, for benchstat.CPUShare: CPU spent with one of their functions on
// the stack is what a configuration adds to a create inside the apiserver.
// (The webhook's own work runs in this benchmark's process and is not in
// the profile.)
var AdmissionPackages = []string{
	"k8s.io/apiserver/pkg/admission/plugin/policy/",
	"k8s.io/apiserver/pkg/admission/plugin/webhook/",
}

// ProfiledRun is one configuration's CPU profile and the creates the
// apiserver completed while it was taken.
type ProfiledRun struct {
	Configuration Configuration
	Creates       int
	// CPU is the apiserver's profile; Matched is in AdmissionPackages.
	CPU benchstat.Share
}

// WriteCPUTable writes the apiserver CPU per create of each profiled
// configuration. CPU per create does not depend on how long requests
// queued, so it is steadier than p99 on a shared machine.
func WriteCPUTable(w io.Writer, runs []ProfiledRun) error {
	if _, err := fmt.Fprintln(w, "| configuration | creates while profiled | apiserver CPU per create | of which admission plugins |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, r := range runs {
		if r.Creates == 0 {
			continue
		}
		perCreate := func(d time.Duration) string {
			return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(r.Creates))
		}
		if _, err := fmt.Fprintf(w, "| %s | %d | %s | %s |\n", r.Configuration.Title(), r.Creates, perCreate(r.CPU.Total), perCreate(r.CPU.Matched)); err != nil {
			return err
		}
	}
	return nil
}
