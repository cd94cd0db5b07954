//go:build !linux || !cgo

package journal

import "fmt"

// Open fails: sd-journal is reached through cgo.
func Open() (Reader, error) {
	return nil, fmt.Errorf("%w: this kubelet was built without cgo (build it with CGO_ENABLED=1)", ErrUnavailable)
}
