package admissioncpubench

import (
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/kubenext/kubenext/internal/celadmission
BenchmarkValidating/bindings=10/gate=off-2         	     100	    200000 ns/op	   50000 B/op	     900 allocs/op
BenchmarkValidating/bindings=10/gate=on-2          	     100	     50000 ns/op	   10000 B/op	     300 allocs/op
BenchmarkValidating/bindings=10/gate=off-2         	     100	    220000 ns/op	   50000 B/op	     900 allocs/op
BenchmarkValidating/bindings=10/gate=on-2          	     100	     60000 ns/op	   10000 B/op	     300 allocs/op
BenchmarkValidating/bindings=10/gate=off-2         	     100	    210000 ns/op	   50000 B/op	     900 allocs/op
BenchmarkValidating/bindings=10/gate=on-2          	     100	     70000 ns/op	   10000 B/op	     300 allocs/op
BenchmarkMutating/bindings=1/gate=off-2            	     100	     90000 ns/op	     80000 cpu-ns/op	   50000 B/op	     600 allocs/op
BenchmarkMutating/bindings=1/gate=on-2             	     100	     60000 ns/op	     20000 cpu-ns/op	   10000 B/op	     300 allocs/op
PASS
`

func TestSummary(t *testing.T) {
	r, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Summary(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `mutating bindings=1 cpu_ratio=1.50 allocs_ratio=2.00 process_cpu_ratio=4.00
validating per_policy_at_10 gate=off ns=21000
validating per_policy_at_10 gate=on ns=6000
bindings=10 cpu_ratio=3.50 allocs_ratio=3.00
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "PASS\n",
		"no benchmem": "BenchmarkValidating/bindings=1/gate=on-2 10 5000 ns/op\n",
		"not numeric": "BenchmarkValidating/bindings=1/gate=on-2 10 x ns/op 1 B/op 1 allocs/op\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	r, err := Parse(strings.NewReader("BenchmarkValidating/bindings=1/gate=on-2 10 5000 ns/op 1 B/op 1 allocs/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Summary(&strings.Builder{}, r); err == nil {
		t.Error("a size with only gate=on gave no error")
	}
}
