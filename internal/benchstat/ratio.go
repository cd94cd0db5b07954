package benchstat

import (
	"fmt"
	"math"
	"time"
)

// Ratio is a over b. Over a zero b it is NaN, never 0 or +Inf: a zero
// reference means the reference was not measured (a configuration not
// run, a profile with no samples of the component), and a number in its
// place would read as a result. FormatRatio prints NaN as "n/a".
func Ratio[T time.Duration | float64 | int | int64](a, b T) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// FormatRatio is how the benchmarks' tables print a Ratio: two decimals,
// or n/a when there was nothing to compare with.
func FormatRatio(r float64) string {
	if math.IsNaN(r) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", r)
}
