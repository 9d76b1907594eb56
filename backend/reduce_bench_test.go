package backend

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// BenchmarkFullSum compares, on a [784, 512] float32 tensor (an MLP weight), the old
// sequential float32 reduce with sumAll on 1 and 2 workers, and Σx² as a Mul pass then
// sumAll with addProducts (the fused kernel), both on 2 workers.
//
//	go test -run '^$' -bench FullSum ./backend/
func BenchmarkFullSum(b *testing.B) {
	const n = 784 * 512
	rng := rand.New(rand.NewPCG(1, 2))
	x := uniforms[float32](rng, n, -1, 1)
	out := make([]float32, 1)
	b.Run("reduce-sequential", func(b *testing.B) {
		for range b.N {
			reduce(out, x, []int{784, 512}, []int{0, 1}, false)
		}
	})
	for _, w := range []int{1, 2} {
		b.Run("sumAll-workers="+strconv.Itoa(w), func(b *testing.B) {
			for range b.N {
				out[0] = sumAll(w, x)
			}
		})
	}
	b.Run("square-then-sum", func(b *testing.B) {
		sq := make([]float32, n)
		for range b.N {
			binarySlices(backends.OpTypeMul, sq, x, x)
			out[0] = sumAll(2, sq)
		}
	})
	b.Run("square-fused", func(b *testing.B) {
		for range b.N {
			out[0] = float32(sumChunks(2, n, func(lo, hi int) float64 {
				var acc [sumLanes]float64
				addProducts(&acc, x[lo:hi], x[lo:hi])
				return laneTotal(&acc)
			}))
		}
	})
}

// BenchmarkSquareNorm runs ReduceAllSum(Square(x)) on a [784, 512] float32 tensor as a graph,
// fused and unfused, on 1 and 2 worker threads.
func BenchmarkSquareNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := uniforms[float32](rng, 784*512, -1, 1)
	for _, threads := range []string{"1", "2"} {
		for _, fused := range []bool{false, true} {
			name := "threads=" + threads + "/unfused"
			if fused {
				name = "threads=" + threads + "/fused"
			}
			b.Run(name, func(b *testing.B) {
				fusionEnabled = fused
				defer func() { fusionEnabled = true }()
				exec, err := NewExec(newTestBackend(b, "threads="+threads), func(x *Node) *Node { return ReduceAllSum(Square(x)) })
				if err != nil {
					b.Fatal(err)
				}
				defer exec.Finalize()
				x := tensors.FromFlatDataAndDimensions(data, 784, 512)
				if _, err := exec.Exec(x); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					out, err := exec.Exec(x)
					if err != nil {
						b.Fatal(err)
					}
					out[0].FinalizeAll()
				}
			})
		}
	}
}
