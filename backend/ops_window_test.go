package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors/images"
)

// windowCase is one random windowed-op configuration.
type windowCase struct {
	dims, window, strides, baseDil, winDil []int
	pads                                   [][2]int
}

func (c windowCase) String() string {
	return fmt.Sprintf("x%v w%v s%v bd%v wd%v p%v", c.dims, c.window, c.strides, c.baseDil, c.winDil, c.pads)
}

// randWindowCase draws a configuration of the given rank; about a third of the axes (often
// the last ones, like NHWC channels) are left untouched by the window. dilations adds base
// and window dilations.
func randWindowCase(rng *rand.Rand, rank int, dilations bool) windowCase {
	c := windowCase{dims: make([]int, rank), window: make([]int, rank), strides: make([]int, rank), pads: make([][2]int, rank)}
	if dilations {
		c.baseDil, c.winDil = make([]int, rank), make([]int, rank)
	}
	for ax := range rank {
		c.dims[ax] = 1 + rng.IntN(6)
		c.window[ax], c.strides[ax] = 1, 1
		if dilations {
			c.baseDil[ax], c.winDil[ax] = 1, 1
		}
		if rng.IntN(3) == 0 {
			continue
		}
		c.window[ax], c.strides[ax] = 1+rng.IntN(3), 1+rng.IntN(3)
		if rng.IntN(2) == 0 {
			c.pads[ax] = [2]int{rng.IntN(3), rng.IntN(3)}
		}
		if dilations {
			c.baseDil[ax], c.winDil[ax] = 1+rng.IntN(2), 1+rng.IntN(2)
		}
	}
	return c
}

// randSpecial fills n values: normal draws with, when special, some NaN, ±Inf, ±0 and
// repeated values (ties) mixed in.
func randSpecial(rng *rand.Rand, n int, special bool) []float64 {
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, 1}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
		if special && rng.IntN(6) == 0 {
			data[i] = vals[rng.IntN(len(vals))]
		}
	}
	return data
}

// runWindowOp builds x → build(b, x) on backend be with builder ops only, runs it on data
// (converted to dtype) and returns the output as float64, plus the output op for inspection.
func runWindowOp(t *testing.T, be backends.Backend, dtype dtypes.DType, dims []int, data []float64,
	build func(b backends.Builder, x backends.Op) (backends.Op, error)) ([]float64, backends.Op) {
	t.Helper()
	b := be.Builder("window")
	x, err := b.Parameter("x", shapes.Make(dtype, dims...), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := build(b, x)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := b.OpShape(out)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := b.Compile([]backends.Op{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var flat any = append([]float64(nil), data...)
	if dtype == dtypes.Float32 {
		f := make([]float32, len(data))
		for i, v := range data {
			f[i] = float32(v)
		}
		flat = f
	}
	buf, err := be.BufferFromFlatData(0, flat, shapes.Make(dtype, dims...))
	if err != nil {
		t.Fatal(err)
	}
	res, err := exe.Execute([]backends.Buffer{buf}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, shape.Size())
	if dtype == dtypes.Float32 {
		f := make([]float32, shape.Size())
		if err := be.BufferToFlatData(res[0], f); err != nil {
			t.Fatal(err)
		}
		for i, v := range f {
			got[i] = float64(v)
		}
	} else if err := be.BufferToFlatData(res[0], got); err != nil {
		t.Fatal(err)
	}
	return got, out
}

// sameBitsOrNaN reports whether a and b are the same float64 bits, or both NaN (payloads may
// differ).
func sameBitsOrNaN(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// TestReduceWindowMatchesSimplego runs random ReduceWindow configurations (ranks 1–4, windows
// 1–3, strides 1–3, padding, base and window dilations, max/min/sum/product, float32 and
// float64, inputs with NaN, ±Inf and ±0) natively and on stock simplego: same bits.
func TestReduceWindowMatchesSimplego(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	sg, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	kinds := []backends.ReduceOpType{backends.ReduceOpMax, backends.ReduceOpMin, backends.ReduceOpSum, backends.ReduceOpProduct}
	for _, threads := range []string{"threads=1", "threads=3"} {
		be := newTestBackend(t, threads)
		ran := 0
		for ran < 150 {
			c := randWindowCase(rng, 1+rng.IntN(4), rng.IntN(2) == 0)
			if _, err := shapeinference.ReduceWindowOp(shapesF64(c.dims...), c.window, c.strides, c.baseDil, c.winDil, c.pads); err != nil {
				continue // The window does not fit: not a valid case.
			}
			ran++
			kind := kinds[rng.IntN(len(kinds))]
			dtype := []dtypes.DType{dtypes.Float32, dtypes.Float64}[rng.IntN(2)]
			data := randSpecial(rng, product(c.dims), kind == backends.ReduceOpMax || kind == backends.ReduceOpMin || rng.IntN(4) == 0)
			build := func(b backends.Builder, x backends.Op) (backends.Op, error) {
				return b.ReduceWindow(x, kind, c.window, c.strides, c.baseDil, c.winDil, c.pads)
			}
			got, op := runWindowOp(t, be, dtype, c.dims, data, build)
			if _, ok := opNode(op).data.(*reduceWindowOp); !ok {
				t.Fatalf("%s %s %s: not the native op", threads, kind, c)
			}
			want, _ := runWindowOp(t, sg, dtype, c.dims, data, build)
			for i := range want {
				if !sameBitsOrNaN(got[i], want[i]) {
					t.Fatalf("%s %s %s %s: element %d is %v, simplego %v", threads, kind, dtype, c, i, got[i], want[i])
				}
			}
		}
	}
}

// TestReduceWindowLargeNHWC checks the pooling shapes of the CNN (many chunks, channels as
// vectors) against simplego, bit for bit, including a "same"-padded 3×3 stride-2 window.
func TestReduceWindowLargeNHWC(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "threads=4")
	dims := []int{5, 28, 28, 32}
	data := randSpecial(rng, product(dims), true)
	for _, kind := range []backends.ReduceOpType{backends.ReduceOpMax, backends.ReduceOpSum} {
		for _, c := range []windowCase{
			{window: []int{1, 2, 2, 1}, strides: []int{1, 2, 2, 1}},
			{window: []int{1, 3, 3, 1}, strides: []int{1, 2, 2, 1}, pads: [][2]int{{0, 0}, {1, 1}, {1, 1}, {0, 0}}},
		} {
			build := func(b backends.Builder, x backends.Op) (backends.Op, error) {
				return b.ReduceWindow(x, kind, c.window, c.strides, nil, nil, c.pads)
			}
			got, _ := runWindowOp(t, be, dtypes.Float32, dims, data, build)
			want, _ := runWindowOp(t, sg, dtypes.Float32, dims, data, build)
			for i := range want {
				if !sameBitsOrNaN(got[i], want[i]) {
					t.Fatalf("%s %s: element %d is %v, simplego %v", kind, c, i, got[i], want[i])
				}
			}
		}
	}
}

// selectScatterRef is the definition of SelectAndScatterMax/Min (the backend's previous
// implementation): for each source element in row-major order, visit its window in
// row-major order, keep the first real position with the extreme value (a strictly greater,
// or less, value replaces it), and add the source value there, rounding each sum with round
// (to the dtype's precision).
func selectScatterRef(isMin bool, x, src []float64, xDims, srcDims, window, strides []int, pads [][2]int, round func(float64) float64) []float64 {
	out := make([]float64, len(x))
	rank := len(xDims)
	xStrides := stridesOf(xDims)
	srcIdx, winIdx := make([]int, rank), make([]int, rank)
	for s := range src {
		best, bestPos := 0.0, -1
		clear(winIdx)
		for range product(window) {
			pos, inside := 0, true
			for ax := range rank {
				p := srcIdx[ax]*strides[ax] + winIdx[ax] - pads[ax][0]
				if p < 0 || p >= xDims[ax] {
					inside = false
					break
				}
				pos += p * xStrides[ax]
			}
			if inside {
				if v := x[pos]; bestPos < 0 || (!isMin && v > best) || (isMin && v < best) {
					best, bestPos = v, pos
				}
			}
			odometer(winIdx, window)
		}
		if bestPos >= 0 {
			out[bestPos] = round(out[bestPos] + src[s])
		}
		odometer(srcIdx, srcDims)
	}
	return out
}

// odometer advances idx to the next row-major index within dims.
func odometer(idx, dims []int) {
	for ax := len(idx) - 1; ax >= 0; ax-- {
		idx[ax]++
		if idx[ax] < dims[ax] {
			return
		}
		idx[ax] = 0
	}
}

// TestSelectAndScatterMatchesReference runs random SelectAndScatterMax/Min configurations
// (ranks 1–4, windows 1–3, strides 1–3, padding, overlapping windows along axis 0 or not;
// inputs rounded to one decimal so windows hold ties, plus NaN and ±Inf) with 1 and 3
// workers against selectScatterRef: same bits, so ties go to the first position.
func TestSelectAndScatterMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, threads := range []string{"threads=1", "threads=3"} {
		be := newTestBackend(t, threads)
		ran := 0
		for ran < 150 {
			c := randWindowCase(rng, 1+rng.IntN(4), false)
			srcShape, err := shapeinference.ReduceWindowOp(shapesF64(c.dims...), c.window, c.strides, nil, nil, c.pads)
			if err != nil {
				continue
			}
			ran++
			isMin := rng.IntN(2) == 0
			dtype := []dtypes.DType{dtypes.Float32, dtypes.Float64}[rng.IntN(2)]
			data := randSpecial(rng, product(c.dims), true)
			for i := range data {
				data[i] = math.Round(data[i]*10) / 10
			}
			src := randArg(rng, srcShape.Dimensions...)
			if dtype == dtypes.Float32 { // The reference computes in float64: give it float32 values.
				for i, v := range src.data {
					src.data[i] = float64(float32(v))
				}
			}
			got, _ := runWindowOp(t, be, dtype, c.dims, data, selectScatterBuild(c, isMin, dtype, src.data, srcShape.Dimensions))
			xs := castBack(dtype, data)
			round := func(v float64) float64 { return v }
			if dtype == dtypes.Float32 {
				round = func(v float64) float64 { return float64(float32(v)) }
			}
			want := selectScatterRef(isMin, xs, src.data, c.dims, srcShape.Dimensions, c.window, c.strides, c.pads, round)
			for i := range want {
				if !sameBitsOrNaN(got[i], want[i]) {
					t.Fatalf("%s min=%v %s %s: element %d is %v, want %v", threads, isMin, dtype, c, i, got[i], want[i])
				}
			}
		}
	}
}

// castTo converts data to a flat slice of dtype (float32 or float64).
// selectScatterBuild builds SelectAndScatterMax (or Min) of c's window over the operand x,
// scattering the constant source src (shaped srcDims, converted to dtype).
func selectScatterBuild(c windowCase, isMin bool, dtype dtypes.DType, src []float64, srcDims []int) func(backends.Builder, backends.Op) (backends.Op, error) {
	return func(b backends.Builder, x backends.Op) (backends.Op, error) {
		s, err := b.Constant(castTo(dtype, src), srcDims...)
		if err != nil {
			return nil, err
		}
		if isMin {
			return b.SelectAndScatterMin(x, s, c.window, c.strides, c.pads)
		}
		return b.SelectAndScatterMax(x, s, c.window, c.strides, c.pads)
	}
}

func castTo(dtype dtypes.DType, data []float64) any {
	if dtype == dtypes.Float64 {
		return append([]float64(nil), data...)
	}
	f := make([]float32, len(data))
	for i, v := range data {
		f[i] = float32(v)
	}
	return f
}

// castBack rounds data to dtype's precision (float64 values again).
func castBack(dtype dtypes.DType, data []float64) []float64 {
	out := append([]float64(nil), data...)
	if dtype == dtypes.Float32 {
		for i, v := range out {
			out[i] = float64(float32(v))
		}
	}
	return out
}

// TestPoolGradientsLayouts checks max and mean pooling gradients against finite differences
// in the layouts TestPoolGradients does not: channels first (the window on the last axes, so
// no vector of channels), 1-D and 3-D pooling, overlapping 3×3 stride-2 windows with "same"
// padding, overlapping even (2×2 stride 1) windows with and without padding, and a batch of
// one.
func TestPoolGradientsLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	be := newTestBackend(t, "threads=3")
	type poolFn func(x *Node) *PoolBuilder
	for name, pool := range map[string]poolFn{"max": MaxPool, "mean": MeanPool} {
		for _, c := range []struct {
			name    string
			dims    []int
			first   bool
			window  int
			stride  int
			padSame bool
		}{
			{"nchw-3x3-s2-same", []int{2, 3, 7, 6}, true, 3, 2, true},
			{"nchw-2x2-s2", []int{2, 2, 6, 6}, true, 2, 2, false},
			{"1d-3-s2-same", []int{3, 9, 2}, false, 3, 2, true},
			{"3d-3-s2-same", []int{1, 5, 4, 5, 2}, false, 3, 2, true},
			{"nhwc-3x3-s1-same", []int{1, 5, 6, 3}, false, 3, 1, true},
			{"nhwc-2x2-s1", []int{2, 5, 6, 3}, false, 2, 1, false},
			{"nhwc-2x2-s1-same", []int{2, 5, 6, 3}, false, 2, 1, true},
		} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				x := randArg(rng, c.dims...)
				checkGradients(t, be, func(xs []*Node) *Node {
					p := pool(xs[0]).Window(c.window).Strides(c.stride)
					if c.first {
						p = p.ChannelsAxis(images.ChannelsFirst)
					}
					if c.padSame {
						p = p.PadSame()
					}
					return p.Done()
				}, x)
			})
		}
	}
}

// TestSIMDReduceWin compares the AVX2 window reductions with the Go loops (windowStep), bit
// for bit, on 8–40 inner elements (whole groups of 8 and the Go tail), windows of 0–5
// positions, values mixed with NaN, ±Inf and ±0 and equal pairs.
func TestSIMDReduceWin(t *testing.T) {
	if !simdEnabled {
		t.Skip("no AVX2 kernels")
	}
	rng := rand.New(rand.NewPCG(29, 30))
	kinds := map[backends.ReduceOpType]float32{backends.ReduceOpMax: float32(math.Inf(-1)), backends.ReduceOpMin: float32(math.Inf(1)),
		backends.ReduceOpSum: 0, backends.ReduceOpProduct: 1}
	for inner := 8; inner <= 40; inner += 3 {
		for positions := range 6 {
			x := castTo(dtypes.Float32, randSpecial(rng, 6*inner, true)).([]float32)
			for i := 0; i+inner+1 < len(x); i += 5 { // Equal values and signed zeros across positions.
				x[i+inner], x[i+1], x[i+inner+1] = x[i], float32(math.Copysign(0, -1)), 0
			}
			offs := make([]int, positions)
			for k := range offs {
				offs[k] = k * inner
			}
			for kind, init := range kinds {
				got, want := make([]float32, inner), make([]float32, inner)
				done := simdReduceWin(kind, got, x, offs, init)
				for i := range want {
					want[i] = init
				}
				for _, off := range offs {
					windowStep(kind, want, x[off:off+inner])
				}
				for i := range done {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s inner %d, %d positions: element %d is %v (%#x), Go %v (%#x)", kind, inner, positions, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
				if done != inner&^7 {
					t.Fatalf("%s: kernel did %d of %d", kind, done, inner)
				}
			}
		}
	}
}

// TestSelectAndScatterNHWC runs SelectAndScatterMax/Min on NHWC float32 and float64 operands
// with 8–19 channels (the vector kernels and their Go tails) against selectScatterRef, bit for
// bit: disjoint windows that cover the operand (2×2 stride 2), that leave gaps (2×2 stride 3,
// odd sizes) or cover padding, and overlapping ones (3×3 stride 2 "same", 2×2 stride 1).
// Inputs hold ties, NaN, ±Inf and ±0; the source holds −0 (which a selected element turns
// into +0, as 0 + −0 does).
func TestSelectAndScatterNHWC(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	be := newTestBackend(t, "threads=3")
	for _, c := range []windowCase{
		{dims: []int{3, 8, 6, 16}, window: []int{1, 2, 2, 1}, strides: []int{1, 2, 2, 1}},
		{dims: []int{2, 7, 9, 19}, window: []int{1, 2, 2, 1}, strides: []int{1, 3, 2, 1}},
		{dims: []int{2, 7, 7, 8}, window: []int{1, 2, 2, 1}, strides: []int{1, 2, 2, 1}, pads: [][2]int{{0, 0}, {1, 0}, {0, 1}, {0, 0}}},
		{dims: []int{2, 7, 6, 9}, window: []int{1, 3, 3, 1}, strides: []int{1, 2, 2, 1}, pads: [][2]int{{0, 0}, {1, 1}, {1, 1}, {0, 0}}},
		{dims: []int{2, 5, 5, 16}, window: []int{1, 2, 2, 1}, strides: []int{1, 1, 1, 1}},
	} {
		if c.pads == nil {
			c.pads = make([][2]int, 4)
		}
		srcShape, err := shapeinference.ReduceWindowOp(shapesF64(c.dims...), c.window, c.strides, nil, nil, c.pads)
		if err != nil {
			t.Fatal(err)
		}
		for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
			for _, isMin := range []bool{false, true} {
				data := randSpecial(rng, product(c.dims), true)
				for i := range data {
					data[i] = math.Round(data[i]*4) / 4
				}
				src := castBack(dtype, randSpecial(rng, srcShape.Size(), false))
				for i := 0; i < len(src); i += 7 {
					src[i] = math.Copysign(0, -1)
				}
				got, _ := runWindowOp(t, be, dtype, c.dims, data, selectScatterBuild(c, isMin, dtype, src, srcShape.Dimensions))
				round := func(v float64) float64 { return v }
				if dtype == dtypes.Float32 {
					round = func(v float64) float64 { return float64(float32(v)) }
				}
				want := selectScatterRef(isMin, castBack(dtype, data), src, c.dims, srcShape.Dimensions, c.window, c.strides, c.pads, round)
				for i := range want {
					if !sameBitsOrNaN(got[i], want[i]) {
						t.Fatalf("min=%v %s %s: element %d is %v, want %v", isMin, dtype, c, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestReduceWindowOtherDTypes: integer ReduceWindow is left to simplego's executor (not a
// native node) and still runs on this backend.
func TestReduceWindowOtherDTypes(t *testing.T) {
	be := newTestBackend(t, "")
	b := be.Builder("int")
	x, err := b.Constant([]int32{1, 5, 2, 7, 3, 4}, 1, 6)
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.ReduceWindow(x, backends.ReduceOpMax, []int{1, 2}, []int{1, 2}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, native := opNode(out).data.(*reduceWindowOp); native {
		t.Fatal("int32 ReduceWindow became a native node")
	}
	exe, err := b.Compile([]backends.Op{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := exe.Execute(nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int32, 3)
	if err := be.BufferToFlatData(res[0], got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[5 7 4]" {
		t.Fatalf("max pool of int32: %v, want [5 7 4]", got)
	}
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
