package backend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 3, 4, 5, 2)
	for _, perm := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 2, 3}, {0, 2, 3, 1}, {2, 0, 3, 1}} {
		fn := func(xs []*Node) *Node { return TransposeAllAxes(xs[0], perm...) }
		want, _ := eval(t, sg, fn, x)
		got, _ := eval(t, be, fn, x)
		closeTo(t, fmt.Sprint("Transpose", perm), got, want, 0)
	}
}

// referencePad pads a from the definition: element i of each axis lands at
// Start + i·(Interior+1); everything else is fill; negative Start/End crop.
func referencePad(a arg, fill float64, cfg []backends.PadAxis) ([]float64, []int) {
	dims := make([]int, len(a.dims))
	for i, d := range a.dims {
		dims[i] = cfg[i].Start + cfg[i].End + d + max(d-1, 0)*cfg[i].Interior
	}
	out := make([]float64, product(dims))
	for i := range out {
		out[i] = fill
	}
	os := stridesOf(dims)
	idx := make([]int, len(a.dims))
	for _, v := range a.data {
		pos, inside := 0, true
		for ax := range idx {
			p := cfg[ax].Start + idx[ax]*(cfg[ax].Interior+1)
			if p < 0 || p >= dims[ax] {
				inside = false
			}
			pos += p * os[ax]
		}
		if inside {
			out[pos] = v
		}
		incr(idx, a.dims)
	}
	return out, dims
}

func TestPad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	be := newTestBackend(t, "gemm=go")
	cases := []struct {
		dims []int
		cfg  []backends.PadAxis
	}{
		{[]int{3, 4}, []backends.PadAxis{{Start: 1, End: 2}, {Start: 0, End: 1, Interior: 1}}},
		{[]int{2, 3, 4}, []backends.PadAxis{{}, {Start: -1, End: 2, Interior: 2}, {Start: 2, End: -2}}},
		{[]int{5}, []backends.PadAxis{{Start: -2, End: -1, Interior: 1}}},
	}
	for ci, c := range cases {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			x := randArg(rng, c.dims...)
			fn := func(xs []*Node) *Node { return Pad(xs[0], Scalar(xs[0].Graph(), xs[0].DType(), 0.5), c.cfg...) }
			got, gotDims := eval(t, be, fn, x)
			want, wantDims := referencePad(x, 0.5, c.cfg)
			if fmt.Sprint(gotDims) != fmt.Sprint(wantDims) {
				t.Fatalf("shape %v, want %v", gotDims, wantDims)
			}
			closeTo(t, "Pad", got, want, 0) // GoMLX defines no gradient for Pad itself.
		})
	}
}

func TestReverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	be := newTestBackend(t, "gemm=go")
	for _, axes := range [][]int{{0}, {1}, {2}, {0, 2}, {0, 1, 2}, {}} {
		t.Run(fmt.Sprint(axes), func(t *testing.T) {
			x := randArg(rng, 2, 3, 4)
			fn := func(xs []*Node) *Node { return Reverse(xs[0], axes...) }
			got, _ := eval(t, be, fn, x)
			want := make([]float64, len(x.data))
			idx := make([]int, 3)
			st := stridesOf(x.dims)
			for _, v := range x.data {
				pos := 0
				for ax, i := range idx {
					for _, r := range axes {
						if r == ax {
							i = x.dims[ax] - 1 - i
						}
					}
					pos += i * st[ax]
				}
				want[pos] = v
				incr(idx, x.dims)
			}
			closeTo(t, "Reverse", got, want, 0) // GoMLX defines no gradient for Reverse itself.
		})
	}
}

// TestSliceGradient: a forward Slice's gradient is a Pad, which simplego lacks.
func TestSliceGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 4, 7)
	checkGradients(t, be, func(xs []*Node) *Node {
		return SliceAxis(xs[0], 1, AxisRange(1, 6).Stride(2))
	}, x)
}
