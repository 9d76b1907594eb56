package backend

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

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
