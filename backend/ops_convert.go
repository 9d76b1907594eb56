package backend

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

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
