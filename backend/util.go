package backend

import (
	"reflect"
	"unsafe"

	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// rawBytes views a flat slice of any element type as bytes, for ops that only move data.
func rawBytes(flat any) []byte {
	v := reflect.ValueOf(flat)
	n := v.Len() * int(v.Type().Elem().Size())
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(v.UnsafePointer()), n)
}

// stridesOf returns the row-major strides (in elements) of dims.
func stridesOf(dims []int) []int {
	strides := make([]int, len(dims))
	s := 1
	for i := len(dims) - 1; i >= 0; i-- {
		strides[i] = s
		s *= dims[i]
	}
	return strides
}

// product multiplies dims (1 for none).
func product(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// isIdentity reports whether perm is 0, 1, 2, ….
func isIdentity(perm []int) bool {
	for i, p := range perm {
		if i != p {
			return false
		}
	}
	return true
}

// transposeInto writes src (dims srcDims) permuted by perm into dst: dst axis i is src axis
// perm[i].
func transposeInto[T any](dst, src []T, srcDims, perm []int) {
	srcStrides := stridesOf(srcDims)
	dims := make([]int, len(perm))
	strides := make([]int, len(perm))
	for i, p := range perm {
		dims[i] = srcDims[p]
		strides[i] = srcStrides[p]
	}
	stridedCopy(dst, src, dims, strides)
}

// stridedCopy fills dst (row-major, dims) with src read at the given per-axis strides (0
// repeats a value: a broadcast). It walks dst in order with the innermost axis as a tight
// loop: a copy when its stride is 1, a fill when it is 0.
func stridedCopy[T any](dst, src []T, dims, strides []int) {
	rank := len(dims)
	if rank == 0 || len(dst) == 0 {
		copy(dst, src)
		return
	}
	// Merge the innermost axes while they stay contiguous in src, for longer inner loops.
	for rank > 1 && strides[rank-1] == 1 && strides[rank-2] == dims[rank-1] {
		dims = append(append([]int{}, dims[:rank-2]...), dims[rank-2]*dims[rank-1])
		strides = append(append([]int{}, strides[:rank-2]...), 1)
		rank--
	}
	inner, innerStride := dims[rank-1], strides[rank-1]
	idx := make([]int, rank)
	srcPos := 0
	for out := 0; out < len(dst); out += inner {
		row := dst[out : out+inner]
		switch innerStride {
		case 1:
			copy(row, src[srcPos:srcPos+inner])
		case 0:
			v := src[srcPos]
			for j := range row {
				row[j] = v
			}
		default:
			p := srcPos
			for j := range row {
				row[j] = src[p]
				p += innerStride
			}
		}
		// Advance the odometer over the outer axes.
		for ax := rank - 2; ax >= 0; ax-- {
			idx[ax]++
			srcPos += strides[ax]
			if idx[ax] < dims[ax] {
				break
			}
			srcPos -= strides[ax] * dims[ax]
			idx[ax] = 0
		}
	}
}

// stridedCopyBytes is stridedCopy for elements of any size, moving raw bytes.
func stridedCopyBytes(dst, src []byte, elemSize int, dims, strides []int) {
	switch elemSize {
	case 1:
		stridedCopy(dst, src, dims, strides)
	case 2:
		stridedCopy(castSlice[uint16](dst), castSlice[uint16](src), dims, strides)
	case 4:
		stridedCopy(castSlice[uint32](dst), castSlice[uint32](src), dims, strides)
	case 8:
		stridedCopy(castSlice[uint64](dst), castSlice[uint64](src), dims, strides)
	default:
		stridedCopy(castSlice[[16]byte](dst), castSlice[[16]byte](src), dims, strides)
	}
}

// castSlice reinterprets a byte slice as a slice of fixed-size elements.
func castSlice[E any](b []byte) []E {
	var zero E
	n := len(b) / int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&b[0])), n)
}

// nonUnitAxes lists the axes of shape whose dimension is not 1.
func nonUnitAxes(shape shapes.Shape) []int {
	var axes []int
	for i, d := range shape.Dimensions {
		if d != 1 {
			axes = append(axes, i)
		}
	}
	return axes
}
