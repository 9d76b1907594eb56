package backend

import (
	"testing"
)

// TestLayoutMirrors checks the mirrors of simplego.Node and simplego.Buffer against the real
// types (checkLayout), as New does at start-up.
func TestLayoutMirrors(t *testing.T) {
	if err := checkLayout(); err != nil {
		t.Fatal(err)
	}
}
