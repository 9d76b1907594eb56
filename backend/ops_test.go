package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestLayoutMirrors(t *testing.T) {
	if err := checkLayout(); err != nil {
		t.Fatal(err)
	}
}

// TestDotGeneral compares DotGeneral with simplego's (a float64 reference) for many axis
// layouts, including ones that need a transposing copy, and checks gradients.
func TestDotGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sg, _ := simplego.New("")
	cases := []struct {
		lhs, rhs       []int
		lc, lb, rc, rb []int
	}{
		{[]int{3, 4}, []int{4, 5}, []int{1}, nil, []int{0}, nil},
		{[]int{4, 3}, []int{4, 5}, []int{0}, nil, []int{0}, nil},
		{[]int{3, 4}, []int{5, 4}, []int{1}, nil, []int{1}, nil},
		{[]int{2, 3, 4}, []int{2, 4, 5}, []int{2}, []int{0}, []int{1}, []int{0}},
		{[]int{3, 2, 4}, []int{5, 4, 2}, []int{2}, []int{1}, []int{1}, []int{2}},
		{[]int{2, 3, 4, 6}, []int{6, 5, 3}, []int{1, 3}, nil, []int{2, 0}, nil}, // split contracting axes: needs copies
		{[]int{4}, []int{4}, []int{0}, nil, []int{0}, nil},
	}
	for _, cfg := range gemmConfigs {
		be := newTestBackend(t, cfg)
		for ci, c := range cases {
			t.Run(fmt.Sprintf("%s/%d", cfg, ci), func(t *testing.T) {
				fn := func(xs []*Node) *Node { return DotGeneral(xs[0], c.lc, c.lb, xs[1], c.rc, c.rb) }
				a, b := randArg(rng, c.lhs...), randArg(rng, c.rhs...)
				want, wantDims := eval(t, sg, fn, a, b)
				got, gotDims := eval(t, be, fn, a, b)
				if fmt.Sprint(gotDims) != fmt.Sprint(wantDims) {
					t.Fatalf("shape %v, want %v", gotDims, wantDims)
				}
				closeTo(t, "DotGeneral", got, want, 1e-12)
				if len(a.data) > 0 {
					checkGradients(t, be, fn, a, b)
				}
			})
		}
	}
}

// TestMatMulGradientIsDot checks that the gradient of a matrix product is built as a
// DotGeneral, not as the broadcast product GoMLX writes ([batch, out, in] never exists).
func TestMatMulGradientIsDot(t *testing.T) {
	be := newTestBackend(t, "gemm=go")
	b := be.Builder("grad").(*Builder)
	x, _ := b.Parameter("x", shapesF64(64, 784), nil)
	w, _ := b.Parameter("w", shapesF64(784, 512), nil)
	v, _ := b.Parameter("v", shapesF64(64, 512), nil)
	// GoMLX's Dot gradient w.r.t. w: ReduceSum(Mul(Broadcast(v → [i,j,k]), InsertAxes(x, -1)), 0).
	vb, _ := b.Reshape(v, 64, 1, 512)
	vb, _ = b.BroadcastInDim(vb, shapesF64(64, 784, 512), []int{0, 1, 2})
	xe, _ := b.Reshape(x, 64, 784, 1)
	prod, _ := b.Mul(vb, xe)
	grad, err := b.ReduceSum(prod, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := opNode(grad)
	for n.opType == backends.OpTypeReshape || n.opType == backends.OpTypeTranspose {
		n = nodeOf(n.inputs[0])
	}
	if n.opType != backends.OpTypeDotGeneral {
		t.Fatalf("gradient built as %s, want DotGeneral", n.opType)
	}
	_ = w
}

// TestBroadcastAndReduceSum compares the native BroadcastInDim and ReduceSum with simplego's.
func TestBroadcastAndReduceSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 3, 1, 4, 5)
	for _, axes := range [][]int{{0}, {1}, {3}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {2, 3}} {
		fn := func(xs []*Node) *Node { return ReduceSum(xs[0], axes...) }
		want, _ := eval(t, sg, fn, x)
		got, _ := eval(t, be, fn, x)
		closeTo(t, fmt.Sprint("ReduceSum", axes), got, want, 1e-14)
		fn = func(xs []*Node) *Node { return ReduceMax(xs[0], axes...) }
		want, _ = eval(t, sg, fn, x)
		got, _ = eval(t, be, fn, x)
		closeTo(t, fmt.Sprint("ReduceMax", axes), got, want, 0)
	}
	for _, tc := range []struct{ src, dst []int }{
		{[]int{1, 4, 1}, []int{2, 4, 3}}, {[]int{4, 1}, []int{4, 6}}, {[]int{1, 4, 1, 5}, []int{3, 4, 2, 5}}, {[]int{}, []int{2, 3}},
	} {
		v := randArg(rng, tc.src...)
		fn := func(xs []*Node) *Node { return BroadcastToShape(xs[0], shapesF64(tc.dst...)) }
		want, _ := eval(t, sg, fn, v)
		got, _ := eval(t, be, fn, v)
		closeTo(t, fmt.Sprint("BroadcastInDim", tc.src, tc.dst), got, want, 0)
	}
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 3, 4, 5, 2)
	for _, perm := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 2, 3}, {0, 2, 3, 1}, {2, 0, 3, 1}} {
		fn := func(xs []*Node) *Node { return TransposeAllAxes(xs[0], perm...) }
		want, _ := eval(t, sg, fn, x)
		got, _ := eval(t, be, fn, x)
		closeTo(t, fmt.Sprint("Transpose", perm), got, want, 0)
	}
}

// TestElementwise compares the native elementwise ops with simplego's on large inputs (several
// chunks, so the parallel split is exercised), scalars on either side, and float32.
func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x, y, s := randArg(rng, 3, ewChunk/2+7), randArg(rng, 3, ewChunk/2+7), randArg(rng)
	u, v, w := randArg(rng, 4, 1, 5), randArg(rng, 4, 3, 1), randArg(rng, 1, 3, 5)
	ops := map[string]func(a, b *Node) *Node{"Add": Add, "Sub": Sub, "Mul": Mul, "Div": Div, "Max": Max, "Min": Min}
	for name, f := range ops {
		for _, args := range [][]arg{{x, y}, {x, s}, {s, y}, {u, v}, {v, u}, {w, u}, {v, w}} {
			fn := func(xs []*Node) *Node { return f(xs[0], xs[1]) }
			want, _ := eval(t, sg, fn, args...)
			got, _ := eval(t, be, fn, args...)
			closeTo(t, name, got, want, 0)
			fn32 := func(xs []*Node) *Node {
				return ConvertDType(f(ConvertDType(xs[0], dtypes.Float32), ConvertDType(xs[1], dtypes.Float32)), dtypes.Float64)
			}
			want, _ = eval(t, sg, fn32, args...)
			got, _ = eval(t, be, fn32, args...)
			closeTo(t, name+" float32", got, want, 0)
		}
	}
	relu := func(xs []*Node) *Node { return Max(xs[0], ZerosLike(xs[0])) }
	want, _ := eval(t, sg, relu, x)
	got, _ := eval(t, be, relu, x)
	closeTo(t, "Max(x, ZerosLike(x))", got, want, 0)
	prefix := func(xs []*Node) *Node { return BroadcastPrefix(xs[0], 2, 3) }
	want, _ = eval(t, sg, prefix, y)
	got, _ = eval(t, be, prefix, y)
	closeTo(t, "BroadcastPrefix", got, want, 0)

	for name, f := range map[string]func(*Node) *Node{"Exp": Exp, "Neg": Neg} {
		fn := func(xs []*Node) *Node { return f(xs[0]) }
		want, _ = eval(t, sg, fn, x)
		got, _ = eval(t, be, fn, x)
		closeTo(t, name, got, want, 1e-15)
	}

	x.data[0], x.data[1] = 0, math.NaN()
	fn := func(xs []*Node) *Node { return Sign(xs[0]) }
	want, _ = eval(t, sg, fn, x)
	got, _ = eval(t, be, fn, x)
	if !math.IsNaN(got[1]) || got[0] != 0 {
		t.Errorf("Sign(0), Sign(NaN) = %v, %v", got[0], got[1])
	}
	got[1], want[1] = 0, 0
	closeTo(t, "Sign", got, want, 0)
}

// TestIndicators checks GoMLX's indicator functions (Sign(Sign(x)+c), fused natively) and the
// gradient of Max, ReLU's, against simplego, zeros and NaN included.
func TestIndicators(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 5, 7)
	x.data[0], x.data[1] = 0, math.Copysign(0, -1)
	for name, f := range map[string]func(*Node) *Node{
		"NonNegativeIndicator": NonNegativeIndicator, "SignPlusOrMinus": SignPlusOrMinus,
		"PositiveIndicator": PositiveIndicator, "NonPositiveIndicator": NonPositiveIndicator,
	} {
		fn := func(xs []*Node) *Node { return f(xs[0]) }
		want, _ := eval(t, sg, fn, x)
		got, _ := eval(t, be, fn, x)
		closeTo(t, name, got, want, 0)
	}
	v := randArg(rng, 5, 7)
	masked := func(xs []*Node) *Node { return Mul(xs[1], NonNegativeIndicator(xs[0])) }
	want, _ := eval(t, sg, masked, x, v)
	got, _ := eval(t, be, masked, x, v)
	closeTo(t, "v·NonNegativeIndicator(x)", got, want, 0)
	relu := func(xs []*Node) *Node { return Max(xs[0], ZerosLike(xs[0])) }
	x.data[0], x.data[1] = 0.3, -0.4 // Away from the kink for finite differences.
	checkGradients(t, be, relu, x)
}

// TestIdentityRewrites checks x+0, x·1, … reuse x, and that a graph returning both x and x·1
// still compiles (the rewrite makes them one node).
func TestIdentityRewrites(t *testing.T) {
	be := newTestBackend(t, "gemm=go")
	x := tensorsOf([]arg{{data: []float64{1, -2, 3}, dims: []int{3}}})
	exec := MustNewExec(be, func(x *Node) []*Node {
		one := Scalar(x.Graph(), x.DType(), 1)
		zero := Scalar(x.Graph(), x.DType(), 0)
		return []*Node{Mul(x, one), Add(zero, x), Sub(x, zero), Div(x, one), Mul(one, x)}
	})
	outs, err := exec.Exec(x...)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if got := tensors.MustCopyFlatData[float64](o); fmt.Sprint(got) != "[1 -2 3]" {
			t.Errorf("output %d = %v", i, got)
		}
	}
}
