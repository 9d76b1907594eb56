package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// TestBatchNorm checks the composed batch-norm ops: training statistics and output against a
// float64 reference, inference output, and gradients (BatchNormGradient) by finite differences.
func TestBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	be := newTestBackend(t, "gemm=go")
	for _, tc := range []struct {
		axis   int
		offset float64 // added to x: statistics must not cancel when |mean| ≫ deviation
	}{{3, 0}, {1, 0}, {3, 1000}} {
		axis := tc.axis
		t.Run(fmt.Sprint("axis", axis, "offset", tc.offset), func(t *testing.T) {
			x := randArg(rng, 4, 3, 5, 3)
			for i := range x.data {
				x.data[i] = tc.offset + x.data[i]*(1+tc.offset/100)/(1+tc.offset)
			}
			c := x.dims[axis]
			scale, offset := randArg(rng, c), randArg(rng, c)
			const eps = 1e-3
			train := func(xs []*Node) *Node {
				n, _, _ := InternalBatchNormForTraining(xs[0], xs[1], xs[2], eps, axis)
				return n
			}
			got, _ := eval(t, be, train, x, scale, offset)
			// Reference: statistics per channel over every other axis.
			st := stridesOf(x.dims)
			mean, sq, count := make([]float64, c), make([]float64, c), float64(len(x.data)/c)
			for i, v := range x.data {
				ch := i / st[axis] % c
				mean[ch] += v / count
			}
			for i, v := range x.data {
				ch := i / st[axis] % c
				sq[ch] += (v - mean[ch]) * (v - mean[ch]) / count
			}
			want := make([]float64, len(x.data))
			for i, v := range x.data {
				ch := i / st[axis] % c
				// The backend ops take ε as float32.
				want[i] = (v-mean[ch])/math.Sqrt(sq[ch]+float64(float32(eps)))*scale.data[ch] + offset.data[ch]
			}
			closeTo(t, "BatchNormForTraining", got, want, 1e-10)
			checkGradients(t, be, train, x, scale, offset)

			infer := func(xs []*Node) *Node {
				return InternalBatchNormForInference(xs[0], xs[1], xs[2], xs[3], xs[4], eps, axis)
			}
			m, v := arg{data: mean, dims: []int{c}}, arg{data: sq, dims: []int{c}}
			got, _ = eval(t, be, infer, x, scale, offset, m, v)
			closeTo(t, "BatchNormForInference", got, want, 1e-10)
		})
	}
}
