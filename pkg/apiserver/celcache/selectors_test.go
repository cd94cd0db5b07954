package celcache

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"

	"github.com/kubenext/kubenext/pkg/features"
)

func gate(t *testing.T, on bool) {
	t.Helper()
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, on)
}

// sameParse reports whether two selectors are one parse (the same
// requirements slice), not two equal ones.
func sameParse(a, b labels.Selector) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice && va.Len() > 0 && va.Pointer() == vb.Pointer()
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestSelectorsEqual(t *testing.T) {
	base := func() *metav1.LabelSelector {
		return &metav1.LabelSelector{
			MatchLabels:      map[string]string{"a": "1", "b": "2"},
			MatchExpressions: []metav1.LabelSelectorRequirement{expr("env", metav1.LabelSelectorOpIn, "prod", "dev")},
		}
	}
	tests := []struct {
		name  string
		other func(*metav1.LabelSelector)
		want  bool
	}{
		{"identical", func(*metav1.LabelSelector) {}, true},
		{"label value", func(s *metav1.LabelSelector) { s.MatchLabels["a"] = "x" }, false},
		{"label added", func(s *metav1.LabelSelector) { s.MatchLabels["c"] = "3" }, false},
		{"label renamed", func(s *metav1.LabelSelector) { delete(s.MatchLabels, "b"); s.MatchLabels["c"] = "2" }, false},
		{"expression key", func(s *metav1.LabelSelector) { s.MatchExpressions[0].Key = "tier" }, false},
		{"operator", func(s *metav1.LabelSelector) { s.MatchExpressions[0].Operator = metav1.LabelSelectorOpNotIn }, false},
		{"value", func(s *metav1.LabelSelector) { s.MatchExpressions[0].Values[1] = "test" }, false},
		{"value order", func(s *metav1.LabelSelector) { s.MatchExpressions[0].Values = []string{"dev", "prod"} }, false},
		{"value added", func(s *metav1.LabelSelector) {
			s.MatchExpressions[0].Values = append(s.MatchExpressions[0].Values, "x")
		}, false},
		{"expression added", func(s *metav1.LabelSelector) {
			s.MatchExpressions = append(s.MatchExpressions, expr("x", metav1.LabelSelectorOpExists))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			tt.other(b)
			if got := selectorsEqual(a, b); got != tt.want {
				t.Errorf("selectorsEqual = %v, want %v", got, tt.want)
			}
			if got := selectorsEqual(b, a); got != tt.want {
				t.Errorf("selectorsEqual reversed = %v, want %v", got, tt.want)
			}
		})
	}
	// nil and empty select the same way, so they are equal.
	empty := &metav1.LabelSelector{MatchLabels: map[string]string{}, MatchExpressions: []metav1.LabelSelectorRequirement{}}
	if !selectorsEqual(&metav1.LabelSelector{}, empty) {
		t.Error("a selector with nil fields differs from one with empty fields")
	}
	withNil := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("k", metav1.LabelSelectorOpExists)}}
	withEmpty := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("k", metav1.LabelSelectorOpExists)}}
	withEmpty.MatchExpressions[0].Values = []string{}
	if !selectorsEqual(withNil, withEmpty) {
		t.Error("nil and empty values differ")
	}
	if n := testing.AllocsPerRun(100, func() { selectorsEqual(base(), base()) }) - testing.AllocsPerRun(100, func() { base(); base() }); n > 0 {
		t.Errorf("selectorsEqual allocates %v times", n)
	}
}

func TestLabelSelectorAsSelector(t *testing.T) {
	sel := &metav1.LabelSelector{
		MatchLabels:      map[string]string{"team": "a"},
		MatchExpressions: []metav1.LabelSelectorRequirement{expr("env", metav1.LabelSelectorOpIn, "prod")},
	}
	upstream, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("gate off parses every time", func(t *testing.T) {
		gate(t, false)
		a, _ := LabelSelectorAsSelector(sel)
		b, _ := LabelSelectorAsSelector(sel)
		if sameParse(a, b) {
			t.Error("gate off: the second call returned the first call's parse")
		}
		if a.String() != upstream.String() {
			t.Errorf("got %q, want %q", a, upstream)
		}
	})

	t.Run("gate on parses once per object", func(t *testing.T) {
		gate(t, true)
		a, _ := LabelSelectorAsSelector(sel)
		b, _ := LabelSelectorAsSelector(sel)
		if !sameParse(a, b) {
			t.Error("gate on: the second call parsed again")
		}
		if a.String() != upstream.String() {
			t.Errorf("got %q, want %q", a, upstream)
		}
		other := sel.DeepCopy()
		c, _ := LabelSelectorAsSelector(other)
		if sameParse(a, c) || c.String() != upstream.String() {
			t.Errorf("an equal selector at another address: same parse %v, %q", sameParse(a, c), c)
		}
	})

	t.Run("gate on sees an object mutated in place", func(t *testing.T) {
		gate(t, true)
		s := sel.DeepCopy()
		first, _ := LabelSelectorAsSelector(s)
		s.MatchExpressions[0].Values[0] = "dev"
		second, _ := LabelSelectorAsSelector(s)
		want, _ := metav1.LabelSelectorAsSelector(s)
		if second.String() != want.String() || second.String() == first.String() {
			t.Errorf("after mutation got %q, want %q", second, want)
		}
		if !second.Matches(labels.Set{"team": "a", "env": "dev"}) || second.Matches(labels.Set{"team": "a", "env": "prod"}) {
			t.Error("the mutated selector matches as the old one")
		}
	})

	t.Run("nil and invalid selectors", func(t *testing.T) {
		gate(t, true)
		n, err := LabelSelectorAsSelector(nil)
		if err != nil {
			t.Fatalf("nil: %v", err)
		}
		if n.Matches(labels.Set{}) || n.Matches(labels.Set{"a": "b"}) {
			t.Error("nil selector matches: upstream's nil selects nothing")
		}
		bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("k", metav1.LabelSelectorOpIn)}}
		_, wantErr := metav1.LabelSelectorAsSelector(bad)
		for i := 0; i < 2; i++ {
			_, err := LabelSelectorAsSelector(bad)
			if err == nil || err.Error() != wantErr.Error() {
				t.Errorf("call %d: error %v, want %v", i, err, wantErr)
			}
		}
	})
}

func TestSelectorCacheBound(t *testing.T) {
	gate(t, true)
	var c selectorCache
	keep := make([]*metav1.LabelSelector, maxSelectors+1)
	for i := range keep {
		keep[i] = &metav1.LabelSelector{MatchLabels: map[string]string{"i": fmt.Sprint(i)}}
		if _, err := c.get(keep[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.size.Load(); n != 0 {
		t.Errorf("after %d selectors the cache holds %d, want it dropped (0)", len(keep), n)
	}
	s, err := c.get(keep[0])
	if err != nil || !s.Matches(labels.Set{"i": "0"}) || c.size.Load() != 1 {
		t.Errorf("refill: %v %v size %d", s, err, c.size.Load())
	}
}

func TestLabelSelectorAsSelectorConcurrent(t *testing.T) {
	gate(t, true)
	sels := make([]*metav1.LabelSelector, 16)
	for i := range sels {
		sels[i] = &metav1.LabelSelector{MatchLabels: map[string]string{"i": fmt.Sprint(i)}}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				i := n % len(sels)
				s, err := LabelSelectorAsSelector(sels[i])
				if err != nil || !s.Matches(labels.Set{"i": fmt.Sprint(i)}) {
					errs <- fmt.Errorf("selector %d: %v %v", i, s, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkLabelSelectorAsSelector(b *testing.B) {
	sel := &metav1.LabelSelector{
		MatchLabels:      map[string]string{"team": "a", "tier": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{expr("env", metav1.LabelSelectorOpIn, "prod", "dev")},
	}
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("gate=%v", map[bool]string{false: "off", true: "on"}[on]), func(b *testing.B) {
			featuregatetesting.SetFeatureGateDuringTest(b, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, on)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := LabelSelectorAsSelector(sel); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
