package main

import (
	"image/png"
	"os"
	"testing"
)

// checkPNG fails the test unless path decodes as a PNG of at least minW×minH pixels.
func checkPNG(t *testing.T, path string, minW, minH int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: not a usable PNG: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() < minW || b.Dy() < minH {
		t.Errorf("%s is only %dx%d, want at least %dx%d", path, b.Dx(), b.Dy(), minW, minH)
	}
}
