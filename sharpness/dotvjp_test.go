package sharpness

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestDotGeneralProductVJP: in a graph marked for second order, the gradients of Dot and
// of DotGeneral with batch axes, contracting axes out of order and cross axes on both
// sides equal GoMLX's own (broadcast, multiply, reduce) gradients, and so do the second
// derivatives built from them.
func TestDotGeneralProductVJP(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(4, 2))
	mk := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		return tensors.FromFlatDataAndDimensions(randMatrix(rng, 1, n, 1), dims...)
	}
	cases := []struct {
		name     string
		lhs, rhs *tensors.Tensor
		prod     func(l, r *Node) *Node
	}{
		{"dot matrix", mk(3, 4), mk(4, 5), Dot},
		{"dot matrix-vector", mk(3, 4), mk(4), Dot},
		// lhs [b=2, c1=3, x=4, c0=5], rhs [c0=5, b=2, y=6, c1=3]
		{"dotgeneral", mk(2, 3, 4, 5), mk(5, 2, 6, 3), func(l, r *Node) *Node {
			return DotGeneral(l, []int{3, 1}, []int{0}, r, []int{0, 3}, []int{1})
		}},
	}
	for _, c := range cases {
		grads := func(mark bool) []*tensors.Tensor {
			exec := MustNewExec(be, func(l, r *Node) []*Node {
				g := l.Graph()
				if mark {
					markSecondOrder(g)
				}
				out := c.prod(l, r)
				w := Sin(Iota(g, out.Shape(), 0))
				obj := ReduceAllSum(Mul(Square(out), w)) // non-linear: the second order is not trivial
				gr := Gradient(obj, l, r)
				dot := Add(ReduceAllSum(Mul(gr[0], Cos(l))), ReduceAllSum(Mul(gr[1], Cos(r))))
				return append(gr, Gradient(dot, l, r)...)
			})
			return exec.MustExec(c.lhs, c.rhs)
		}
		want, got := grads(false), grads(true)
		for i := range want {
			a, _ := tensors.CopyFlatData[float64](got[i])
			b, _ := tensors.CopyFlatData[float64](want[i])
			if d := maxAbsDiff(a, b); d > 1e-10*(1+norm(b)) {
				t.Errorf("%s: output %d (∂lhs, ∂rhs, then their derivatives) differs by %.3g", c.name, i, d)
			}
		}
	}
}
