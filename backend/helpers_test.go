package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// gemmConfigs are the two GEMM paths every op test runs on.
var gemmConfigs = []string{"gemm=go", "gemm=auto"}

func newTestBackend(t testing.TB, config string) *Backend {
	t.Helper()
	be, err := NewBackend(config)
	if err != nil {
		t.Fatalf("NewBackend(%q): %v", config, err)
	}
	return be
}

// arg is a float64 test input.
type arg struct {
	data []float64
	dims []int
}

func randArg(rng *rand.Rand, dims ...int) arg {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return arg{data: data, dims: dims}
}

func (a arg) tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), a.data...), a.dims...)
}

func tensorsOf(args []arg) []any {
	ts := make([]any, len(args))
	for i, a := range args {
		ts[i] = a.tensor()
	}
	return ts
}

// eval runs fn on args (float64) and returns its output, flattened.
func eval(t testing.TB, be backends.Backend, fn func(xs []*Node) *Node, args ...arg) ([]float64, []int) {
	t.Helper()
	exec, err := NewExec(be, fn)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Exec(tensorsOf(args)...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0]), out[0].Shape().Dimensions
}

// closeTo fails the test when got and want differ by more than tol relative to want's scale.
func closeTo(t testing.TB, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	scale := 1e-12
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > tol*scale || math.IsNaN(got[i]) {
			t.Fatalf("%s: element %d is %.10g, want %.10g (|diff| %.3g > %.3g·%.3g)", what, i, got[i], want[i], d, tol, scale)
		}
	}
}

// checkGradients compares graph.Gradient of Σ fn(xs)·r (r fixed, random) with central
// finite differences on up to maxProbe elements of each input.
func checkGradients(t testing.TB, be backends.Backend, fn func(xs []*Node) *Node, args ...arg) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	_, outDims := eval(t, be, fn, args...)
	weights := randArg(rng, outDims...)
	loss := func(xs []*Node) *Node {
		w := Const(xs[0].Graph(), weights.tensor())
		return ReduceAllSum(Mul(fn(xs), w))
	}
	grads := func(xs []*Node) []*Node { return Gradient(loss(xs), xs...) }
	exec, err := NewExec(be, grads)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Exec(tensorsOf(args)...)
	if err != nil {
		t.Fatal(err)
	}
	lossExec, err := NewExec(be, loss)
	if err != nil {
		t.Fatal(err)
	}
	defer lossExec.Finalize()
	lossAt := func(args []arg) float64 {
		v, err := lossExec.Exec(tensorsOf(args)...)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.ToScalar[float64](v[0])
	}
	const h, maxProbe = 1e-5, 24
	for i, a := range args {
		analytic := tensors.MustCopyFlatData[float64](out[i])
		probes := rng.Perm(len(a.data))
		if len(probes) > maxProbe {
			probes = probes[:maxProbe]
		}
		var got, want []float64
		for _, j := range probes {
			shifted := append([]arg(nil), args...)
			plus, minus := append([]float64(nil), a.data...), append([]float64(nil), a.data...)
			plus[j] += h
			minus[j] -= h
			shifted[i] = arg{data: plus, dims: a.dims}
			lp := lossAt(shifted)
			shifted[i] = arg{data: minus, dims: a.dims}
			lm := lossAt(shifted)
			want = append(want, (lp-lm)/(2*h))
			got = append(got, analytic[j])
		}
		closeTo(t, "gradient of input "+string(rune('0'+i)), got, want, 1e-6)
	}
}

func shapesF64(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float64, dims...) }
