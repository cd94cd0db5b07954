package celcache

import (
	"sync"
	"sync/atomic"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxSelectors bounds the cache: about 300 bytes an entry, so about 5 MB.
// 1,000 bindings with a namespace and an object selector each, plus their
// policies, use about 4,000 entries.
const maxSelectors = 16384

// selectorEntry is one parsed selector and the copy of what it was parsed
// from. The copy is what makes the address a safe key: a hit is returned
// only when the selector at that address still says the same thing, so an
// object mutated in place, or memory reused after the object was collected,
// is parsed again instead of getting a stale answer.
type selectorEntry struct {
	source   *metav1.LabelSelector
	selector labels.Selector
	err      error
}

type selectorCache struct {
	entries sync.Map // uintptr -> *selectorEntry
	size    atomic.Int64
}

var selectors selectorCache

// LabelSelectorAsSelector is metav1.LabelSelectorAsSelector, parsed once per
// selector object. Informer objects are immutable snapshots and an update
// replaces the object, so with the gate on a binding's selectors are parsed
// once per version of the binding instead of once per request.
//
// The result and the error are shared between callers; upstream's callers
// only call Matches on the selector and wrap the error per call.
func LabelSelectorAsSelector(ps *metav1.LabelSelector) (labels.Selector, error) {
	if ps == nil || !Enabled() {
		return metav1.LabelSelectorAsSelector(ps)
	}
	return selectors.get(ps)
}

func (c *selectorCache) get(ps *metav1.LabelSelector) (labels.Selector, error) {
	// The address, not the pointer: the cache must not keep a binding alive
	// after the informer dropped it.
	key := uintptr(unsafe.Pointer(ps))
	if v, ok := c.entries.Load(key); ok {
		e := v.(*selectorEntry)
		if selectorsEqual(e.source, ps) {
			return e.selector, e.err
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(ps)
	e := &selectorEntry{source: ps.DeepCopy(), selector: selector, err: err}
	if _, loaded := c.entries.Swap(key, e); !loaded {
		if c.size.Add(1) > maxSelectors {
			// Dropping everything is crude but cannot be wrong: the next
			// requests parse again, as upstream always does.
			c.entries.Clear()
			c.size.Store(0)
		}
	}
	return selector, err
}

// selectorsEqual reports whether two selectors select the same way as far
// as LabelSelectorAsSelector can tell: it reads matchLabels' pairs and each
// expression's key, operator and values in order, so nil and empty maps or
// slices are the same. It does not allocate.
func selectorsEqual(a, b *metav1.LabelSelector) bool {
	if len(a.MatchLabels) != len(b.MatchLabels) || len(a.MatchExpressions) != len(b.MatchExpressions) {
		return false
	}
	for k, v := range a.MatchLabels {
		if w, ok := b.MatchLabels[k]; !ok || w != v {
			return false
		}
	}
	for i := range a.MatchExpressions {
		x, y := &a.MatchExpressions[i], &b.MatchExpressions[i]
		if x.Key != y.Key || x.Operator != y.Operator || len(x.Values) != len(y.Values) {
			return false
		}
		for j := range x.Values {
			if x.Values[j] != y.Values[j] {
				return false
			}
		}
	}
	return true
}
