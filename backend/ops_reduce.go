package backend

// Reductions: ReduceSum and ReduceMax. A ReduceSum(Mul(…)) that is a matrix product in
// disguise becomes a DotGeneral (ops_dot.go). Any other reduction over some axes walks the
// input once in memory order, on one goroutine (reduce). A ReduceSum whose result is one value
// (all axes, or all but unit axes) — the global norms ‖x‖² = ReduceAllSum(Square(x)) that
// SAM-style optimizers take of every variable, losses averaged over a batch — is a full sum:
//
//   - Deterministic: the input is cut into fixed chunks of reduceChunk elements, whatever the
//     number of workers; each chunk's partial sum is computed by one goroutine, and the
//     partials are added in chunk order. The result depends only on the data.
//   - Accurate and fast: each chunk is accumulated in float64, in sumLanes lanes (element i
//     of the chunk goes to lane i mod sumLanes) so consecutive additions do not wait for each
//     other, and rounded to the dtype once at the end. A float32 sequential sum runs at one
//     add latency (~1 ns) per element and was 0.34% off for 2²⁰ positive values.
//   - Fused: when the operand is an elementwise node used only by the ReduceSum (Square(x) is
//     Mul(x, x)), fuseReductions makes the ReduceSum run the operand's program block by block
//     and sum each block from scratch, so the operand is never written to memory. The blocks
//     hold exactly the values the unfused node would write, and fuseBlock is a multiple of
//     sumLanes, so every lane sees the same values in the same order: fused and unfused
//     results are bit-identical (TestFusedSumIsExact).

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

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

// reduceSumOp is ReduceSum (or ReduceMax) for float32/float64: the input is walked once in
// memory order, with the innermost axis either reduced to a scalar or combined as a vector.
// A ReduceSum to one value is sumAll instead (parallel, float64, deterministic: see the file
// comment).
type reduceSumOp struct {
	eng   *engine
	axes  []int
	isMax bool
}

// nativeReduceSum adds a native ReduceSum node (the caller checked the dtype).
func (b *Builder) nativeReduceSum(x backends.Op, axes []int) (backends.Op, error) {
	xShape := opShape(x)
	outShape, err := shapeinference.ReduceOp(xShape, axes)
	if err != nil {
		return nil, err
	}
	return newNativeNode(b.Builder, backends.OpTypeReduceSum, outShape, &reduceSumOp{eng: b.backend.engine, axes: slices.Clone(axes)}, x), nil
}

func (op *reduceSumOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	x := inputs[0]
	out, outM := newBuffer(be, node.shape)
	full := !op.isMax && node.shape.Size() == 1
	switch {
	case full && node.shape.DType == dtypes.Float32:
		flatOf[float32](outM)[0] = sumAll(op.eng.workers, flatOf[float32](x))
	case full && node.shape.DType == dtypes.Float64:
		flatOf[float64](outM)[0] = sumAll(op.eng.workers, flatOf[float64](x))
	case node.shape.DType == dtypes.Float32:
		reduce(flatOf[float32](outM), flatOf[float32](x), x.shape.Dimensions, op.axes, op.isMax)
	case node.shape.DType == dtypes.Float64:
		reduce(flatOf[float64](outM), flatOf[float64](x), x.shape.Dimensions, op.axes, op.isMax)
	default:
		sgPutBuffer(be, out)
		return nil, fmt.Errorf("ReduceSum: dtype %s not supported natively", node.shape.DType)
	}
	return out, nil
}

// ReduceMax implements backends.Builder (natively for floats; NaN propagates).
func (b *Builder) ReduceMax(x backends.Op, axes ...int) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if !isFloat(shape.DType) {
		return b.Builder.ReduceMax(x, axes...)
	}
	if len(axes) == 0 {
		for a := range shape.Rank() {
			axes = append(axes, a)
		}
	}
	outShape, err := shapeinference.ReduceOp(shape, axes)
	if err != nil {
		return nil, err
	}
	return newNativeNode(b.Builder, backends.OpTypeReduceMax, outShape, &reduceSumOp{eng: b.backend.engine, axes: slices.Clone(axes), isMax: true}, x), nil
}

// rowKernelMin is the row length from which reduce combines rows with binarySlices (its
// dispatch costs more than a loop over a few elements).
const rowKernelMin = 32

func reduce[T float32 | float64](out, x []T, dims, axes []int, isMax bool) {
	if isMax {
		for i := range out {
			out[i] = T(math.Inf(-1))
		}
	} else {
		clear(out)
	}
	rank := len(dims)
	if rank == 0 {
		copy(out, x)
		return
	}
	reduced := make([]bool, rank)
	for _, a := range axes {
		reduced[a] = true
	}
	// Output stride of each input axis (0 for reduced axes).
	outStrides := make([]int, rank)
	s := 1
	for ax := rank - 1; ax >= 0; ax-- {
		if !reduced[ax] {
			outStrides[ax] = s
			s *= dims[ax]
		}
	}
	inner := dims[rank-1]
	idx := make([]int, rank)
	outPos := 0
	for pos := 0; pos < len(x); pos += inner {
		row := x[pos : pos+inner]
		switch {
		case isMax && reduced[rank-1]:
			acc := out[outPos]
			for _, v := range row {
				acc = maxNaN(acc, v)
			}
			out[outPos] = acc
		case isMax:
			dst := out[outPos : outPos+inner]
			if inner >= rowKernelMin {
				binarySlices(backends.OpTypeMax, dst, dst, row) // The same maxNaN, SIMD where it can.
				break
			}
			for j, v := range row {
				dst[j] = maxNaN(dst[j], v)
			}
		case reduced[rank-1]:
			var acc T
			for _, v := range row {
				acc += v
			}
			out[outPos] += acc
		default:
			dst := out[outPos : outPos+inner]
			if inner >= rowKernelMin {
				binarySlices(backends.OpTypeAdd, dst, dst, row) // The same adds, SIMD where it can.
				break
			}
			for j, v := range row {
				dst[j] += v
			}
		}
		for ax := rank - 2; ax >= 0; ax-- {
			idx[ax]++
			outPos += outStrides[ax]
			if idx[ax] < dims[ax] {
				break
			}
			outPos -= outStrides[ax] * dims[ax]
			idx[ax] = 0
		}
	}
}

const (
	// reduceChunk is the number of elements of one partial sum (a multiple of fuseBlock).
	reduceChunk = 1 << 14
	// sumLanes is the number of independent float64 accumulators of a partial sum.
	sumLanes = 8
)

// addLanes adds x to the lane accumulators: x[i] goes to lane i mod sumLanes. A caller that
// feeds one partial sum in several pieces must make every piece but the last a multiple of
// sumLanes long, so each element lands in the same lane as in a single call.
func addLanes[T float32 | float64](acc *[sumLanes]float64, x []T) {
	if isF32[T]() {
		x = x[simdAddLanes(acc, f32(x)):] // The rest (a tail, or all of x) below, from lane 0.
	}
	// Locals, so the compiler keeps the eight accumulators in registers.
	a0, a1, a2, a3, a4, a5, a6, a7 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	i := 0
	for ; i+sumLanes <= len(x); i += sumLanes {
		s := x[i : i+sumLanes : i+sumLanes]
		a0 += float64(s[0])
		a1 += float64(s[1])
		a2 += float64(s[2])
		a3 += float64(s[3])
		a4 += float64(s[4])
		a5 += float64(s[5])
		a6 += float64(s[6])
		a7 += float64(s[7])
	}
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, a4, a5, a6, a7
	for j, v := range x[i:] {
		acc[j] += float64(v)
	}
}

// addProducts is addLanes of the products x[i]·y[i], each rounded to T as a Mul node's
// output is (so the sum equals addLanes of that output, bit for bit).
func addProducts[T float32 | float64](acc *[sumLanes]float64, x, y []T) {
	y = y[:len(x)]
	if isF32[T]() {
		n := simdAddProducts(acc, f32(x), f32(y))
		x, y = x[n:], y[n:]
	}
	a0, a1, a2, a3, a4, a5, a6, a7 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	i := 0
	for ; i+sumLanes <= len(x); i += sumLanes {
		s, t := x[i:i+sumLanes:i+sumLanes], y[i:i+sumLanes:i+sumLanes]
		a0 += float64(T(s[0] * t[0]))
		a1 += float64(T(s[1] * t[1]))
		a2 += float64(T(s[2] * t[2]))
		a3 += float64(T(s[3] * t[3]))
		a4 += float64(T(s[4] * t[4]))
		a5 += float64(T(s[5] * t[5]))
		a6 += float64(T(s[6] * t[6]))
		a7 += float64(T(s[7] * t[7]))
	}
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, a4, a5, a6, a7
	for j := range x[i:] {
		acc[j] += float64(T(x[i+j] * y[i+j]))
	}
}

// laneTotal combines the lanes in a fixed pairwise order.
func laneTotal(acc *[sumLanes]float64) float64 {
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

// sumChunks returns Σ chunk(lo, hi) over the fixed reduceChunk-sized pieces of [0, n), the
// pieces computed on up to workers goroutines and added in order (so the result does not
// depend on workers).
func sumChunks(workers, n int, chunk func(lo, hi int) float64) float64 {
	count := (n + reduceChunk - 1) / reduceChunk
	partial := make([]float64, count)
	parallelFor(workers, count, func(_, c int) {
		partial[c] = chunk(c*reduceChunk, min(n, (c+1)*reduceChunk))
	})
	total := 0.0
	for _, p := range partial {
		total += p
	}
	return total
}

// sumAll is the sum of x, accumulated in float64 (see the file comment), rounded to T.
func sumAll[T float32 | float64](workers int, x []T) T {
	return T(sumChunks(workers, len(x), func(lo, hi int) float64 {
		var acc [sumLanes]float64
		addLanes(&acc, x[lo:hi])
		return laneTotal(&acc)
	}))
}

// fusedSumOp is a full ReduceSum of an elementwise program's values (see the file comment).
type fusedSumOp struct {
	prog *fusedOp
	size int // Number of elements the program computes.
	// dot says the program ends in a product of two registers, which is then summed by
	// addProducts instead of written to scratch and read back (Square(x) is Mul(x, x)).
	dot bool
}

func (op *fusedSumOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	switch node.shape.DType {
	case dtypes.Float32:
		flatOf[float32](outM)[0] = fusedSum[float32](op, inputs)
	case dtypes.Float64:
		flatOf[float64](outM)[0] = fusedSum[float64](op, inputs)
	default:
		sgPutBuffer(be, out)
		return nil, fmt.Errorf("fused ReduceSum: dtype %s not supported", node.shape.DType)
	}
	return out, nil
}

// fusedSum runs the program block by block and sums the blocks as sumAll sums a tensor.
func fusedSum[T float32 | float64](op *fusedSumOp, inputs []*bufferMirror) T {
	p := op.prog
	ins := loadSources[T](inputs)
	return T(sumChunks(p.eng.workers, op.size, func(lo, hi int) float64 {
		scratch := make([]T, (p.slots+1)*fuseBlock)
		block := scratch[p.slots*fuseBlock:] // The program's value; the rest is its registers.
		regs := make([][]T, len(p.prog))
		var acc [sumLanes]float64
		last := p.prog[len(p.prog)-1]
		for b0 := lo; b0 < hi; b0 += fuseBlock {
			b1 := min(hi, b0+fuseBlock)
			if op.dot {
				fusedBlock(p, len(p.prog)-1, inputs, ins, regs, scratch, b0, b1, nil)
				addProducts(&acc, regs[last.a.reg], regs[last.b.reg])
				continue
			}
			fusedBlock(p, len(p.prog), inputs, ins, regs, scratch, b0, b1, block[:b1-b0])
			addLanes(&acc, block[:b1-b0])
		}
		return laneTotal(&acc)
	}))
}

// isFullSum reports whether node n is a native ReduceSum whose result is one value.
func isFullSum(n *nodeMirror) bool {
	op, ok := n.data.(*reduceSumOp)
	return ok && !op.isMax && n.opType == backends.OpTypeReduceSum && n.shape.Size() == 1 && len(n.inputs) == 1
}

// fuseReductions gives every full ReduceSum whose operand is an elementwise node used by
// nothing else (and not a graph output) the operand's program. It runs after the elementwise
// chains are merged, so the operand is already a whole chain; uses is updated as in
// fuseElementwise (the operand's leaves keep their counts: the ReduceSum reads them instead).
func fuseReductions(order []*simplego.Node, uses map[*simplego.Node]int) {
	for _, node := range order {
		n := nodeOf(node)
		if !isFullSum(n) {
			continue
		}
		// A Reshape keeps the elements and their order, so the sum of its input is the same.
		var reshapes []*simplego.Node
		in := n.inputs[0]
		for isPlainReshape(in) && uses[in] == 1 {
			reshapes = append(reshapes, in)
			in = nodeOf(in).inputs[0]
		}
		p, ok := fusable(in)
		if !ok || uses[in] != 1 {
			continue
		}
		for _, r := range append(reshapes, in) {
			uses[r] = 0
		}
		n.data = &fusedSumOp{prog: p, size: nodeOf(in).shape.Size()}
		n.inputs = p.inputs()
	}
}

// endsInProduct reports whether the program's value is a plain Mul of two full-length
// registers (no immediate, no broadcast scalar, not a multiply-add).
func (p *fusedOp) endsInProduct() bool {
	last := p.prog[len(p.prog)-1]
	if last.opType != backends.OpTypeMul || !last.binary || last.mulAdd || last.a.isImm || last.b.isImm {
		return false
	}
	return !p.prog[last.a.reg].scalar && !p.prog[last.b.reg].scalar
}

// isPlainReshape reports whether node is a Reshape that keeps the dtype (simplego's own).
func isPlainReshape(node *simplego.Node) bool {
	n := nodeOf(node)
	return n.opType == backends.OpTypeReshape && n.data == nil && len(n.inputs) == 1 && nodeOf(n.inputs[0]).shape.DType == n.shape.DType
}
