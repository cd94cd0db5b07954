// Package benchstat is the arithmetic the cluster benchmarks share.
package benchstat

import (
	"math"
	"sort"
	"time"
)

// Percentile returns the p-th percentile (0-100) of samples by the
// nearest-rank method; samples need not be sorted. p=100 is the maximum.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Millis is d in milliseconds, for tables and CSV.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
