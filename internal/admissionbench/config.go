// Package admissionbench is the logic of make bench-admission: it times
// ConfigMap creates against our kube-apiserver with no admission policy,
// with ValidatingAdmissionPolicies, with MutatingAdmissionPolicies and with
// a validating webhook that applies the same check, all in one run with the
// configurations interleaved. hack/bench/admission starts the control plane
// and prints the results.
package admissionbench

import "fmt"

// Kind says what admits the benchmark's ConfigMaps.
type Kind int

const (
	NoPolicy Kind = iota
	Validating
	Mutating
	Webhook
)

// Configuration is one arm of the benchmark.
type Configuration struct {
	// ID names the configuration in the CSV and on the command line.
	ID   string
	Kind Kind
	// Policies is how many policies (each with one binding) are installed;
	// 1 for the webhook, 0 with no policy.
	Policies int
}

// Title is the configuration's name in the markdown table.
func (c Configuration) Title() string {
	plural := func(one, many string) string {
		if c.Policies == 1 {
			return fmt.Sprintf("1 %s", one)
		}
		return fmt.Sprintf("%d %s", c.Policies, many)
	}
	switch c.Kind {
	case Validating:
		return plural("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicies")
	case Mutating:
		return plural("MutatingAdmissionPolicy", "MutatingAdmissionPolicies")
	case Webhook:
		return "validating webhook (TLS, loopback)"
	default:
		return "no policy"
	}
}

// Reference IDs: ratios in the table are against these two.
const (
	NoPolicyID = "none"
	WebhookID  = "webhook"
)

// Configurations is every arm of make bench-admission, in table order.
func Configurations() []Configuration {
	return []Configuration{
		{ID: NoPolicyID, Kind: NoPolicy},
		{ID: "vap-1", Kind: Validating, Policies: 1},
		{ID: "vap-10", Kind: Validating, Policies: 10},
		{ID: "vap-100", Kind: Validating, Policies: 100},
		{ID: "map-1", Kind: Mutating, Policies: 1},
		{ID: "map-10", Kind: Mutating, Policies: 10},
		{ID: WebhookID, Kind: Webhook, Policies: 1},
	}
}

// SelectConfigurations returns the configurations whose IDs are listed, in
// table order; an unknown ID is an error so that a typo does not silently
// shrink the run.
func SelectConfigurations(ids []string) ([]Configuration, error) {
	all := Configurations()
	want := map[string]bool{}
	for _, id := range ids {
		known := false
		for _, c := range all {
			known = known || c.ID == id
		}
		if !known {
			return nil, fmt.Errorf("unknown configuration %q", id)
		}
		want[id] = true
	}
	var out []Configuration
	for _, c := range all {
		if want[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}
