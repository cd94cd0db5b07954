package celadmission

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"

	"github.com/kubenext/kubenext/pkg/features"
)

// Sizes are the policy counts of the benchmark (each policy has one binding).
var Sizes = []int{1, 10, 100, 1000}

// plugins keeps one plugin per kind and size for the whole test binary, so
// that with -count the gate-off and gate-on runs alternate over the same
// plugin and objects in one process.
var plugins sync.Map // string -> *Plugin

func benchPlugin(b *testing.B, kind Kind, n int) *Plugin {
	key := fmt.Sprintf("%s/%d", kind, n)
	if p, ok := plugins.Load(key); ok {
		return p.(*Plugin)
	}
	objs, ready := Workload(kind, n)
	p, err := New(kind, objs, ready)
	if err != nil {
		b.Fatal(err)
	}
	plugins.Store(key, p)
	return p
}

func BenchmarkValidating(b *testing.B) { benchmark(b, Validating) }
func BenchmarkMutating(b *testing.B)   { benchmark(b, Mutating) }

func benchmark(b *testing.B, kind Kind) {
	for _, n := range Sizes {
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			p := benchPlugin(b, kind, n)
			for _, on := range []bool{false, true} {
				b.Run("gate="+map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
					featuregatetesting.SetFeatureGateDuringTest(b, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, on)
					// The outcome is checked once under this gate before timing.
					check := CheckValidated
					if kind == Mutating {
						check = CheckMutated
					}
					if err := check(p, n); err != nil {
						b.Fatal(err)
					}
					ctx := context.Background()
					b.ReportAllocs()
					start := processCPU(b)
					for b.Loop() {
						pod := Pod()
						if err := p.Admit(ctx, CreatePod(pod)); err != nil {
							b.Fatal(err)
						}
					}
					// ns/op is wall time, which on a shared host includes
					// time other processes ran; the process's own CPU time
					// per op (GC and informer goroutines included) is
					// reported beside it.
					b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
				})
			}
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
