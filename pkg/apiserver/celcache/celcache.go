// Package celcache is what makes kubenext's ValidatingAdmissionPolicy and
// MutatingAdmissionPolicy cheaper per request than upstream's, behind the
// CELAdmissionCache gate (issue 18, docs/design/cel-admission-cache.md).
//
// Upstream parses every binding's label selectors again on every request
// and converts the request, the namespace and the authorizer to CEL values
// once per policy and per expression list. Hooks in k8s.io/apiserver
// (staging/k8s.io/apiserver) call this package instead:
//
//   - LabelSelectorAsSelector keeps the parsed selector of each selector
//     object (selectors.go);
//   - Inputs, installed in the context for one Dispatch, builds the
//     request-level inputs once and hands the same values to every policy
//     and binding (inputs.go).
//
// Neither can change a result: the values come from upstream's own
// constructors with the same arguments, CEL charges cost per operation and
// never for building a value, and variables (the only policy-specific
// inputs) are never shared. With the gate off every entry point calls
// upstream's function directly.
package celcache

import (
	utilfeature "k8s.io/apiserver/pkg/util/feature"

	"github.com/kubenext/kubenext/pkg/features"
)

// Enabled reports whether the CELAdmissionCache gate is on.
func Enabled() bool {
	return utilfeature.DefaultFeatureGate.Enabled(features.CELAdmissionCache)
}
