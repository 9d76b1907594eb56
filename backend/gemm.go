package backend

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gemmImpl multiplies row-major matrices: C = alpha·op(A)·op(B) + beta·C, where op(X) is X or
// its transpose, op(A) is m×k, op(B) is k×n and C is m×n; lda, ldb, ldc are row strides.
type gemmImpl interface {
	// name describes the implementation for the start-up line, e.g. "OpenBLAS 0.3.21 (SKYLAKEX, 2 threads)".
	name() string
	sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
}

// goGEMM is the pure-Go fallback: gonum's blocked, goroutine-parallel GEMM.
type goGEMM struct{}

func (goGEMM) name() string { return "pure Go (gonum)" }

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func (goGEMM) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 { // gonum wants lda ≥ 1 even then.
		scaleC(m, n, beta, c, ldc)
		return
	}
	gonum.Implementation{}.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (goGEMM) dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	gonum.Implementation{}.Dgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmT dispatches to the float32 or float64 routine of g.
func gemmT[T float32 | float64](g gemmImpl, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch av := any(a).(type) {
	case []float32:
		g.sgemm(transA, transB, m, n, k, 1, av, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		g.dgemm(transA, transB, m, n, k, 1, av, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// scaleC sets C = beta·C (an m×n block with row stride ldc): a product with k = 0.
func scaleC[T float32 | float64](m, n int, beta T, c []T, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] *= beta
			if beta == 0 {
				row[j] = 0 // BLAS: beta = 0 overwrites, even NaN.
			}
		}
	}
}
