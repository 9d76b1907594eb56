package backend

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// convTileSupported: the implicit-GEMM convolution tile uses AVX2 loads and broadcasts and
// FMA multiply-adds.
var convTileSupported = simdSupported && cpu.X86.HasFMA

// convTile6x16 accumulates a 6×16 block of C = A·B in registers and stores it (add = 0) or
// adds it to C (add ≠ 0). Row i of A is not stored: its elements are read at
// rows[i] + off + t·astride bytes for each segment (off, len) of segs (nseg pairs of
// byte offset and length, t < len), in segment order; each such element multiplies the next
// row of B (16 floats, rows ldb bytes apart, starting at b). Row i of C is the 16 floats at
// c[i]. The products are fused multiply-adds, in the order of the segments.
//
//go:noescape
func convTile6x16(rows *[6]unsafe.Pointer, segs *int, nseg, astride int, b *float32, ldb int, c *[6]unsafe.Pointer, add int)

// convTileZSupported: AVX-512F, which x/sys/cpu reports only when the OS saves the ZMM
// registers.
var convTileZSupported = convTileSupported && cpu.X86.HasAVX512F

// convTile8x16Z is convTile6x16 for 8 rows in AVX-512 registers (the elements of A in two
// interleaved partial sums, added at the end), the rows of A starting rs
// bytes apart (at a, a + rs, …) and those of C ldc bytes apart (at c, c + ldc, …).
//
//go:noescape
func convTile8x16Z(a unsafe.Pointer, rs int, segs *int, nseg, astride int, b *float32, ldb int, c unsafe.Pointer, ldc int, add int)

// convTile8x32Z is convTile8x16Z for 32 columns (B and C rows of 32 floats).
//
//go:noescape
func convTile8x32Z(a unsafe.Pointer, rs int, segs *int, nseg, astride int, b *float32, ldb int, c unsafe.Pointer, ldc int, add int)

// convTile8x48Z is convTile8x32Z for 48 columns (B and C rows of 48 floats), each element of A
// feeding three FMAs, with segments of three ints (A byte offset, B byte offset, length): B
// restarts at b + its offset for each segment. The swapped kernel gradient (kgradSwapped)
// uses it, A being the output gradient and B the padded input.
//
//go:noescape
func convTile8x48Z(a unsafe.Pointer, rs int, segs *int, nseg, astride int, b *float32, ldb int, c unsafe.Pointer, ldc int, add int)
