// Package keystone is the API server's side of KEP-2872 keystone containers:
// validation of spec.containers[].lifecycle.type and the drop-disabled-fields
// rule for the KeystoneContainers gate. Upstream's pod validation and
// pkg/api/pod call it through one-line hooks (staging/k8s.io/kubernetes).
package keystone

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	api "k8s.io/kubernetes/pkg/apis/core"

	"github.com/kubenext/kubenext/pkg/features"
)

var supportedTypes = []string{string(api.LifecycleTypeKeystone)}

// ValidatePodSpec checks every lifecycle.type in the spec: a known value,
// only on regular containers, at most one per pod. It applies whatever the
// gate says: with the gate off the field is dropped before validation on
// create, and an object stored with it must stay valid.
func ValidatePodSpec(spec *api.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var keystones []*field.Path
	for i := range spec.Containers {
		c := &spec.Containers[i]
		p := fldPath.Child("containers").Index(i).Child("lifecycle", "type")
		if lifecycleType(c.Lifecycle) == "" {
			continue
		}
		if err := validateValue(c.Lifecycle.Type, p); err != nil {
			errs = append(errs, err)
			continue
		}
		keystones = append(keystones, p)
	}
	if len(keystones) > 1 {
		for _, p := range keystones[1:] {
			errs = append(errs, field.Invalid(p, api.LifecycleTypeKeystone,
				fmt.Sprintf("a pod may have at most one keystone container; %s is already one", keystones[0])))
		}
	}
	for i := range spec.InitContainers {
		if t := lifecycleType(spec.InitContainers[i].Lifecycle); t != "" {
			errs = append(errs, field.Forbidden(fldPath.Child("initContainers").Index(i).Child("lifecycle", "type"),
				"only regular containers (spec.containers) may be keystone containers; move this container to spec.containers or remove lifecycle.type"))
		}
	}
	for i := range spec.EphemeralContainers {
		if t := lifecycleType(spec.EphemeralContainers[i].Lifecycle); t != "" {
			errs = append(errs, field.Forbidden(fldPath.Child("ephemeralContainers").Index(i).Child("lifecycle", "type"),
				"ephemeral containers may not be keystone containers; remove lifecycle.type"))
		}
	}
	return errs
}

func validateValue(t api.LifecycleType, p *field.Path) *field.Error {
	if t == api.LifecycleTypeKeystone {
		return nil
	}
	return field.NotSupported(p, t, supportedTypes)
}

func lifecycleType(l *api.Lifecycle) api.LifecycleType {
	if l == nil {
		return ""
	}
	return l.Type
}

// DropDisabledFields clears lifecycle.type from a new or updated pod spec
// when the KeystoneContainers gate is off, unless the old spec already uses
// it: objects stored while the gate was on keep their field.
func DropDisabledFields(spec, oldSpec *api.PodSpec) {
	dropDisabledFields(spec, oldSpec, utilfeature.DefaultFeatureGate.Enabled(features.KeystoneContainers))
}

func dropDisabledFields(spec, oldSpec *api.PodSpec, enabled bool) {
	if enabled || spec == nil || InUse(oldSpec) {
		return
	}
	for _, l := range lifecycles(spec) {
		if *l == nil || (*l).Type == "" {
			continue
		}
		(*l).Type = ""
		// lifecycle: {type: Keystone} alone leaves nothing behind.
		if **l == (api.Lifecycle{}) {
			*l = nil
		}
	}
}

// InUse reports whether any container of spec sets lifecycle.type.
func InUse(spec *api.PodSpec) bool {
	if spec == nil {
		return false
	}
	for _, l := range lifecycles(spec) {
		if *l != nil && (*l).Type != "" {
			return true
		}
	}
	return false
}

func lifecycles(spec *api.PodSpec) []**api.Lifecycle {
	var out []**api.Lifecycle
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i].Lifecycle)
	}
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i].Lifecycle)
	}
	for i := range spec.EphemeralContainers {
		out = append(out, &spec.EphemeralContainers[i].Lifecycle)
	}
	return out
}
