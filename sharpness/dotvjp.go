package sharpness

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import of the graph API.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26 differentiates Dot and DotGeneral by broadcasting both operands to the
// [batch, lhs cross, contracted, rhs cross] product space, multiplying and reducing: a
// backend that recognises the pattern turns it back into a matrix product (this project's
// does, in training graphs), but the second derivative that a Hessian-vector product takes
// is a different arrangement of the same ops, and materialised it needs I·J·K numbers per
// product: 1.7 GB for the small CNN on 10 images, out of memory on 250. In the graphs the
// Evaluator builds for Hessian-vector products, this package therefore differentiates both
// ops as JAX does, by two DotGenerals (and a transpose) whose size is that of the operands;
// every other graph keeps GoMLX's own gradient, so training is unchanged.
func init() {
	for _, t := range []NodeType{NodeTypeDot, NodeTypeDotGeneral} {
		gomlx := VJPRegistration[t]
		VJPRegistration[t] = func(node *Node, vjps []*Node, shape shapes.Shape) []*Node {
			if _, ok := secondOrderGraphs.Load(node.Graph().GraphId()); ok {
				return dotGeneralProductVJP(node, vjps[0])
			}
			return gomlx(node, vjps, shape)
		}
	}
}

// secondOrderGraphs holds the ids of the graphs built for Hessian-vector products.
var secondOrderGraphs sync.Map

// markSecondOrder makes the products of g differentiate by dotGeneralProductVJP.
func markSecondOrder(g *Graph) { secondOrderGraphs.Store(g.GraphId(), true) }

// dotAxes are the contracting and batch axes of a DotGeneral (plain Dot: the last axis of
// the left operand with the first of the right, no batch axes).
type dotAxes struct{ lc, lb, rc, rb []int }

// dotGeneralRE reads a DotGeneral's axes from its description: GoMLX keeps them in
// unexported fields, and its String() is the only public view of them.
var dotGeneralRE = regexp.MustCompile(`lhsContractingAxes=\[([\d ]*)\], lhsBatchAxes=\[([\d ]*)\], rhs=\[#\d+\], rhsContractingAxes=\[([\d ]*)\], rhsBatchAxes=\[([\d ]*)\]`)

// productAxes returns the axes of a Dot or DotGeneral node.
func productAxes(node *Node) dotAxes {
	lhs := node.Inputs()[0]
	if node.Type() == NodeTypeDot {
		return dotAxes{lc: []int{lhs.Rank() - 1}, rc: []int{0}}
	}
	m := dotGeneralRE.FindStringSubmatch(node.String())
	if m == nil {
		panic(fmt.Errorf("sharpness: cannot read the axes of %s (GoMLX changed its format?)", node))
	}
	return dotAxes{lc: intList(m[1]), lb: intList(m[2]), rc: intList(m[3]), rb: intList(m[4])}
}

// intList parses "1 2 3" (the %v of a []int without brackets).
func intList(s string) []int {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			panic(fmt.Errorf("sharpness: bad axis %q in a DotGeneral description", f))
		}
		out = append(out, n)
	}
	return out
}

// crossAxes are the axes of a rank-r operand that are neither contracted nor batch, in
// order: they appear in the product's output in this order.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// dotGeneralProductVJP is the VJP of out = DotGeneral(lhs, rhs) (output axes: batch, lhs
// cross, rhs cross) as two products with the incoming v: ∂lhs = v·rhs contracted over the
// rhs cross axes, ∂rhs = v·lhs contracted over the lhs cross axes, each transposed back to
// its operand's axis order.
func dotGeneralProductVJP(node, v *Node) []*Node {
	lhs, rhs := node.Inputs()[0], node.Inputs()[1]
	ax := productAxes(node)
	nb := len(ax.lb)
	lx, rx := crossAxes(lhs.Rank(), ax.lc, ax.lb), crossAxes(rhs.Rank(), ax.rc, ax.rb)
	vBatch := iota(0, nb)
	vLhsCross, vRhsCross := iota(nb, len(lx)), iota(nb+len(lx), len(rx))
	gradL := operandGrad(v, vBatch, vRhsCross, rhs, ax.rb, rx, ax.rc, lhs.Rank(), ax.lb, lx, ax.lc)
	gradR := operandGrad(v, vBatch, vLhsCross, lhs, ax.lb, lx, ax.lc, rhs.Rank(), ax.rb, rx, ax.rc)
	return []*Node{gradL, gradR}
}

// operandGrad is the gradient of one operand ("this": rank thisRank, batch axes thisB,
// cross axes thisX, contracting axes thisC) of a product whose other operand is other:
// DotGeneral(v, contracting vOtherX, batch vBatch; other, contracting otherX, batch
// otherB) has axes [batch, this cross, other's remaining axes = otherC in increasing
// order]; otherC[k] pairs with thisC[k], which places every axis of "this".
func operandGrad(v *Node, vBatch, vOtherX []int, other *Node, otherB, otherX, otherC []int, thisRank int, thisB, thisX, thisC []int) *Node {
	res := DotGeneral(v, vOtherX, vBatch, other, otherX, otherB)
	nb, nx := len(thisB), len(thisX)
	sortedC := slices.Clone(otherC)
	slices.Sort(sortedC)
	perm := make([]int, thisRank) // perm[axis of this] = axis of res
	for i, a := range thisB {
		perm[a] = i
	}
	for i, a := range thisX {
		perm[a] = nb + i
	}
	for k, a := range thisC {
		perm[a] = nb + nx + slices.Index(sortedC, otherC[k])
	}
	if slices.IsSorted(perm) {
		return res
	}
	return TransposeAllAxes(res, perm...)
}

// iota returns n consecutive axes from start.
func iota(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}
