// Package terminatepod is the API server's side of the TerminatePod action
// of container restart rules (KEP-5307's restartPolicyRules, gate
// ContainerRestartRuleTerminatePod): which actions validation accepts, the
// ratchet that keeps stored objects valid while the gate is off, and the
// rules for where TerminatePod has a meaning. Upstream's pod validation and
// pkg/api/pod call it through one-line hooks (staging/k8s.io/kubernetes
// 0016, 0017).
//
// The value follows upstream's pattern for RestartAllContainers: with the
// gate off it is refused on create as an unsupported value, never dropped
// (dropping an action would change what the rule means), and an update of
// an object that already uses it is accepted.
package terminatepod

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	api "k8s.io/kubernetes/pkg/apis/core"

	"github.com/kubenext/kubenext/pkg/features"
)

// Enabled reports whether the API server runs with the gate on.
func Enabled() bool {
	return utilfeature.DefaultFeatureGate.Enabled(features.ContainerRestartRuleTerminatePod)
}

// Allowed is PodValidationOptions.AllowContainerRestartRuleTerminatePod:
// the gate is on, or the object being updated already uses the action.
func Allowed(oldSpec *api.PodSpec) bool {
	return allowed(Enabled(), oldSpec)
}

func allowed(enabled bool, oldSpec *api.PodSpec) bool {
	return enabled || InUse(oldSpec)
}

// SupportedActions returns the actions upstream's validation accepts for a
// restart rule: upstream's set, plus TerminatePod when allowed. Upstream's
// set is a package variable shared by every request, so it is cloned,
// never changed.
func SupportedActions(upstream sets.Set[api.ContainerRestartRuleAction], allowed bool) sets.Set[api.ContainerRestartRuleAction] {
	if !allowed {
		return upstream
	}
	return upstream.Clone().Insert(api.ContainerRestartRuleActionTerminatePod)
}

// InUse reports whether any container of spec has a TerminatePod rule.
func InUse(spec *api.PodSpec) bool {
	if spec == nil {
		return false
	}
	for i := range spec.Containers {
		if hasTerminatePod(spec.Containers[i].RestartPolicyRules) {
			return true
		}
	}
	for i := range spec.InitContainers {
		if hasTerminatePod(spec.InitContainers[i].RestartPolicyRules) {
			return true
		}
	}
	for i := range spec.EphemeralContainers {
		if hasTerminatePod(spec.EphemeralContainers[i].RestartPolicyRules) {
			return true
		}
	}
	return false
}

func hasTerminatePod(rules []api.ContainerRestartRule) bool {
	for _, r := range rules {
		if r.Action == api.ContainerRestartRuleActionTerminatePod {
			return true
		}
	}
	return false
}

// The messages name the fix.
const (
	msgInitContainer = "TerminatePod is only valid on regular containers: an init container's exit cannot end the pod; " +
		"move the container to spec.containers, or use action Restart"
	msgSidecar = "TerminatePod is not valid on sidecar containers (init containers with restartPolicy Always): " +
		"a sidecar's exit does not end the pod; put the rule on the regular container whose exit should end it, " +
		"or use action RestartAllContainers"
	msgEphemeral = "TerminatePod is not valid on ephemeral containers: they may not end the pod; remove the rule"
)

// ValidatePodSpec checks where TerminatePod rules are: only on regular
// containers, on one container per pod, and not in a pod that has a
// lifecycle.type: Keystone container (a pod uses one API or the other).
// Upstream's rules for restart rules (restartPolicy set, exitCodes, In or
// NotIn, at most 20 rules and 255 values) are checked by upstream.
//
// It applies whatever the gate says: with the gate off, creating an object
// with the value is already refused as an unsupported value, and an object
// stored with it passed these rules when it was created (restart rules
// cannot be updated).
func ValidatePodSpec(spec *api.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var owner *field.Path // the first regular container with TerminatePod rules
	var keystone *field.Path
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Lifecycle != nil && c.Lifecycle.Type == api.LifecycleTypeKeystone && keystone == nil {
			keystone = fldPath.Child("containers").Index(i)
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cPath := fldPath.Child("containers").Index(i)
		for _, p := range terminatePodRules(c.RestartPolicyRules, cPath) {
			switch {
			case keystone != nil:
				errs = append(errs, field.Forbidden(p, fmt.Sprintf(
					"a pod uses lifecycle.type: Keystone (%s) or TerminatePod restart rules, not both; "+
						"to move the keystone to restart rules, remove its lifecycle.type (see docs/keystone.md)", keystone)))
			case owner != nil && owner.String() != cPath.String():
				errs = append(errs, field.Invalid(p, api.ContainerRestartRuleActionTerminatePod, fmt.Sprintf(
					"a pod may have TerminatePod rules on one container only; %s already has them", owner)))
			default:
				owner = cPath
			}
		}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		msg := msgInitContainer
		if c.RestartPolicy != nil && *c.RestartPolicy == api.ContainerRestartPolicyAlways {
			msg = msgSidecar
		}
		for _, p := range terminatePodRules(c.RestartPolicyRules, fldPath.Child("initContainers").Index(i)) {
			errs = append(errs, field.Forbidden(p, msg))
		}
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i]
		for _, p := range terminatePodRules(c.RestartPolicyRules, fldPath.Child("ephemeralContainers").Index(i)) {
			errs = append(errs, field.Forbidden(p, msgEphemeral))
		}
	}
	return errs
}

// terminatePodRules returns the path of the action of every TerminatePod
// rule in rules.
func terminatePodRules(rules []api.ContainerRestartRule, cPath *field.Path) []*field.Path {
	var out []*field.Path
	for j, r := range rules {
		if r.Action == api.ContainerRestartRuleActionTerminatePod {
			out = append(out, cPath.Child("restartPolicyRules").Index(j).Child("action"))
		}
	}
	return out
}
