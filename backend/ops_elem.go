package backend

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// broadcastOp is BroadcastInDim as one strided copy (simplego's walks an iterator per element).
type broadcastOp struct{ axes []int }

// BroadcastInDim implements backends.Builder natively, for any dtype.
func (b *Builder) BroadcastInDim(x backends.Op, outputShape shapes.Shape, broadcastAxes []int) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if err := shapeinference.BroadcastInDimOp(xShape, outputShape, broadcastAxes); err != nil {
		return nil, err
	}
	return newNativeNode(b.Builder, backends.OpTypeBroadcastInDim, outputShape, &broadcastOp{axes: slices.Clone(broadcastAxes)}, x), nil
}

// Broadcast implements backends.Builder as a BroadcastInDim that adds prefixDims in front.
func (b *Builder) Broadcast(x backends.Op, prefixDims ...int) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	outShape, err := shapeinference.BroadcastOp(xShape, prefixDims)
	if err != nil {
		return nil, err
	}
	axes := make([]int, xShape.Rank())
	for i := range axes {
		axes[i] = len(prefixDims) + i
	}
	return b.BroadcastInDim(x, outShape, axes)
}

func (op *broadcastOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	x := inputs[0]
	out, outM := newBuffer(be, node.shape)
	srcStrides := stridesOf(x.shape.Dimensions)
	strides := make([]int, node.shape.Rank())
	for i, a := range op.axes {
		if x.shape.Dimensions[i] != 1 {
			strides[a] = srcStrides[i]
		}
	}
	stridedCopyBytes(rawBytes(outM.flat), rawBytes(x.flat), node.shape.DType.Size(), node.shape.Dimensions, strides)
	return out, nil
}

// reduceSumOp is ReduceSum (or ReduceMax) for float32/float64: the input is walked once in
// memory order, with the innermost axis either reduced to a scalar or combined as a vector.
// A ReduceSum to one value is sumAll instead (parallel, float64, deterministic: ops_reduce.go).
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

// transposeOp is Transpose as one strided copy, for any dtype.
type transposeOp struct{ perm []int }

// Transpose implements backends.Builder natively.
func (b *Builder) Transpose(x backends.Op, permutation ...int) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	outShape, err := shapeinference.TransposeOp(xShape, permutation)
	if err != nil {
		return nil, err
	}
	return newNativeNode(b.Builder, backends.OpTypeTranspose, outShape, &transposeOp{perm: slices.Clone(permutation)}, x), nil
}

func (op *transposeOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	x := inputs[0]
	out, outM := newBuffer(be, node.shape)
	srcStrides := stridesOf(x.shape.Dimensions)
	strides := make([]int, len(op.perm))
	for i, p := range op.perm {
		strides[i] = srcStrides[p]
	}
	stridedCopyBytes(rawBytes(outM.flat), rawBytes(x.flat), node.shape.DType.Size(), node.shape.Dimensions, strides)
	return out, nil
}
