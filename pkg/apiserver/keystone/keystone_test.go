package keystone

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	api "k8s.io/kubernetes/pkg/apis/core"
)

func keystone() *api.Lifecycle { return &api.Lifecycle{Type: api.LifecycleTypeKeystone} }

func spec(containers ...api.Container) *api.PodSpec {
	return &api.PodSpec{Containers: containers}
}

func TestValidatePodSpec(t *testing.T) {
	tests := []struct {
		name string
		spec *api.PodSpec
		want []string // "<type> <field>: <detail fragment>", in order
	}{
		{"no keystone", spec(api.Container{Name: "a"}, api.Container{Name: "b", Lifecycle: &api.Lifecycle{}}), nil},
		{"one keystone", spec(api.Container{Name: "a", Lifecycle: keystone()}, api.Container{Name: "b"}), nil},
		{"two keystones", spec(api.Container{Name: "a", Lifecycle: keystone()}, api.Container{Name: "b", Lifecycle: keystone()}),
			[]string{"FieldValueInvalid spec.containers[1].lifecycle.type: at most one keystone container; spec.containers[0].lifecycle.type is already one"}},
		{"three keystones name the first", spec(api.Container{Name: "a", Lifecycle: keystone()}, api.Container{Name: "b", Lifecycle: keystone()}, api.Container{Name: "c", Lifecycle: keystone()}),
			[]string{"FieldValueInvalid spec.containers[1].lifecycle.type: spec.containers[0]", "FieldValueInvalid spec.containers[2].lifecycle.type: spec.containers[0]"}},
		{"unknown value", spec(api.Container{Name: "a", Lifecycle: &api.Lifecycle{Type: "Sidecar"}}),
			[]string{`FieldValueNotSupported spec.containers[0].lifecycle.type: supported values: "Keystone"`}},
		{"wrong case is unknown", spec(api.Container{Name: "a", Lifecycle: &api.Lifecycle{Type: "keystone"}}),
			[]string{`FieldValueNotSupported spec.containers[0].lifecycle.type: supported values: "Keystone"`}},
		{"init container", &api.PodSpec{Containers: []api.Container{{Name: "a"}}, InitContainers: []api.Container{{Name: "i", Lifecycle: keystone()}}},
			[]string{"FieldValueForbidden spec.initContainers[0].lifecycle.type: only regular containers"}},
		{"ephemeral container", &api.PodSpec{Containers: []api.Container{{Name: "a"}},
			EphemeralContainers: []api.EphemeralContainer{{EphemeralContainerCommon: api.EphemeralContainerCommon{Name: "e", Lifecycle: keystone()}}}},
			[]string{"FieldValueForbidden spec.ephemeralContainers[0].lifecycle.type: ephemeral containers may not be keystone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidatePodSpec(tt.spec, field.NewPath("spec"))
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tt.want), errs)
			}
			for i, e := range errs {
				got := string(e.Type) + " " + e.Field + ": " + e.Detail
				if e.Type == field.ErrorTypeNotSupported {
					got = string(e.Type) + " " + e.Field + ": " + e.Error()
				}
				typ, rest, _ := strings.Cut(tt.want[i], " ")
				fld, frag, _ := strings.Cut(rest, ": ")
				if string(e.Type) != typ || e.Field != fld || !strings.Contains(got, frag) {
					t.Errorf("error %d = %q, want %s %s containing %q", i, got, typ, fld, frag)
				}
			}
		})
	}
}

func TestDropDisabledFields(t *testing.T) {
	withKeystone := func() *api.PodSpec {
		return &api.PodSpec{
			Containers: []api.Container{
				{Name: "main", Lifecycle: keystone()},
				{Name: "hooked", Lifecycle: &api.Lifecycle{Type: api.LifecycleTypeKeystone, PreStop: &api.LifecycleHandler{}}},
			},
			InitContainers: []api.Container{{Name: "init", Lifecycle: keystone()}},
		}
	}
	t.Run("gate on keeps the field", func(t *testing.T) {
		s := withKeystone()
		dropDisabledFields(s, nil, true)
		if !InUse(s) || s.Containers[0].Lifecycle.Type != api.LifecycleTypeKeystone {
			t.Errorf("field dropped with the gate on: %+v", s.Containers[0].Lifecycle)
		}
	})
	t.Run("gate off drops it on create", func(t *testing.T) {
		s := withKeystone()
		dropDisabledFields(s, nil, false)
		if InUse(s) {
			t.Error("lifecycle.type survived with the gate off")
		}
		if s.Containers[0].Lifecycle != nil {
			t.Errorf("a lifecycle holding only the type must become nil, got %+v", s.Containers[0].Lifecycle)
		}
		if s.Containers[1].Lifecycle == nil || s.Containers[1].Lifecycle.PreStop == nil {
			t.Error("the other lifecycle fields must stay")
		}
	})
	t.Run("gate off keeps it on objects that already use it", func(t *testing.T) {
		s, old := withKeystone(), withKeystone()
		dropDisabledFields(s, old, false)
		if !InUse(s) {
			t.Error("an update of a stored keystone pod lost its field")
		}
	})
	t.Run("gate off drops it from an update of an object without it", func(t *testing.T) {
		s := withKeystone()
		dropDisabledFields(s, &api.PodSpec{Containers: []api.Container{{Name: "main"}}}, false)
		if InUse(s) {
			t.Error("an update must not introduce the field while the gate is off")
		}
	})
}
