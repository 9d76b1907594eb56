package sharpness

import "math"

// dot is the inner product of two equal-length vectors.
func dot(a, b []float64) float64 {
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// norm is the Euclidean norm.
func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

// scaled returns c·a as a new vector.
func scaled(a []float64, c float64) []float64 {
	out := make([]float64, len(a))
	for i, x := range a {
		out[i] = c * x
	}
	return out
}

// axpy sets y ← y + c·x.
func axpy(y []float64, c float64, x []float64) {
	for i, v := range x {
		y[i] += c * v
	}
}
