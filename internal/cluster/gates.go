package cluster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	kubefeatures "k8s.io/kubernetes/pkg/features"

	kubenextfeatures "github.com/kubenext/kubenext/pkg/features"
)

// DefaultGates are the gates a kubenext cluster turns on unless the user
// says otherwise: every gate whose default is off and that one of the seven
// features needs. The GA features are locked on upstream and need nothing.
func DefaultGates() map[string]bool {
	return map[string]bool{
		string(kubenextfeatures.KeystoneContainers):               true,
		string(kubenextfeatures.ContainerRestartRuleTerminatePod): true,
		string(kubenextfeatures.NodeLogQueryInProcess):            true,
		// CELAdmissionCache stays off until the cluster's CEL specs have
		// passed with it on; its results are checked in process so far.
		string(kubenextfeatures.CELAdmissionCache): false,
		string(kubefeatures.EventedPLEG):           true,
	}
}

// ResolveGates overlays a user's "A=true,B=false" list on DefaultGates and
// checks the result against the registry every kubenext component uses, so
// that a gate no component knows is refused before any node starts.
func ResolveGates(spec string) (map[string]bool, error) {
	gates := DefaultGates()
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("GATES item %q: write Name=true or Name=false", item)
		}
		enabled, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("GATES item %q: %q is not true or false", item, value)
		}
		gates[strings.TrimSpace(name)] = enabled
	}
	check := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	if err := check.SetFromMap(gates); err != nil {
		return nil, fmt.Errorf("%v: no kubenext component would start with it. Our own gates are %s; upstream's are listed by `kube-apiserver --help`; see docs/feature-gates.md", err, strings.Join(ourGates(), ", "))
	}
	return gates, nil
}

// FormatGates renders gates as a --feature-gates value, sorted.
func FormatGates(gates map[string]bool) string {
	names := make([]string, 0, len(gates))
	for name := range gates {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s=%t", name, gates[name]))
	}
	return strings.Join(parts, ",")
}

func ourGates() []string {
	var names []string
	for _, g := range kubenextfeatures.Gates() {
		names = append(names, string(g))
	}
	sort.Strings(names)
	return names
}
