package data

import (
	"fmt"
)

// Images is an in-memory labelled image set. See the package documentation for the layout
// of X.
type Images struct {
	// Name says where the set came from, e.g. "mnist/train".
	Name string
	// X holds N×Height×Width×Channels values in [0,1], channels last.
	X []float32
	// Y holds the N labels, each in [0, NumClasses).
	Y []int32
	// N is the number of images.
	N int
	// Height, Width and Channels give the shape of one image.
	Height, Width, Channels int
	// NumClasses is the number of classes; labels lie in [0, NumClasses).
	NumClasses int
	// ClassNames names the classes in label order (len NumClasses).
	ClassNames []string
}

// ImageSize is the number of float32 values of one image: Height×Width×Channels.
func (m *Images) ImageSize() int { return m.Height * m.Width * m.Channels }

// Image returns the values of image i (a slice of X, not a copy).
func (m *Images) Image(i int) []float32 {
	s := m.ImageSize()
	return m.X[i*s : (i+1)*s]
}

// At returns channel c of pixel (y, x) of image i.
func (m *Images) At(i, y, x, c int) float32 {
	return m.X[((i*m.Height+y)*m.Width+x)*m.Channels+c]
}

// Validate checks that the lengths agree with the dimensions and that every label lies in
// [0, NumClasses).
func (m *Images) Validate() error {
	if m.N <= 0 || m.Height <= 0 || m.Width <= 0 || m.Channels <= 0 {
		return fmt.Errorf("%s: empty or malformed image set (N=%d, %dx%dx%d)", m.Name, m.N, m.Height, m.Width, m.Channels)
	}
	if len(m.X) != m.N*m.ImageSize() {
		return fmt.Errorf("%s: X has %d values, want N×H×W×C = %d", m.Name, len(m.X), m.N*m.ImageSize())
	}
	if len(m.Y) != m.N {
		return fmt.Errorf("%s: %d labels for %d images", m.Name, len(m.Y), m.N)
	}
	if m.NumClasses <= 0 {
		return fmt.Errorf("%s: NumClasses=%d, must be positive", m.Name, m.NumClasses)
	}
	if len(m.ClassNames) != 0 && len(m.ClassNames) != m.NumClasses {
		return fmt.Errorf("%s: %d class names for %d classes", m.Name, len(m.ClassNames), m.NumClasses)
	}
	for i, y := range m.Y {
		if y < 0 || int(y) >= m.NumClasses {
			return fmt.Errorf("%s: label %d of image %d is outside [0,%d)", m.Name, y, i, m.NumClasses)
		}
	}
	return nil
}

// Subset returns a new set holding copies of the images at the given indices, in that order.
func (m *Images) Subset(name string, indices []int) *Images {
	s := m.ImageSize()
	out := &Images{Name: name, N: len(indices), Height: m.Height, Width: m.Width, Channels: m.Channels,
		NumClasses: m.NumClasses, ClassNames: m.ClassNames,
		X: make([]float32, len(indices)*s), Y: make([]int32, len(indices))}
	for j, i := range indices {
		copy(out.X[j*s:(j+1)*s], m.Image(i))
		out.Y[j] = m.Y[i]
	}
	return out
}

// ClassCounts returns the number of images of each class.
func (m *Images) ClassCounts() []int {
	return classCounts(m.Y, m.NumClasses)
}

func classCounts(y []int32, numClasses int) []int {
	counts := make([]int, numClasses)
	for _, l := range y {
		if l >= 0 && int(l) < numClasses {
			counts[l]++
		}
	}
	return counts
}

// defaultClassNames returns "0".."n-1".
func defaultClassNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	return names
}

// bytesToUnit converts 8-bit pixel values into [0,1].
func bytesToUnit(dst []float32, src []byte) {
	for i, b := range src {
		dst[i] = float32(b) / 255
	}
}
