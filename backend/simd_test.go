package backend

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// withSIMD runs f with the assembly kernels on or off, restoring the setting.
func withSIMD(on bool, f func()) {
	saved := simdEnabled
	simdEnabled = on && simdSupported
	defer func() { simdEnabled = saved }()
	f()
}

// specialFloats are the values every kernel must treat exactly as Go does.
var specialFloats = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -2, 3,
	float32(math.Inf(1)), float32(math.Inf(-1)),
	math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000), // Quiet NaNs.
	math.Float32frombits(0x7fa00001), math.Float32frombits(0xff800001), // Signalling NaNs.
	math.Float32frombits(0x7fc12345),                          // A NaN with a payload.
	math.Float32frombits(1), math.Float32frombits(0x807fffff), // Denormals.
	math.Float32frombits(0x00800000), math.MaxFloat32, -math.MaxFloat32, 1e-30, -1e30,
	16777216, 16777217, 0x1p-126, 0x1p-149,
}

// testFloats returns n values mixing ordinary numbers, random bit patterns (every exponent,
// NaNs with payloads, denormals) and specialFloats.
func testFloats(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		switch rng.IntN(4) {
		case 0:
			out[i] = float32(rng.NormFloat64())
		case 1:
			out[i] = math.Float32frombits(rng.Uint32())
		case 2:
			out[i] = specialFloats[rng.IntN(len(specialFloats))]
		default:
			out[i] = float32(rng.Float64()*4 - 2)
		}
	}
	return out
}

// testLengths are the slice lengths every kernel is run on: all tails and several loops.
func testLengths() []int {
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 255, 256, 257, 1000, 4099)
}

const guard = 8 // Elements after each output that no kernel may write.

// sameBits compares two float32 slices bit for bit, except that two NaNs match whatever
// their payloads: where two NaN operands meet in a + or ·, Go's compiler is free to commute
// them, and the result carries the payload of whichever it put first.
func sameBits(t *testing.T, what string, n, off int, got, want []float32) {
	t.Helper()
	for i := range want {
		bothNaN := got[i] != got[i] && want[i] != want[i]
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !bothNaN {
			t.Fatalf("%s n=%d offset=%d: element %d is %g (%#08x), Go gives %g (%#08x)", what, n, off, i,
				got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// runBoth calls kernel on fresh outputs (offset into a buffer with guard elements after it)
// with SIMD off then on, and checks the outputs agree and nothing around them was written.
func runBoth(t *testing.T, what string, n, off int, kernel func(o []float32)) {
	t.Helper()
	var want, got []float32
	for _, on := range []bool{false, true} {
		buf := make([]float32, off+n+guard)
		for i := range buf {
			buf[i] = 12345
		}
		withSIMD(on, func() { kernel(buf[off : off+n]) })
		for i, v := range append(buf[:off:off], buf[off+n:]...) {
			if v != 12345 {
				t.Fatalf("%s n=%d offset=%d: wrote outside its output (guard %d = %g)", what, n, off, i, v)
			}
		}
		if on {
			got = buf[off : off+n]
		} else {
			want = buf[off : off+n]
		}
	}
	sameBits(t, what, n, off, got, want)
}

// TestSIMDKernelsMatchGo checks every assembly kernel against its Go loop, bit for bit, on
// random and special values, all lengths 0–70 and a few long ones, unaligned sub-slices.
func TestSIMDKernelsMatchGo(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2: the Go loops are the only path")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	binOps := []backends.OpType{backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul,
		backends.OpTypeDiv, backends.OpTypeMax, backends.OpTypeMin}
	for _, n := range testLengths() {
		off := rng.IntN(4)
		x := testFloats(rng, n+off)[off:]
		y := testFloats(rng, n+3)[3:]
		z := testFloats(rng, n+1)[1:]
		s := specialFloats[rng.IntN(len(specialFloats))]
		if rng.IntN(2) == 0 {
			s = float32(rng.NormFloat64())
		}
		for _, op := range binOps {
			runBoth(t, op.String()+" VV", n, off, func(o []float32) { binarySlices(op, o, x, y) })
			runBoth(t, op.String()+" VS", n, off, func(o []float32) { binaryScalarRight(op, o, x, s) })
			runBoth(t, op.String()+" SV", n, off, func(o []float32) { binaryScalarLeft(op, o, s, y) })
		}
		sz := float32(rng.NormFloat64())
		runBoth(t, "mulAdd SS", n, off, func(o []float32) { mulAddKernel(o, x, nil, s, nil, sz) })
		runBoth(t, "mulAdd SV", n, off, func(o []float32) { mulAddKernel(o, x, nil, s, z, 0) })
		runBoth(t, "mulAdd VS", n, off, func(o []float32) { mulAddKernel(o, x, y, 0, nil, sz) })
		runBoth(t, "mulAdd VV", n, off, func(o []float32) { mulAddKernel(o, x, y, 0, z, 0) })
		for _, op := range []backends.OpType{backends.OpTypeNeg, backends.OpTypeAbs, backends.OpTypeSqrt, backends.OpTypeLog, backends.OpTypeExp} {
			runBoth(t, op.String(), n, off, func(o []float32) { unaryApply(op, o, x) })
		}
		for _, steps := range [][3]float32{{1, 0, 0}, {0, 1, 1}, {1, 0.5, 0}, {-2, s, 3}} {
			runBoth(t, "maskMul", n, off, func(o []float32) { maskMulSlice(o, x, y, steps[0], steps[1], steps[2]) })
		}
		u := make([]uint32, n+off)
		for i := range u {
			u[i] = rng.Uint32() >> rng.IntN(32)
		}
		runBoth(t, "convert uint32", n, off, func(o []float32) { convertInto(o, u, off) })
	}
}

// TestSIMDInPlace runs the kernels with the output aliasing an input, as fused programs and
// in-place callers may.
func TestSIMDInPlace(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 67, 1000} {
		x0, y := testFloats(rng, n), testFloats(rng, n)
		for _, c := range []struct {
			name string
			f    func(x []float32)
		}{
			{"add", func(x []float32) { binarySlices(backends.OpTypeAdd, x, x, y) }},
			{"max", func(x []float32) { binarySlices(backends.OpTypeMax, x, y, x) }},
			{"sub SV", func(x []float32) { binaryScalarLeft(backends.OpTypeSub, x, 2, x) }},
			{"mulAdd VV", func(x []float32) { mulAddKernel(x, x, y, 0, x, 0) }},
			{"abs", func(x []float32) { unaryApply(backends.OpTypeAbs, x, x) }},
			{"maskMul", func(x []float32) { maskMulSlice(x, x, y, 1, 0, 0) }},
		} {
			var want, got []float32
			withSIMD(false, func() { want = append([]float32(nil), x0...); c.f(want) })
			withSIMD(true, func() { got = append([]float32(nil), x0...); c.f(got) })
			sameBits(t, c.name+" in place", n, 0, got, want)
		}
	}
}

// TestSIMDSumsMatchGo checks addLanes and addProducts give the same lanes, bit for bit, with
// the assembly and in Go, for every length 0–70 and longer ones, fed whole or in pieces.
func TestSIMDSumsMatchGo(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range testLengths() {
		off := rng.IntN(4)
		x := testFloats(rng, n+off)[off:]
		if rng.IntN(2) == 0 { // Finite values too, so the sums are numbers.
			for i := range x {
				x[i] = float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*5))
			}
		}
		y := testFloats(rng, n)
		start := [sumLanes]float64{1, -2, 3.5, 0, 1e-300, -1e300, 7, 0.1}
		lanes := func(on bool, products bool) [sumLanes]float64 {
			acc := start
			withSIMD(on, func() {
				if products {
					addProducts(&acc, x, y)
				} else {
					addLanes(&acc, x)
				}
			})
			return acc
		}
		for _, products := range []bool{false, true} {
			want, got := lanes(false, products), lanes(true, products)
			for l := range want {
				bothNaN := math.IsNaN(got[l]) && math.IsNaN(want[l]) // As in sameBits.
				if math.Float64bits(got[l]) != math.Float64bits(want[l]) && !bothNaN {
					t.Fatalf("n=%d products=%v: lane %d is %g, Go gives %g", n, products, l, got[l], want[l])
				}
			}
		}
	}
}

// TestSIMDSqrtAndConvertAllExponents runs Sqrt and Exp on random mantissas of every exponent
// and sign (and Exp on 2M values where its result goes from 0 through float32 subnormals to
// +Inf), and the uint32 conversion on values around every power of two (where rounding ties
// sit), against Go. TSAM_SIMD_EXHAUSTIVE=1 checks all 2³² inputs of the three instead (a
// minute or two).
func TestSIMDSqrtAndConvertAllExponents(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	if os.Getenv("TSAM_SIMD_EXHAUSTIVE") != "" {
		exhaustive(t)
		return
	}
	rng := rand.New(rand.NewPCG(13, 14))
	var x []float32
	for bits := uint32(0); bits < 512; bits++ { // Sign and exponent.
		for range 64 {
			x = append(x, math.Float32frombits(bits<<23|rng.Uint32()>>9))
		}
		x = append(x, math.Float32frombits(bits<<23), math.Float32frombits(bits<<23|0x7fffff))
	}
	runBoth(t, "Sqrt", len(x), 1, func(o []float32) { unaryApply(backends.OpTypeSqrt, o, x) })
	runBoth(t, "Exp", len(x), 1, func(o []float32) { unaryApply(backends.OpTypeExp, o, x) })
	e := make([]float32, 2_000_000)
	for i := range e {
		e[i] = float32(-110 + 200*rng.Float64())
	}
	runBoth(t, "Exp", len(e), 0, func(o []float32) { unaryApply(backends.OpTypeExp, o, e) })
	var u []uint32
	for p := range 32 {
		for d := -300; d <= 300; d++ {
			u = append(u, uint32(int64(1)<<p+int64(d)))
		}
		u = append(u, uint32(1)<<p|rng.Uint32()>>(32-p)) // Random below the top bit.
	}
	runBoth(t, "convert uint32", len(u), 0, func(o []float32) { convertInto(o, u, 0) })
}

// TestSIMDLog32MatchesGo runs log32Slice with and without the assembly on 3M positive
// values (every exponent, uniforms, values near 1, as TestLog32) with a special value (zero,
// negative, subnormal, infinite, NaN) every ~50 values, at every offset of the first group.
func TestSIMDLog32MatchesGo(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	const n = 3_000_000
	x := make([]float32, n)
	for i := range x {
		switch {
		case rng.IntN(50) == 0:
			x[i] = specialFloats[rng.IntN(len(specialFloats))]
		case i%3 == 0:
			x[i] = math.Float32frombits(rng.Uint32() & 0x7fffffff)
		case i%3 == 1:
			x[i] = float32(rng.Float64())
		default:
			x[i] = 1 + float32(rng.NormFloat64()*1e-3)
		}
	}
	for off := range 9 {
		runBoth(t, "Log", n-off, off, func(o []float32) { log32Slice(o, x[off:]) })
	}
}

// exhaustive compares Sqrt and the conversion for every 32-bit pattern, in slices of 2²⁰.
func exhaustive(t *testing.T) {
	const step = 1 << 20
	x, u := make([]float32, step), make([]uint32, step)
	want, got := make([]float32, step), make([]float32, step)
	for base := uint64(0); base < 1<<32; base += step {
		for i := range u {
			u[i] = uint32(base) + uint32(i)
			x[i] = math.Float32frombits(u[i])
		}
		withSIMD(false, func() { unaryApply(backends.OpTypeSqrt, want, x) })
		withSIMD(true, func() { unaryApply(backends.OpTypeSqrt, got, x) })
		sameBits(t, "Sqrt", step, int(base), got, want)
		withSIMD(false, func() { unaryApply(backends.OpTypeExp, want, x) })
		withSIMD(true, func() { unaryApply(backends.OpTypeExp, got, x) })
		sameBits(t, "Exp", step, int(base), got, want)
		withSIMD(false, func() { convertInto(want, u, 0) })
		withSIMD(true, func() { convertInto(got, u, 0) })
		sameBits(t, "convert uint32", step, int(base), got, want)
	}
}

// TestSIMDReduceRows checks that partial ReduceSum/ReduceMax over outer axes (rows combined
// by binarySlices) give the same bits with and without the assembly.
func TestSIMDReduceRows(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	dims := []int{7, 3, 100}
	x := testFloats(rng, 7*3*100)
	for _, axes := range [][]int{{0}, {1}, {0, 1}} {
		size := 100
		if len(axes) == 1 {
			size *= dims[1-axes[0]]
		}
		for _, isMax := range []bool{false, true} {
			runBoth(t, "reduce", size, 0, func(o []float32) { reduce(o, x, dims, axes, isMax) })
		}
	}
}

// TestSIMDBatchNormMatchesGo runs batch norm's features-last loops (bnAffine with one and two
// terms, bnSums) with and without the assembly, for feature counts with and without tails and
// batches spanning several chunks: same bits.
func TestSIMDBatchNormMatchesGo(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	e := &engine{workers: 2}
	for _, c := range []int{1, 3, 4, 7, 8, 16, 17, 64} {
		for _, outer := range []int{1, 5, 2*ewChunk/c + 3} {
			n := outer * c
			x, y := testFloats(rng, n), testFloats(rng, n)
			if rng.IntN(2) == 0 { // Finite data too, so the sums are numbers.
				for i := range x {
					x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				}
			}
			xs, a, ys, b, d := testFloats(rng, c), testFloats(rng, c), testFloats(rng, c), testFloats(rng, c), testFloats(rng, c)
			runBoth(t, "bnAffine", n, 0, func(o []float32) { bnAffine(e, o, x, xs, a, nil, nil, nil, d, outer, c, 1) })
			runBoth(t, "bnAffine with y", n, 1, func(o []float32) { bnAffine(e, o, x, xs, a, y, ys, b, d, outer, c, 1) })
			var want, got [2][]float64
			withSIMD(false, func() { want[0], want[1] = bnSums(e, x, xs, y, ys, outer, c, 1) })
			withSIMD(true, func() { got[0], got[1] = bnSums(e, x, xs, y, ys, outer, c, 1) })
			for k := range 2 {
				for j := range c {
					g, w := got[k][j], want[k][j]
					if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
						t.Fatalf("bnSums c=%d outer=%d: sum %d of feature %d is %g, Go gives %g", c, outer, k, j, g, w)
					}
				}
			}
		}
	}
}

// TestSIMDGraphMatchesGo runs whole fused graphs — boxMuller (every native unary op, Horner
// multiply-adds, scalar and vector operands), its full sum, a ReLU gradient and a partial
// sum — with and without the assembly: same bits.
func TestSIMDGraphMatchesGo(t *testing.T) {
	if !simdSupported {
		t.Skip("no AVX2")
	}
	be := newTestBackend(t, "")
	rng := rand.New(rand.NewPCG(21, 22))
	const n = 2*ewChunk + 78 // Even, for the row sums.
	u, v, x := uniforms[float32](rng, n, 0, 1), uniforms[float32](rng, n, 0, 1), uniforms[float32](rng, n, -1, 1)
	graphs := map[string]func([]*Node) *Node{
		"boxMuller": boxMuller,
		"sum":       func(xs []*Node) *Node { return ReduceAllSum(boxMuller(xs)) },
		"relu grad": func(xs []*Node) *Node {
			return Gradient(ReduceAllSum(Mul(Max(Sub(xs[2], xs[0]), ScalarZero(xs[0].Graph(), dtypes.Float32)), xs[1])), xs[2])[0]
		},
		"row sums": func(xs []*Node) *Node { return ReduceSum(Reshape(Mul(xs[0], xs[2]), 2, n/2), 0) },
	}
	for name, fn := range graphs {
		var want, got []float32
		withSIMD(false, func() { want, _ = runCounted[float32](t, be, fn, u, v, x) })
		withSIMD(true, func() { got, _ = runCounted[float32](t, be, fn, u, v, x) })
		sameBits(t, name, len(want), 0, got, want)
	}
}
