package backend

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// boxMuller is a Box–Muller chain of the kind sam draws its Gaussian noise with: uniforms u,
// v in [0, 1), the radius √(−2·log(1−u)), sin/cos of π·(2v−1) by Horner polynomials (here of
// π·(2v−1)/2, then the double-angle formulas), then a mix of every native unary op (each
// applied where it is defined).
func boxMuller(xs []*Node) *Node {
	u, v := xs[0], xs[1]
	radius := Sqrt(MulScalar(Log(OneMinus(u)), -2))
	y := MulScalar(AddScalar(MulScalar(v, 2), -1), math.Pi/2)
	t := Mul(y, y)
	horner := func(coefs []float64) *Node {
		p := AddScalar(MulScalar(t, coefs[0]), coefs[1])
		for _, c := range coefs[2:] {
			p = AddScalar(Mul(p, t), c)
		}
		return p
	}
	sin := Mul(y, horner([]float64{1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6, 1}))
	cos := horner([]float64{1.0 / 40320, -1.0 / 720, 1.0 / 24, -1.0 / 2, 1})
	z := Add(Mul(radius, MulScalar(Mul(sin, cos), 2)), Mul(radius, Sub(Mul(cos, cos), Mul(sin, sin))))
	w := Add(Add(Sin(z), Cos(Neg(z))), Mul(Tanh(z), Logistic(z)))
	w = Add(w, Sub(Log1p(Abs(z)), Expm1(MulScalar(z, 0.1))))
	w = Add(w, Mul(Rsqrt(AddScalar(Mul(z, z), 1)), Exp(MulScalar(z, 0.5))))
	return Add(w, Mul(z, xs[2])) // A full-size leaf read twice (here and through z's uses).
}

// boxMullerRef is boxMuller in float64 with the math package.
func boxMullerRef(u, v, x float64) float64 {
	radius := math.Sqrt(-2 * math.Log(1-u))
	y := (2*v - 1) * math.Pi / 2
	t := y * y
	horner := func(coefs []float64) float64 {
		p := t*coefs[0] + coefs[1]
		for _, c := range coefs[2:] {
			p = p*t + c
		}
		return p
	}
	sin := y * horner([]float64{1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6, 1})
	cos := horner([]float64{1.0 / 40320, -1.0 / 720, 1.0 / 24, -1.0 / 2, 1})
	z := radius*(2*sin*cos) + radius*(cos*cos-sin*sin)
	w := math.Sin(z) + math.Cos(-z) + math.Tanh(z)/(1+math.Exp(-z))
	w += math.Log1p(math.Abs(z)) - math.Expm1(0.1*z)
	w += math.Exp(0.5*z) / math.Sqrt(z*z+1)
	return w + z*x
}

// runCounted runs fn on the inputs and returns its flat output and how many ops ran.
func runCounted[T float32 | float64](t *testing.T, be backends.Backend, fn func([]*Node) *Node, inputs ...any) ([]T, int) {
	t.Helper()
	exec, err := NewExec(be, fn)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		switch v := in.(type) {
		case []float32: // Also when empty, which FromAnyValue rejects.
			args[i] = tensors.FromFlatDataAndDimensions(v, len(v))
		case []float64:
			args[i] = tensors.FromFlatDataAndDimensions(v, len(v))
		default:
			args[i] = tensors.FromAnyValue(in) // A flat slice: a 1-D tensor.
		}
	}
	if _, err := exec.Exec(args...); err != nil { // Compile outside the count.
		t.Fatal(err)
	}
	count := 0
	tracer := func(*nodeMirror, time.Duration) { count++ }
	opTracer.Store(&tracer)
	out, err := exec.Exec(args...)
	opTracer.Store(nil)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[T](out[0]), count
}

func uniforms[T float32 | float64](rng *rand.Rand, n int, lo, hi float64) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = T(lo + (hi-lo)*rng.Float64())
	}
	return out
}

// TestFusionIsExact runs a long elementwise chain with and without fusion: the fused graph
// runs far fewer ops and gives bit-identical values, which match a float64 reference.
func TestFusionIsExact(t *testing.T) {
	be := newTestBackend(t, "")
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 3*ewChunk + 77 // Several chunks and a partial block.
	t.Run("float32", func(t *testing.T) {
		u, v, x := uniforms[float32](rng, n, 0, 1), uniforms[float32](rng, n, 0, 1), uniforms[float32](rng, n, -1, 1)
		checkFusion(t, be, u, v, x, 2e-5)
	})
	t.Run("float64", func(t *testing.T) {
		u, v, x := uniforms[float64](rng, n, 0, 1), uniforms[float64](rng, n, 0, 1), uniforms[float64](rng, n, -1, 1)
		checkFusion(t, be, u, v, x, 1e-9)
	})
}

func checkFusion[T float32 | float64](t *testing.T, be backends.Backend, u, v, x []T, tol float64) {
	fused, fusedOps := runCounted[T](t, be, boxMuller, u, v, x)
	fusionEnabled = false
	plain, plainOps := runCounted[T](t, be, boxMuller, u, v, x)
	fusionEnabled = true
	t.Logf("%d ops unfused, %d fused", plainOps, fusedOps)
	if fusedOps*4 > plainOps {
		t.Errorf("fusion ran %d ops of %d: expected under a quarter", fusedOps, plainOps)
	}
	for i := range fused {
		if math.Float64bits(float64(fused[i])) != math.Float64bits(float64(plain[i])) {
			t.Fatalf("element %d: fused %v, unfused %v", i, fused[i], plain[i])
		}
		want := boxMullerRef(float64(u[i]), float64(v[i]), float64(x[i]))
		if d := math.Abs(float64(fused[i]) - want); d > tol*math.Max(1, math.Abs(want)) {
			t.Fatalf("element %d: %v, float64 reference %v", i, fused[i], want)
		}
	}
}

// TestFusedOutputsAndSharedNodes checks that nodes with several consumers or that are graph
// outputs are kept (values of intermediates returned alongside the final result).
func TestFusedOutputsAndSharedNodes(t *testing.T) {
	be := newTestBackend(t, "")
	x := []float32{0.5, 1, 2, 3, 4}
	exec, err := NewExec(be, func(x *Node) []*Node {
		a := Exp(MulScalar(x, 0.5))  // Output and used twice below.
		b := AddScalar(Mul(a, a), 1) // Used once: fuses into c.
		c := Sqrt(Add(b, a))
		return []*Node{a, c, Neg(c)}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, len(x)))
	if err != nil {
		t.Fatal(err)
	}
	a, c, nc := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
	for i, xv := range x {
		ea := math.Exp(0.5 * float64(xv))
		ec := math.Sqrt(ea*ea + 1 + ea)
		if math.Abs(float64(a[i])-ea) > 1e-6*ea || math.Abs(float64(c[i])-ec) > 1e-6*ec || nc[i] != -c[i] {
			t.Fatalf("x=%v: a %v c %v −c %v, want %v %v", xv, a[i], c[i], nc[i], ea, ec)
		}
	}
}

// TestSliceConvertLoads checks native Slice (strided, any dtype) and ConvertDType against
// simplego, and that contiguous slices and integer conversions read by a fused chain are
// folded into its loads (fewer ops, same bits).
func TestSliceConvertLoads(t *testing.T) {
	be := newTestBackend(t, "")
	sg, _ := simplego.New("")
	rng := rand.New(rand.NewPCG(1, 2))
	const m = 2*ewChunk + 300
	bits := make([]uint32, 2*m)
	for i := range bits {
		bits[i] = rng.Uint32()
	}
	// RandomUniform's float32 recipe, then Box–Muller's halves.
	fn := func(xs []*Node) *Node {
		u := MinScalar(Abs(MulScalar(ConvertDType(xs[0], dtypes.Float32), 1.0/(1<<32))), 0.99999994)
		u = Reshape(u, 2, m)
		a := Reshape(Slice(u, AxisElem(0)), m)
		b := Reshape(Slice(u, AxisElem(1)), m)
		return Mul(Sqrt(MulScalar(Log(OneMinus(a)), -2)), AddScalar(b, -0.5))
	}
	fused, fusedOps := runCounted[float32](t, be, fn, bits)
	fusionEnabled = false
	plain, plainOps := runCounted[float32](t, be, fn, bits)
	fusionEnabled = true
	want, _ := runCounted[float32](t, sg, fn, bits)
	t.Logf("%d ops unfused, %d fused", plainOps, fusedOps)
	if fusedOps >= plainOps-4 {
		t.Errorf("fused graph ran %d ops, unfused %d: the slices and the conversion were not folded", fusedOps, plainOps)
	}
	if fusedOps > 3 {
		t.Errorf("fused graph ran %d ops, want at most 3: a Slice under a Reshape was not folded", fusedOps)
	}
	for i := range want {
		if fused[i] != plain[i] {
			t.Fatalf("element %d: fused %v, unfused %v", i, fused[i], plain[i])
		}
		if d := math.Abs(float64(fused[i] - want[i])); d > 1e-6*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("element %d: %v, simplego %v", i, fused[i], want[i])
		}
	}
	// Strided and offset slices of several dtypes, against simplego.
	x := make([]float64, 5*6*7)
	for i := range x {
		x[i] = float64(i)
	}
	for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32, dtypes.Int32, dtypes.Uint8} {
		sl := func(xs []*Node) *Node {
			y := Reshape(ConvertDType(xs[0], dt), 5, 6, 7)
			y = Slice(y, AxisRange(1, 5).Stride(2), AxisRange(0, 6), AxisRange(2, 7).Stride(3))
			return ConvertDType(y, dtypes.Float64)
		}
		got, _ := runCounted[float64](t, be, sl, x)
		want, _ := runCounted[float64](t, sg, sl, x)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, simplego %d", dt, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: element %d is %v, simplego %v", dt, i, got[i], want[i])
			}
		}
	}
}
