package backend

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
)

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
