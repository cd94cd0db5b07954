package admissionbench

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// The check every configuration applies to ConfigMap creates in the bench
// namespace: the ConfigMap carries CheckLabel, whose value is not the
// deny value of the policy doing the check, and has at most MaxDataKeys
// data keys. The objects the benchmark times pass it, so every timed create
// is admitted after the whole expression was evaluated (no short-circuit).
// Each policy gets its own deny value so that a dry-run probe carrying it
// is denied by that policy alone: that is how the benchmark knows that every
// one of 100 policies is enforced, not just the first.
const (
	CheckLabel     = "admission-bench.kubenext.io/check"
	PassValue      = "pass"
	MaxDataKeys    = 16
	NamespaceLabel = "admission-bench.kubenext.io/enforce"
)

// CheckExpression is the check in CEL, for the policy whose deny value is
// denyValue.
func CheckExpression(denyValue string) string {
	return fmt.Sprintf("has(object.metadata.labels) && %q in object.metadata.labels && object.metadata.labels[%q] != %q && (!has(object.data) || size(object.data) <= %d)",
		CheckLabel, CheckLabel, denyValue, MaxDataKeys)
}

// Check is the same check in Go, for the webhook: nil if cm passes.
func Check(cm *corev1.ConfigMap, denyValue string) error {
	value, ok := cm.Labels[CheckLabel]
	switch {
	case !ok:
		return fmt.Errorf("ConfigMaps in this namespace need the label %s", CheckLabel)
	case value == denyValue:
		return fmt.Errorf("label %s=%s is denied", CheckLabel, denyValue)
	case len(cm.Data) > MaxDataKeys:
		return fmt.Errorf("ConfigMaps in this namespace may have at most %d data keys, this one has %d", MaxDataKeys, len(cm.Data))
	}
	return nil
}
