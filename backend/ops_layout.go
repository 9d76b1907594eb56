package backend

// Layout ops: BroadcastInDim, Transpose, Slice, Pad and Reverse move elements without
// arithmetic, as strided copies of raw bytes, so they serve every dtype (simplego's
// broadcasts, transposes and slices walk an index iterator per element).

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
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

// sliceOp is Slice as one strided copy (simplego's walks an index iterator per element; a
// Box–Muller transform slices its [2, n] uniforms into halves, a contiguous copy each).
type sliceOp struct{ starts, strides []int }

// Slice implements backends.Builder natively for every dtype of whole bytes.
func (b *Builder) Slice(x backends.Op, starts, limits, strides []int) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if xShape.DType.Bits()%8 != 0 || xShape.DType.Size() == 0 {
		return b.Builder.Slice(x, starts, limits, strides)
	}
	outShape, err := shapeinference.SliceOp(xShape, starts, limits, strides)
	if err != nil {
		return nil, err
	}
	st := slices.Clone(strides)
	if len(st) == 0 { // nil strides mean 1.
		st = make([]int, xShape.Rank())
		for i := range st {
			st[i] = 1
		}
	}
	return newNativeNode(b.Builder, backends.OpTypeSlice, outShape, &sliceOp{starts: slices.Clone(starts), strides: st}, x), nil
}

func (op *sliceOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	x := inputs[0]
	out, outM := newBuffer(be, node.shape)
	srcStrides := stridesOf(x.shape.Dimensions)
	strides := make([]int, len(srcStrides))
	base := 0
	for i, s := range srcStrides {
		strides[i] = s * op.strides[i]
		base += s * op.starts[i]
	}
	size := node.shape.DType.Size()
	if node.shape.Size() > 0 {
		stridedCopyBytes(rawBytes(outM.flat), rawBytes(x.flat)[base*size:], size, node.shape.Dimensions, strides)
	}
	return out, nil
}

// contiguousOffset reports whether the slice of a tensor of dims inDims is one contiguous run
// of it (outDims being the slice's dimensions), and at which element the run starts.
func (op *sliceOp) contiguousOffset(inDims, outDims []int) (int, bool) {
	inStrides, outStrides := stridesOf(inDims), stridesOf(outDims)
	off := 0
	for a, d := range outDims {
		off += op.starts[a] * inStrides[a]
		if d > 1 && inStrides[a]*op.strides[a] != outStrides[a] {
			return 0, false
		}
	}
	return off, true
}

// padOp is Pad: start/end padding (negative crops) and interior padding on each axis.
type padOp struct{ axes []backends.PadAxis }

// Pad implements backends.Builder natively, for any dtype.
func (b *Builder) Pad(x, fillValue backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	fillShape, err := b.OpShape(fillValue)
	if err != nil {
		return nil, err
	}
	if !fillShape.IsScalar() || fillShape.DType != xShape.DType {
		return nil, fmt.Errorf("Pad: fill value must be a scalar of x's dtype %s, got %s", xShape.DType, fillShape)
	}
	if len(axesConfig) > xShape.Rank() {
		return nil, fmt.Errorf("Pad: %d axes configured for an operand of rank %d (%s)", len(axesConfig), xShape.Rank(), xShape)
	}
	axes := make([]backends.PadAxis, xShape.Rank())
	copy(axes, axesConfig)
	dims := make([]int, xShape.Rank())
	for i, d := range xShape.Dimensions {
		pa := axes[i]
		if pa.Interior < 0 {
			return nil, fmt.Errorf("Pad: axis %d has negative interior padding %d", i, pa.Interior)
		}
		dims[i] = pa.Start + pa.End + d
		if d > 0 {
			dims[i] += (d - 1) * pa.Interior
		}
		if dims[i] < 0 {
			return nil, fmt.Errorf("Pad: axis %d of %s would have negative size %d with %+v", i, xShape, dims[i], pa)
		}
	}
	return newNativeNode(b.Builder, backends.OpTypePad, shapes.Make(xShape.DType, dims...), &padOp{axes: axes}, x, fillValue), nil
}

func (op *padOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	x, fill := inputs[0], inputs[1]
	out, outM := newBuffer(be, node.shape)
	es := node.shape.DType.Size()
	dst, src, fv := rawBytes(outM.flat), rawBytes(x.flat), rawBytes(fill.flat)
	for i := 0; i < len(dst); i += es {
		copy(dst[i:i+es], fv)
	}
	rank := x.shape.Rank()
	if rank == 0 {
		copy(dst, src)
		return out, nil
	}
	outStrides := stridesOf(node.shape.Dimensions)
	inDims := x.shape.Dimensions
	// Each input element i goes to Start + i·(Interior+1) on each axis, when inside the output.
	idx := make([]int, rank)
	for pos := 0; pos < len(src); pos += es {
		o, inside := 0, true
		for ax := range rank {
			p := op.axes[ax].Start + idx[ax]*(op.axes[ax].Interior+1)
			if p < 0 || p >= node.shape.Dimensions[ax] {
				inside = false
				break
			}
			o += p * outStrides[ax]
		}
		if inside {
			copy(dst[o*es:(o+1)*es], src[pos:pos+es])
		}
		for ax := rank - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < inDims[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return out, nil
}

// reverseOp is Reverse: flips the listed axes.
type reverseOp struct{ axes []int }

// Reverse implements backends.Builder natively, for any dtype.
func (b *Builder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	for _, a := range axes {
		if a < 0 || a >= xShape.Rank() {
			return nil, fmt.Errorf("Reverse: axis %d out of range for %s", a, xShape)
		}
	}
	return newNativeNode(b.Builder, backends.OpTypeReverse, xShape, &reverseOp{axes: append([]int(nil), axes...)}, x), nil
}

func (op *reverseOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	x := inputs[0]
	out, outM := newBuffer(be, node.shape)
	es := node.shape.DType.Size()
	dst, src := rawBytes(outM.flat), rawBytes(x.flat)
	rank := x.shape.Rank()
	dims := x.shape.Dimensions
	if rank == 0 || len(src) == 0 {
		copy(dst, src)
		return out, nil
	}
	flip := make([]bool, rank)
	for _, a := range op.axes {
		flip[a] = !flip[a] // Reversing an axis twice restores it.
	}
	strides := stridesOf(dims)
	// Copy whole innermost rows when the last axis is not flipped.
	inner := 1
	if !flip[rank-1] {
		inner = dims[rank-1]
	}
	idx := make([]int, rank)
	for pos := 0; pos < len(src); pos += inner * es {
		o := 0
		for ax := range rank {
			i := idx[ax]
			if flip[ax] {
				i = dims[ax] - 1 - i
			}
			o += i * strides[ax]
		}
		copy(dst[o*es:(o+inner)*es], src[pos:pos+inner*es])
		start := rank - 1
		if inner > 1 {
			start = rank - 2
		}
		for ax := start; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < dims[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return out, nil
}
