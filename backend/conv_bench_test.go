package backend

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// BenchmarkConvLayer times a float32 3×3 convolution's forward pass and both gradients (one
// ResNet layer at batch 64: 32×32×16 → 16, 16×16×32 → 32, 8×8×64 → 64) on each algorithm:
// im2col + GEMM, and the implicit GEMM with the AVX2 tile and (where the CPU has it) the
// AVX-512 tiles, without and with the swapped kernel-gradient tile (noswap: the kernel
// gradient's rows are (kernel position, channel) as in the forward). Compare the sub-benchmarks of one run; cpu-ms/op (the process's CPU time,
// all threads) is less disturbed than ns/op when other processes share the cores.
func BenchmarkConvLayer(b *testing.B) {
	be := newTestBackend(b, "")
	rng := rand.New(rand.NewPCG(41, 42))
	f32 := func(dims ...int) *tensors.Tensor {
		data := make([]float32, product(dims))
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	for _, l := range []struct{ hw, c int }{{32, 16}, {16, 32}, {8, 64}} {
		x, k, r := f32(64, l.hw, l.hw, l.c), f32(3, 3, l.c, l.c), f32(64, l.hw, l.hw, l.c)
		exec, err := NewExec(be, func(xs []*Node) []*Node {
			y := Convolve(xs[0], xs[1]).PadSame().Done()
			return Gradient(ReduceAllSum(Mul(y, xs[2])), xs[0], xs[1])
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, algo := range []struct {
			name               string
			implicit, z, noSwp bool
			needZ              bool
		}{{"im2col", false, false, false, false}, {"implicit-avx2", true, false, false, false},
			{"implicit-avx512-noswap", true, true, true, true}, {"implicit-avx512", true, true, false, true}} {
			if algo.implicit && !convTileSupported || algo.needZ && !convTileZSupported {
				continue
			}
			b.Run(fmt.Sprintf("%dx%dx%d/%s", l.hw, l.hw, l.c, algo.name), func(b *testing.B) {
				kgradSwapEnabled = !algo.noSwp
				defer func() { kgradSwapEnabled = true }()
				withTileZ(algo.z, func() {
					withImplicit(algo.implicit, func() {
						cpu0 := cpuTime()
						for range b.N {
							if _, err := exec.Exec(x, k, r); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
					})
				})
			})
		}
		exec.Finalize()
	}
}

// cpuTime is the CPU time (user + system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
