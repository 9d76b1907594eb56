package backend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

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
