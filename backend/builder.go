package backend

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Builder is simplego's Builder with the ops of this package overriding or adding to its own.
type Builder struct {
	*simplego.Builder
	backend *Backend
}

// scalar returns a constant scalar of dtype (float32 or float64).
func (b *Builder) scalar(dtype dtypes.DType, v float64) (backends.Op, error) {
	if dtype == dtypes.Float64 {
		return b.Constant([]float64{v})
	}
	return b.Constant([]float32{float32(v)})
}

// ReduceSum implements backends.Builder. ReduceSum(Mul(a, b)) where a and b are broadcasts
// that together form a matrix product — how GoMLX writes the gradients of Dot and
// DotGeneral — becomes one DotGeneral, so the [batch, out, in] product is never built.
func (b *Builder) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if len(axes) == 0 { // No axes: all of them, as in simplego.
		for a := range shape.Rank() {
			axes = append(axes, a)
		}
	}
	if op, ok, err := b.reduceSumOfProduct(x, axes); ok || err != nil {
		return op, err
	}
	if isFloat(shape.DType) {
		return b.nativeReduceSum(x, axes)
	}
	return b.Builder.ReduceSum(x, axes...)
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

// Compile implements backends.Builder. Rewrites here can make two outputs the same node
// (x and x·1, say), which simplego rejects: repeated outputs get an Identity node each.
func (b *Builder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	seen := make(map[backends.Op]bool, len(outputs))
	outs := slices.Clone(outputs)
	for i, op := range outs {
		if seen[op] {
			id, err := b.Builder.Identity(op)
			if err != nil {
				return nil, err
			}
			outs[i] = id
		}
		seen[op] = true
	}
	fuseElementwise(outs)
	return b.Builder.Compile(outs, shardings)
}
