package backend

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
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

// convertOp is ConvertDType from an integer type to float32/float64, split among the
// workers (GoMLX's RandomUniform converts its random bits this way).
type convertOp struct{ eng *engine }

// ConvertDType implements backends.Builder (natively from integers to floats).
func (b *Builder) ConvertDType(x backends.Op, dtype dtypes.DType) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if !isFloat(dtype) || !isConvertibleInt(xShape.DType) {
		return b.Builder.ConvertDType(x, dtype)
	}
	outShape := xShape.Clone()
	outShape.DType = dtype
	return newNativeNode(b.Builder, backends.OpTypeConvertDType, outShape, &convertOp{eng: b.backend.engine}, x), nil
}

// isConvertibleInt lists the integer dtypes convertInto reads.
func isConvertibleInt(dt dtypes.DType) bool {
	switch dt {
	case dtypes.Int8, dtypes.Int16, dtypes.Int32, dtypes.Int64, dtypes.Uint8, dtypes.Uint16, dtypes.Uint32, dtypes.Uint64:
		return true
	}
	return false
}

func (op *convertOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	if node.shape.DType == dtypes.Float32 {
		convertExec(op, flatOf[float32](outM), inputs[0].flat)
	} else {
		convertExec(op, flatOf[float64](outM), inputs[0].flat)
	}
	return out, nil
}

func convertExec[T float32 | float64](op *convertOp, out []T, src any) {
	n := len(out)
	parallelFor(op.eng.workers, (n+ewChunk-1)/ewChunk, func(_, ci int) {
		lo, hi := ci*ewChunk, min(n, (ci+1)*ewChunk)
		convertInto(out[lo:hi], src, lo)
	})
}

// convertInto sets dst[i] = T(src[off+i]) for an integer slice src (Go's conversion, as
// simplego's ConvertDType).
func convertInto[T float32 | float64](dst []T, src any, off int) {
	switch s := src.(type) {
	case []uint32:
		if isF32[T]() && simdConvertU32(f32(dst), s[off:off+len(dst)]) {
			return
		}
		convertSlice(dst, s[off:off+len(dst)])
	case []uint64:
		convertSlice(dst, s[off:off+len(dst)])
	case []int32:
		convertSlice(dst, s[off:off+len(dst)])
	case []int64:
		convertSlice(dst, s[off:off+len(dst)])
	case []uint8:
		convertSlice(dst, s[off:off+len(dst)])
	case []uint16:
		convertSlice(dst, s[off:off+len(dst)])
	case []int8:
		convertSlice(dst, s[off:off+len(dst)])
	case []int16:
		convertSlice(dst, s[off:off+len(dst)])
	}
}

func convertSlice[T float32 | float64, S int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](dst []T, src []S) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = T(v)
	}
}
