package eventmode

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// The kubelet serves legacyregistry on /metrics, next to upstream's
// evented_pleg_connection_* metrics, which the watcher keeps updating.
var (
	modeGauge = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      "kubelet",
		Name:           "evented_pleg_mode",
		Help:           "How the kubelet learns about container changes: 1 = CRI events with a 300 s safety-net relist, 0 = relisting every second.",
		StabilityLevel: metrics.ALPHA,
	})
	fallbacks = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      "kubelet",
		Name:           "evented_pleg_fallbacks_total",
		Help:           "Times the kubelet left event mode for 1 s relisting because the CRI event stream broke or lagged.",
		StabilityLevel: metrics.ALPHA,
	})
	reconnects = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      "kubelet",
		Name:           "evented_pleg_reconnects_total",
		Help:           "Times the kubelet returned to event mode after the CRI event stream failed: the stream reconnected and stayed on time for the settle period. An attempt that opens and fails at once does not count.",
		StabilityLevel: metrics.ALPHA,
	})
	registerOnce sync.Once
)

func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(modeGauge, fallbacks, reconnects)
	})
}
