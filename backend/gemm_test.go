package backend

import (
	"math"
	"sync"
	"testing"
)

// TestOpenBLASConcurrentCalls checks single-threaded OpenBLAS is safe to call from several
// goroutines at once (the backend parallelises GEMMs itself).
func TestOpenBLASConcurrentCalls(t *testing.T) {
	lib, err := loadOpenBLAS()
	if err != nil {
		t.Skip(err)
	}
	const m, n, k = 96, 80, 200
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := make([]float32, m*k), make([]float32, k*n)
			for i := range a {
				a[i] = float32((i*(w+3))%11) - 5
			}
			for i := range b {
				b[i] = float32((i*(w+5))%7) - 3
			}
			want := make([]float32, m*n)
			goGEMM{}.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
			for range 50 {
				c := make([]float32, m*n)
				lib.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				for i := range c {
					if math.Abs(float64(c[i]-want[i])) > 1e-3 {
						errs <- "mismatch"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
