package backend

import (
	"sync"
	"sync/atomic"
)

// engine is what native ops compute with: a single-threaded GEMM and a worker count.
// Parallelism is done here, in Go, by splitting independent work among goroutines that run
// to completion: no pool to deadlock, and no BLAS threads spinning on an oversubscribed
// machine (measured: with other processes busy, 2-thread OpenBLAS ran a conv step 2.4× slower
// than 1-thread OpenBLAS).
type engine struct {
	gemm    gemmImpl
	workers int
}

// parallelFor runs fn(worker, i) for every i in [0, n), on up to workers goroutines (the
// caller being one); worker is in [0, min(workers, n)) and no two concurrent calls share it.
func parallelFor(workers, n int, fn func(worker, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	run := func(w int) {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			fn(w, i)
		}
	}
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
}

// minParallelFlops is the least work (in flops) worth handing to another goroutine.
const minParallelFlops = 1 << 21

// gemmPar is gemmT split among the engine's workers: by rows of C when it has more rows than
// columns, else by columns. The pieces write disjoint parts of C.
func gemmPar[T float32 | float64](e *engine, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	parts := min(e.workers, max(1, 2*m*n*k/minParallelFlops))
	if parts <= 1 || (m < 2*8 && n < 2*8) {
		gemmT(e.gemm, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m >= n {
		step := (m + parts - 1) / parts
		parallelFor(parts, parts, func(_, p int) {
			r0, r1 := p*step, min(m, (p+1)*step)
			if r0 >= r1 {
				return
			}
			aOff := r0 * lda
			if transA {
				aOff = r0
			}
			gemmT(e.gemm, transA, transB, r1-r0, n, k, a[aOff:], lda, b, ldb, beta, c[r0*ldc:], ldc)
		})
		return
	}
	step := (n + parts - 1) / parts
	parallelFor(parts, parts, func(_, p int) {
		c0, c1 := p*step, min(n, (p+1)*step)
		if c0 >= c1 {
			return
		}
		bOff := c0
		if transB {
			bOff = c0 * ldb
		}
		gemmT(e.gemm, transA, transB, m, c1-c0, k, a, lda, b[bOff:], ldb, beta, c[c0:], ldc)
	})
}
