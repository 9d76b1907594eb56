package backend

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

// BenchmarkPoolCNN runs the CNN's first max pool ([64, 28, 28, 32] float32, 2×2 stride 2)
// forward (ReduceWindow) and backward (SelectAndScatterMax) kernels, plus a 3×3 stride-2
// "same" pool, on 1 and 2 workers.
//
//	go test -run '^$' -bench PoolCNN ./backend/
func BenchmarkPoolCNN(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := []int{64, 28, 28, 32}
	x := uniforms[float32](rng, product(in), -1, 1)
	for _, c := range []struct {
		name           string
		window, stride int
		pad            int
	}{{"2x2s2", 2, 2, 0}, {"3x3s2same", 3, 2, 1}} {
		window, strides := []int{1, c.window, c.window, 1}, []int{1, c.stride, c.stride, 1}
		pads := [][2]int{{}, {c.pad, c.pad}, {c.pad, c.pad}, {}}
		outDims := []int{64, 0, 0, 32}
		for ax := 1; ax <= 2; ax++ {
			outDims[ax] = (in[ax]+2*c.pad-c.window)/c.stride + 1
		}
		out := make([]float32, product(outDims))
		src := uniforms[float32](rng, len(out), -1, 1)
		grad := make([]float32, len(x))
		for _, w := range []int{1, 2} {
			eng := &engine{workers: w}
			plan := newWindowPlan(in, outDims, window, strides, nil, nil, pads)
			b.Run(c.name+"/ReduceWindowMax/workers="+strconv.Itoa(w), func(b *testing.B) {
				op := &reduceWindowOp{eng: eng, kind: backends.ReduceOpMax, plan: plan}
				for range b.N {
					reduceWindow(op, x, out)
				}
			})
			b.Run(c.name+"/SelectAndScatterMax/workers="+strconv.Itoa(w), func(b *testing.B) {
				op := newSelectScatterOp(eng, false, plan, in, window, strides)
				for range b.N {
					selectScatter(op, x, src, grad)
				}
			})
		}
	}
}
