package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

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

// TestPoolGradients checks max/min pooling (SelectAndScatter) and mean pooling (Pad +
// ReduceWindow) gradients against finite differences, with strides and padding.
func TestPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	be := newTestBackend(t, "gemm=go")
	pools := map[string]func(x *Node) *PoolBuilder{"max": MaxPool, "min": MinPool, "mean": MeanPool, "sum": SumPool}
	for name, pool := range pools {
		for _, cfg := range []struct {
			window, stride int
			same           bool
		}{{2, 2, false}, {3, 2, true}, {3, 1, false}} {
			t.Run(fmt.Sprintf("%s/w%d-s%d-same%v", name, cfg.window, cfg.stride, cfg.same), func(t *testing.T) {
				x := randArg(rng, 2, 6, 7, 3)
				checkGradients(t, be, func(xs []*Node) *Node {
					p := pool(xs[0]).Window(cfg.window).Strides(cfg.stride)
					if cfg.same {
						p = p.PadSame()
					}
					return p.Done()
				}, x)
			})
		}
	}
}

// TestSelectAndScatterMax compares the backend op itself with its definition, padding included.
func TestSelectAndScatterMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	be := newTestBackend(t, "gemm=go")
	x, src := randArg(rng, 5, 6), randArg(rng, 3, 3)
	window, strides, pads := []int{3, 2}, []int{2, 2}, [][2]int{{1, 1}, {0, 0}}
	b := be.Builder("sas").(*Builder)
	xp, _ := b.Parameter("x", shapesF64(5, 6), nil)
	sp, _ := b.Parameter("s", shapesF64(3, 3), nil)
	out, err := b.SelectAndScatterMax(xp, sp, window, strides, pads)
	if err != nil {
		t.Fatal(err)
	}
	got := runBuilder(t, be, b, out, x, src)
	want := make([]float64, 30)
	for i := range 3 {
		for j := range 3 {
			best, bestPos := math.Inf(-1), -1
			for wi := range window[0] {
				for wj := range window[1] {
					r, c := i*strides[0]+wi-pads[0][0], j*strides[1]+wj-pads[1][0]
					if r >= 0 && r < 5 && c >= 0 && c < 6 && x.data[r*6+c] > best {
						best, bestPos = x.data[r*6+c], r*6+c
					}
				}
			}
			want[bestPos] += src.data[i*3+j]
		}
	}
	closeTo(t, "SelectAndScatterMax", got, want, 1e-15)
}

// runBuilder compiles out of builder b and runs it on args.
func runBuilder(t *testing.T, be *Backend, b *Builder, out backends.Op, args ...arg) []float64 {
	t.Helper()
	shape, err := b.OpShape(out)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := b.Compile([]backends.Op{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bufs []backends.Buffer
	for _, a := range args {
		buf, err := be.BufferFromFlatData(0, append([]float64(nil), a.data...), shapesF64(a.dims...))
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, buf)
	}
	res, err := exe.Execute(bufs, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	flat := make([]float64, shape.Size())
	if err := be.BufferToFlatData(res[0], flat); err != nil {
		t.Fatal(err)
	}
	return flat
}

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
