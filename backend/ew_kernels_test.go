package backend

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLog32 compares log32 with math.Log over the float32 range: never more than one unit
// in the last place from the correctly rounded value, and special values as math.Log.
func TestLog32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	off := 0
	check := func(x float32) {
		got, want := log32(x), float32(math.Log(float64(x)))
		if got == want || (math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			return
		}
		off++
		if d := int64(math.Float32bits(got)) - int64(math.Float32bits(want)); d > 1 || d < -1 || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
			t.Fatalf("log32(%g) = %g, math.Log gives %g", x, got, want)
		}
	}
	for _, x := range []float32{0, float32(math.Copysign(0, -1)), -1, 1, 2, math.MaxFloat32, math.SmallestNonzeroFloat32,
		1e-40, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Nextafter32(1, 0), math.Nextafter32(1, 2)} {
		check(x)
	}
	const n = 2_000_000
	for range n {
		check(math.Float32frombits(rng.Uint32() & 0x7fffffff)) // Every positive float32 pattern.
		check(float32(rng.Float64()))                          // Uniforms, as in Box–Muller.
		check(1 + float32(rng.NormFloat64()*1e-3))             // Near 1.
	}
	t.Logf("%d of %d values one ulp from correctly rounded", off, 3*n)
	if off > 3*n/1000 {
		t.Errorf("%d values off by one ulp: expected under 0.1%%", off)
	}
}

// TestLog32Slice checks that the inlined slice version equals log32 value for value.
func TestLog32Slice(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	x := make([]float32, 100_000)
	for i := range x {
		x[i] = math.Float32frombits(rng.Uint32())
	}
	x[0], x[1], x[2] = 0, 1, float32(math.Inf(1))
	o := make([]float32, len(x))
	log32Slice(o, x)
	for i, v := range x {
		if want := log32(v); math.Float32bits(o[i]) != math.Float32bits(want) && !(math.IsNaN(float64(want)) && math.IsNaN(float64(o[i]))) {
			t.Fatalf("log32Slice(%g) = %g, log32 %g", v, o[i], want)
		}
	}
}
