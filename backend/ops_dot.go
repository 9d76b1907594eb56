package backend

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// dotOp is a DotGeneral computed as a batch of GEMMs. The output is
// [batch axes..., lhs cross axes..., rhs cross axes...], as in XLA.
type dotOp struct {
	eng *engine
	// lhsPerm orders lhs as [batch, cross, contracting]; rhsPerm orders rhs as
	// [batch, contracting, cross] — the layouts a GEMM without transposition reads.
	lhsPerm, rhsPerm []int
	// numBatch, numLhsCross, numContract count the axes of each kind.
	numBatch, numLhsCross, numContract int
	batch, m, n, k                     int
}

// DotGeneral implements backends.Builder with GEMM for float32/float64; other dtypes go to simplego.
func (b *Builder) DotGeneral(lhs backends.Op, lhsContracting, lhsBatch []int, rhs backends.Op, rhsContracting, rhsBatch []int) (backends.Op, error) {
	lhsShape, err := b.OpShape(lhs)
	if err != nil {
		return nil, err
	}
	rhsShape, err := b.OpShape(rhs)
	if err != nil {
		return nil, err
	}
	if !isFloat(lhsShape.DType) || lhsShape.DType != rhsShape.DType {
		return b.Builder.DotGeneral(lhs, lhsContracting, lhsBatch, rhs, rhsContracting, rhsBatch)
	}
	op, outShape, err := newDotOp(b.backend.engine, lhsShape, lhsContracting, lhsBatch, rhsShape, rhsContracting, rhsBatch)
	if err != nil {
		return nil, err
	}
	return newNativeNode(b.Builder, backends.OpTypeDotGeneral, outShape, op, lhs, rhs), nil
}

// Dot implements backends.Builder through DotGeneral (simplego's Dot would call its own).
func (b *Builder) Dot(lhs, rhs backends.Op) (backends.Op, error) {
	lhsShape, err := b.OpShape(lhs)
	if err != nil {
		return nil, err
	}
	rhsShape, err := b.OpShape(rhs)
	if err != nil {
		return nil, err
	}
	switch {
	case lhsShape.Rank() == 1 && rhsShape.Rank() == 1:
		return b.DotGeneral(lhs, []int{0}, nil, rhs, []int{0}, nil)
	case lhsShape.Rank() == 2 && (rhsShape.Rank() == 1 || rhsShape.Rank() == 2):
		return b.DotGeneral(lhs, []int{1}, nil, rhs, []int{0}, nil)
	}
	return nil, fmt.Errorf("Dot: operands must be vector·vector, matrix·vector or matrix·matrix, got %s and %s", lhsShape, rhsShape)
}

// newDotOp validates the axes and plans the GEMMs.
func newDotOp(eng *engine, lhs shapes.Shape, lhsContracting, lhsBatch []int, rhs shapes.Shape, rhsContracting, rhsBatch []int) (*dotOp, shapes.Shape, error) {
	fail := func(format string, args ...any) (*dotOp, shapes.Shape, error) {
		return nil, shapes.Invalid(), fmt.Errorf("DotGeneral(%s, %s): "+format, append([]any{lhs, rhs}, args...)...)
	}
	if len(lhsContracting) != len(rhsContracting) || len(lhsBatch) != len(rhsBatch) {
		return fail("lhs and rhs need as many contracting axes (%d vs %d) and batch axes (%d vs %d)",
			len(lhsContracting), len(rhsContracting), len(lhsBatch), len(rhsBatch))
	}
	lhsCross, err := crossAxes(lhs.Rank(), lhsContracting, lhsBatch)
	if err != nil {
		return fail("lhs: %v", err)
	}
	rhsCross, err := crossAxes(rhs.Rank(), rhsContracting, rhsBatch)
	if err != nil {
		return fail("rhs: %v", err)
	}
	op := &dotOp{eng: eng, numBatch: len(lhsBatch), numLhsCross: len(lhsCross), numContract: len(lhsContracting),
		batch: 1, m: 1, n: 1, k: 1}
	outDims := []int{}
	for i := range lhsBatch {
		d := lhs.Dimensions[lhsBatch[i]]
		if d != rhs.Dimensions[rhsBatch[i]] {
			return fail("batch axis %d of lhs (%d) and %d of rhs (%d) differ", lhsBatch[i], d, rhsBatch[i], rhs.Dimensions[rhsBatch[i]])
		}
		op.batch *= d
		outDims = append(outDims, d)
	}
	for i := range lhsContracting {
		d := lhs.Dimensions[lhsContracting[i]]
		if d != rhs.Dimensions[rhsContracting[i]] {
			return fail("contracting axis %d of lhs (%d) and %d of rhs (%d) differ", lhsContracting[i], d, rhsContracting[i], rhs.Dimensions[rhsContracting[i]])
		}
		op.k *= d
	}
	for _, a := range lhsCross {
		op.m *= lhs.Dimensions[a]
		outDims = append(outDims, lhs.Dimensions[a])
	}
	for _, a := range rhsCross {
		op.n *= rhs.Dimensions[a]
		outDims = append(outDims, rhs.Dimensions[a])
	}
	op.lhsPerm = slices.Concat(lhsBatch, lhsCross, lhsContracting)
	op.rhsPerm = slices.Concat(rhsBatch, rhsContracting, rhsCross)
	return op, shapes.Make(lhs.DType, outDims...), nil
}

// crossAxes returns the axes that are neither contracting nor batch, checking the lists.
func crossAxes(rank int, contracting, batch []int) ([]int, error) {
	used := make([]bool, rank)
	for _, a := range slices.Concat(contracting, batch) {
		if a < 0 || a >= rank {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, rank)
		}
		if used[a] {
			return nil, fmt.Errorf("axis %d listed twice", a)
		}
		used[a] = true
	}
	var cross []int
	for a, u := range used {
		if !u {
			cross = append(cross, a)
		}
	}
	return cross, nil
}

func (op *dotOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	var err error
	switch node.shape.DType {
	case dtypes.Float32:
		err = dotExec[float32](be, op, inputs[0], inputs[1], outM)
	case dtypes.Float64:
		err = dotExec[float64](be, op, inputs[0], inputs[1], outM)
	default:
		err = fmt.Errorf("DotGeneral: dtype %s not supported natively", node.shape.DType)
	}
	if err != nil {
		sgPutBuffer(be, out)
		return nil, err
	}
	return out, nil
}

// operandLayout returns x's data arranged so that each batch element is a rows×cols matrix
// (possibly transposed: stored cols×rows), copying only when no transposition flag can do it.
// perm orders x as [batch (nb axes), first group (n1 axes), second group]; the GEMM wants the
// first group as rows.
func operandLayout[T float32 | float64](be *simplego.Backend, x *bufferMirror, perm []int, nb, n1 int) (data []T, transposed bool, scratch *simplego.Buffer) {
	data = flatOf[T](x)
	if isIdentity(perm) {
		return data, false, nil
	}
	// Swapping the two groups (after the batch axes) is a transposition the GEMM does for free.
	swapped := slices.Concat(perm[:nb], perm[nb+n1:], perm[nb:nb+n1])
	if isIdentity(swapped) {
		return data, true, nil
	}
	dims := x.shape.Dimensions
	scratch, sm := newBuffer(be, x.shape)
	tmp := flatOf[T](sm)
	transposeInto(tmp, data, dims, perm)
	return tmp, false, scratch
}

func dotExec[T float32 | float64](be *simplego.Backend, op *dotOp, lhs, rhs, out *bufferMirror) error {
	a, transA, scratchA := operandLayout[T](be, lhs, op.lhsPerm, op.numBatch, op.numLhsCross)
	b, transB, scratchB := operandLayout[T](be, rhs, op.rhsPerm, op.numBatch, op.numContract)
	c := flatOf[T](out)
	m, n, k := op.m, op.n, op.k
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	one := func(bi int, par bool) {
		as, bs, cs := a[bi*m*k:(bi+1)*m*k], b[bi*k*n:(bi+1)*k*n], c[bi*m*n:(bi+1)*m*n]
		if par {
			gemmPar(op.eng, transA, transB, m, n, k, as, lda, bs, ldb, 0, cs, n)
		} else {
			gemmT(op.eng.gemm, transA, transB, m, n, k, as, lda, bs, ldb, 0, cs, n)
		}
	}
	switch {
	case k == 0: // An empty contraction sums nothing.
		clear(c)
	case op.batch >= 2*op.eng.workers || (op.batch > 1 && 2*m*n*k < minParallelFlops):
		// Many (or small) products: one per goroutine.
		parallelFor(op.eng.workers, op.batch, func(_, bi int) { one(bi, false) })
	default:
		for bi := range op.batch {
			one(bi, true)
		}
	}
	if scratchA != nil {
		sgPutBuffer(be, scratchA)
	}
	if scratchB != nil {
		sgPutBuffer(be, scratchB)
	}
	return nil
}

// operandView describes a Mul operand as a source tensor whose non-unit axes map to distinct
// axes of the product (the others are broadcast).
type operandView struct {
	src     backends.Op
	srcAxes []int // non-unit axes of src
	outAxes []int // product axis of each srcAxes entry
}

// viewThrough peels BroadcastInDim and unit-axis Reshape nodes off op, so the product's
// operands are seen as their small sources.
func (b *Builder) viewThrough(op backends.Op) operandView {
	n := opNode(op)
	axes := nonUnitAxes(n.shape)
	v := operandView{src: op, srcAxes: axes, outAxes: slices.Clone(axes)}
	for {
		n := opNode(v.src)
		if len(n.inputs) != 1 || n.builder != b.Builder {
			return v
		}
		in := nodeOf(n.inputs[0])
		inAxes := nonUnitAxes(in.shape)
		switch n.opType {
		case backends.OpTypeBroadcastInDim:
			bop, ok := n.data.(*broadcastOp)
			if !ok {
				return v
			}
			bAxes := bop.axes
			// Source axis a lands on axis bAxes[a] of this node; find each of ours.
			mapped := make([]int, len(inAxes))
			for i, a := range inAxes {
				j := slices.Index(v.srcAxes, bAxes[a])
				if j < 0 {
					return v // A non-unit axis that is broadcast away: not a plain view.
				}
				mapped[i] = v.outAxes[j]
			}
			v = operandView{src: n.inputs[0], srcAxes: inAxes, outAxes: mapped}
		case backends.OpTypeReshape:
			// Only reshapes that add or remove unit axes keep the non-unit axes in order.
			if len(inAxes) != len(v.srcAxes) {
				return v
			}
			for i := range inAxes {
				if in.shape.Dimensions[inAxes[i]] != n.shape.Dimensions[v.srcAxes[i]] {
					return v
				}
			}
			v = operandView{src: n.inputs[0], srcAxes: inAxes, outAxes: v.outAxes}
		default:
			return v
		}
	}
}

// reduceSumOfProduct does the rewrite described in ReduceSum; ok is false when x is not
// such a product (or the rewrite would not help).
func (b *Builder) reduceSumOfProduct(x backends.Op, axes []int) (result backends.Op, ok bool, err error) {
	if _, err := b.OpShape(x); err != nil {
		return nil, false, err
	}
	mul := opNode(x)
	if mul.opType != backends.OpTypeMul || !isFloat(mul.shape.DType) || len(mul.inputs) != 2 {
		return nil, false, nil
	}
	va, vb := b.viewThrough(mul.inputs[0]), b.viewThrough(mul.inputs[1])
	reduced := make([]bool, mul.shape.Rank())
	for _, a := range axes {
		if a < 0 || a >= len(reduced) {
			return nil, false, nil // Let simplego report the bad axis.
		}
		reduced[a] = true
	}
	// Classify every non-unit product axis.
	var contractA, contractB, batchA, batchB, crossA, crossB, preA, preB, outOrder, crossOrderA, crossOrderB []int
	for _, ax := range nonUnitAxes(mul.shape) {
		ia, ib := slices.Index(va.outAxes, ax), slices.Index(vb.outAxes, ax)
		switch {
		case ia < 0 && ib < 0:
			return nil, false, nil // Broadcast on both sides: rare, leave it.
		case ia >= 0 && ib >= 0 && reduced[ax]:
			contractA, contractB = append(contractA, va.srcAxes[ia]), append(contractB, vb.srcAxes[ib])
		case ia >= 0 && ib >= 0:
			batchA, batchB = append(batchA, va.srcAxes[ia]), append(batchB, vb.srcAxes[ib])
			outOrder = append(outOrder, ax)
		case ia >= 0 && reduced[ax]:
			preA = append(preA, va.srcAxes[ia])
		case ib >= 0 && reduced[ax]:
			preB = append(preB, vb.srcAxes[ib])
		case ia >= 0:
			crossA, crossOrderA = append(crossA, va.srcAxes[ia]), append(crossOrderA, ax)
		default:
			crossB, crossOrderB = append(crossB, vb.srcAxes[ib]), append(crossOrderB, ax)
		}
	}
	if len(contractA) == 0 || len(crossA)+len(crossB) == 0 {
		return nil, false, nil // No matrix product hides here.
	}
	a, err := b.dropAxes(va.src, preA, slices.Concat(contractA, batchA, crossA))
	if err != nil {
		return nil, false, err
	}
	bb, err := b.dropAxes(vb.src, preB, slices.Concat(contractB, batchB, crossB))
	if err != nil {
		return nil, false, err
	}
	// After dropAxes the kept axes are numbered by their order in the source.
	renumber := func(kept, list []int) []int {
		sorted := slices.Sorted(slices.Values(kept))
		out := make([]int, len(list))
		for i, a := range list {
			out[i] = slices.Index(sorted, a)
		}
		return out
	}
	keptA, keptB := slices.Concat(contractA, batchA, crossA), slices.Concat(contractB, batchB, crossB)
	// Cross axes come out of DotGeneral in source order: sort their product positions alike.
	crossOrderA = reorderBy(crossOrderA, crossA)
	crossOrderB = reorderBy(crossOrderB, crossB)
	// DotGeneral puts lhs cross axes before rhs ones: take as lhs the operand whose cross axes
	// come first in the product, so that the result usually needs no transposition.
	dotAxes := slices.Concat(outOrder, crossOrderA, crossOrderB)
	lhs, lc, lb, rhs, rc, rb := a, renumber(keptA, contractA), renumber(keptA, batchA), bb, renumber(keptB, contractB), renumber(keptB, batchB)
	if swapped := slices.Concat(outOrder, crossOrderB, crossOrderA); slices.IsSorted(swapped) && !slices.IsSorted(dotAxes) {
		dotAxes = swapped
		lhs, lc, lb, rhs, rc, rb = rhs, rc, rb, lhs, lc, lb
	}
	dot, err := b.DotGeneral(lhs, lc, lb, rhs, rc, rb)
	if err != nil {
		return nil, false, err
	}
	// Put the product axes back in their order, then restore unit axes with a reshape.
	perm := make([]int, len(dotAxes))
	sortedAxes := slices.Sorted(slices.Values(dotAxes))
	for i, ax := range sortedAxes {
		perm[i] = slices.Index(dotAxes, ax)
	}
	if !isIdentity(perm) {
		if dot, err = b.Transpose(dot, perm...); err != nil {
			return nil, false, err
		}
	}
	want, err := shapeinference.ReduceOp(mul.shape, axes)
	if err != nil {
		return nil, false, err
	}
	result, err = b.Reshape(dot, want.Dimensions...)
	return result, err == nil, err
}

// reorderBy sorts positions by the source axes they belong to (ascending).
func reorderBy(positions, srcAxes []int) []int {
	idx := make([]int, len(positions))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return srcAxes[i] - srcAxes[j] })
	out := make([]int, len(positions))
	for i, k := range idx {
		out[i] = positions[k]
	}
	return out
}

// dropAxes sums src over the axes in sum and removes every axis not in keep (unit axes).
func (b *Builder) dropAxes(src backends.Op, sum, keep []int) (backends.Op, error) {
	var err error
	shape := opShape(src)
	if len(sum) > 0 {
		if src, err = b.ReduceSum(src, sum...); err != nil {
			return nil, err
		}
		// ReduceSum removed the summed axes: renumber keep.
		var k2 []int
		for _, a := range keep {
			shift := 0
			for _, s := range sum {
				if s < a {
					shift++
				}
			}
			k2 = append(k2, a-shift)
		}
		keep = k2
		shape = opShape(src)
	}
	if len(keep) == shape.Rank() {
		return src, nil
	}
	var dims []int
	for a, d := range shape.Dimensions {
		if slices.Contains(keep, a) {
			dims = append(dims, d)
		}
	}
	return b.Reshape(src, dims...)
}
