package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// implicitCases are float32 convolutions the implicit-GEMM paths take (output channels a
// multiple of 16, no groups or input dilation): odd sizes, lines of 8 or more positions or
// channels (AVX-512 tiles) and fewer, batch 1, strides, kernel dilation,
// negative padding (convolutions that read no padding use the input in place), channels-first layout, 1-D and 3-D, and a remainder tile. The swapped ones
// are kernel gradients, those with input dilation transposed convolutions (the input gradient
// of a strided one: sub-pixel phases, some with no tap), (input [channels, spatial..., batch] in convCase's terms, whose
// "channels" are the forward's batch), with the forward's stride as kernel dilation and its
// dilation as stride.
var implicitCases = []convCase{
	{batch: 1, cin: 3, cout: 16, groups: 1, inSp: []int{7, 9}, kSp: []int{3, 3}, pads: [][2]int{{1, 1}, {1, 1}}},
	{batch: 2, cin: 5, cout: 32, groups: 1, inSp: []int{8, 7}, kSp: []int{3, 3}, strides: []int{2, 2}, pads: [][2]int{{1, 1}, {0, 1}}},
	{batch: 2, cin: 4, cout: 16, groups: 1, inSp: []int{9, 8}, kSp: []int{3, 2}, kDil: []int{2, 1}, pads: [][2]int{{2, 2}, {0, 1}}},
	{batch: 3, cin: 17, cout: 16, groups: 1, inSp: []int{11}, kSp: []int{4}, strides: []int{3}, pads: [][2]int{{-1, 2}}},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{6, 5}, kSp: []int{3, 3}, strides: []int{2, 2}, pads: [][2]int{{1, 1}, {1, 1}}, channelsFirst: true},
	{batch: 2, cin: 2, cout: 16, groups: 1, inSp: []int{5, 4, 6}, kSp: []int{3, 1, 3}, strides: []int{2, 1, 1}, pads: [][2]int{{1, 0}, {0, 0}, {1, 1}}},
	{batch: 2, cin: 16, cout: 32, groups: 1, inSp: []int{7, 7}, kSp: []int{1, 1}, strides: []int{2, 2}, pads: [][2]int{{0, 0}, {0, 0}}},
	{batch: 2, cin: 16, cout: 16, groups: 1, inSp: []int{13, 13}, kSp: []int{3, 3}, pads: [][2]int{{1, 1}, {1, 1}}},
	{batch: 3, cin: 2, cout: 16, groups: 1, inSp: []int{7, 8}, kSp: []int{7, 8}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 5, cin: 3, cout: 32, groups: 1, inSp: []int{9, 8}, kSp: []int{5, 4}, kDil: []int{2, 2}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 4, cin: 2, cout: 16, groups: 1, inSp: []int{9, 10}, kSp: []int{5, 6}, strides: []int{2, 2}, pads: [][2]int{{0, 1}, {2, 1}}, swapped: true},
	{batch: 1, cin: 1, cout: 16, groups: 1, inSp: []int{6, 7}, kSp: []int{4, 4}, kDil: []int{2, 2}, strides: []int{1, 2}, pads: [][2]int{{1, 1}, {-1, 2}}, swapped: true},
	{batch: 3, cin: 2, cout: 16, groups: 1, inSp: []int{12}, kSp: []int{4}, kDil: []int{3}, pads: [][2]int{{1, 0}}, swapped: true},
	{batch: 1, cin: 5, cout: 16, groups: 1, inSp: []int{5, 17}, kSp: []int{3, 3}, strides: []int{1, 2}, pads: [][2]int{{1, 1}, {1, 1}}},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{5, 6}, kSp: []int{1, 1}, pads: [][2]int{{1, -2}, {0, 0}}},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{9, 8}, kSp: []int{3, 3}, pads: [][2]int{{-1, 0}, {0, -2}}},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{9, 8}, kSp: []int{3, 3}, pads: [][2]int{{-1, 0}, {0, -2}}, swapped: true},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{5, 6}, kSp: []int{3, 3}, inDil: []int{2, 2}, pads: [][2]int{{1, 2}, {1, 2}}},
	{batch: 1, cin: 5, cout: 32, groups: 1, inSp: []int{9, 5}, kSp: []int{3, 2}, inDil: []int{2, 3}, pads: [][2]int{{2, 1}, {0, 3}}},
	{batch: 3, cin: 2, cout: 16, groups: 1, inSp: []int{7}, kSp: []int{5}, inDil: []int{3}, pads: [][2]int{{-1, 4}}},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{8, 4}, kSp: []int{1, 1}, inDil: []int{2, 2}, pads: [][2]int{{0, 1}, {0, 1}}},
	{batch: 2, cin: 3, cout: 16, groups: 1, inSp: []int{6, 7}, kSp: []int{3, 3}, inDil: []int{2, 1}, pads: [][2]int{{1, 1}, {2, 0}}, channelsFirst: true},
	{batch: 2, cin: 2, cout: 16, groups: 1, inSp: []int{3, 4, 5}, kSp: []int{2, 3, 3}, inDil: []int{2, 1, 2}, pads: [][2]int{{1, 1}, {1, 1}, {1, 2}}},
	{batch: 2, cin: 16, cout: 16, groups: 1, inSp: []int{8, 9}, kSp: []int{3, 3}, inDil: []int{2, 2}, pads: [][2]int{{1, 2}, {1, 2}}},
	{batch: 9, cin: 2, cout: 32, groups: 1, inSp: []int{6, 7}, kSp: []int{6, 4}, kDil: []int{1, 2}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	// Kernel gradients of the swapped tile (AVX-512, 16 output channels, kernel width ×
	// channels = 48): 3×3 over 16 channels at stride 1 and 2 (batch 1), with the forward's
	// dilation 2 on the first axis, and a 1×1 kernel over 48 channels (read in place).
	{batch: 16, cin: 2, cout: 16, groups: 1, inSp: []int{9, 8}, kSp: []int{9, 8}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 16, cin: 1, cout: 16, groups: 1, inSp: []int{9, 7}, kSp: []int{5, 4}, kDil: []int{2, 2}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 16, cin: 3, cout: 16, groups: 1, inSp: []int{6, 10}, kSp: []int{4, 10}, strides: []int{2, 1}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 48, cin: 2, cout: 16, groups: 1, inSp: []int{5, 6}, kSp: []int{5, 6}, pads: [][2]int{{0, 0}, {0, 0}}, swapped: true},
	// and 32 output channels: over 32 channels (two blocks of 48 columns), and 16 → 32 at
	// stride 2; 64 → 64 (four blocks), batch 1.
	{batch: 32, cin: 2, cout: 32, groups: 1, inSp: []int{7, 6}, kSp: []int{7, 6}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 16, cin: 1, cout: 32, groups: 1, inSp: []int{9, 9}, kSp: []int{5, 5}, kDil: []int{2, 2}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
	{batch: 64, cin: 1, cout: 64, groups: 1, inSp: []int{5, 7}, kSp: []int{5, 7}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true},
}

// asFloat32 runs fn on float32 copies of its (float64) inputs and returns a float64 result.
func asFloat32(fn func(xs []*Node) *Node) func(xs []*Node) *Node {
	return func(xs []*Node) *Node {
		ys := make([]*Node, len(xs))
		for i, x := range xs {
			ys[i] = ConvertDType(x, dtypes.Float32)
		}
		return ConvertDType(fn(ys), dtypes.Float64)
	}
}

// tileModes are the register tiles to test: AVX2 alone, and AVX-512 (with AVX2 for the rows
// left over) where the CPU has it.
func tileModes() []bool {
	if convTileZSupported {
		return []bool{false, true}
	}
	return []bool{false}
}

// withTileZ runs f with the AVX-512 tile on or off.
func withTileZ(on bool, f func()) {
	saved := convTileZEnabled
	convTileZEnabled = on
	defer func() { convTileZEnabled = saved }()
	f()
}

// withImplicit runs f with the implicit-GEMM paths on or off and returns how many times each
// of them ran (forward, kernel gradient, transposed).
func withImplicit(on bool, f func()) (runs [3]int64) {
	saved := convImplicitEnabled
	convImplicitEnabled = on
	defer func() { convImplicitEnabled = saved }()
	var before [3]int64
	for i := range runs {
		before[i] = convImplicitRuns[i].Load()
	}
	f()
	for i := range runs {
		runs[i] = convImplicitRuns[i].Load() - before[i]
	}
	return runs
}

// lastAxis is v's last-axis value (strides, dilations), 1 when v is nil.
func (c convCase) lastAxis(v []int) int {
	if v == nil {
		return 1
	}
	return v[len(v)-1]
}

// implicitPath is which implicit path a case takes: 0 forward, 1 kernel gradient, 2 transposed.
func (c convCase) implicitPath() int {
	switch {
	case c.swapped:
		return 1
	case c.inDil != nil:
		return 2
	}
	return 0
}

// TestConvImplicitMatchesDefinition checks the implicit-GEMM forward and kernel-gradient
// convolutions against the float64 definition (referenceConv), within float32 rounding of
// sums of up to a few hundred products, and that each case really ran them.
func TestConvImplicitMatchesDefinition(t *testing.T) {
	if !simdEnabled || !convTileSupported {
		t.Skip("the implicit-GEMM convolution needs AVX2 and FMA (and TSAM_NO_SIMD unset)")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	be := newTestBackend(t, "threads=2")
	for _, z := range tileModes() {
		for ci, c := range implicitCases {
			t.Run(fmt.Sprintf("avx512=%v/%d", z, ci), func(t *testing.T) {
				xDims, kDims := c.dims()
				x, k := randArg(rng, xDims...), randArg(rng, kDims...)
				fn := asFloat32(func(xs []*Node) *Node {
					return ConvGeneral(xs[0], xs[1], c.axes(), c.strides, c.pads, c.inDil, c.kDil, c.groups, 1)
				})
				var got []float64
				var outDims []int
				var runs, want [3]int64
				swapped0 := kgradSwappedRuns.Load()
				withTileZ(z, func() { runs = withImplicit(true, func() { got, outDims = eval(t, be, fn, x, k) }) })
				if want[c.implicitPath()] = 1; runs != want {
					t.Fatalf("implicit runs (forward, kernel gradient, transposed) = %v, want %v", runs, want)
				}
				if wantSwapped := z && c.swapped && c.lastAxis(c.strides) == 1 && c.batch*outDims[len(outDims)-2]%swapCols == 0; (kgradSwappedRuns.Load() > swapped0) != wantSwapped {
					t.Fatalf("the swapped kernel-gradient tile ran: %v, want %v", !wantSwapped, wantSwapped)
				}
				closeTo(t, "implicit ConvGeneral", got, referenceConv(c, x, k, outDims), 2e-6)
			})
		}
	}
}

// TestConvImplicitGradients compares a float32 convolution's gradients (GoMLX builds the input
// gradient as a forward convolution and the kernel gradient as a swapped one, both implicit
// here for 16 channels) with those of im2col + GEMM.
func TestConvImplicitGradients(t *testing.T) {
	if !simdEnabled || !convTileSupported {
		t.Skip("the implicit-GEMM convolution needs AVX2 and FMA (and TSAM_NO_SIMD unset)")
	}
	rng := rand.New(rand.NewPCG(33, 34))
	be := newTestBackend(t, "threads=2")
	for _, z := range tileModes() {
		for _, stride := range []int{1, 2} {
			x, k, r := randArg(rng, 3, 11, 10, 16), randArg(rng, 3, 3, 16, 32), randArg(rng, 3, (11+stride-1)/stride, (10+stride-1)/stride, 32)
			grads := func(xs []*Node) []*Node {
				y := Convolve(xs[0], xs[1]).Strides(stride).PadSame().Done()
				return Gradient(ReduceAllSum(Mul(y, xs[2])), xs[0], xs[1])
			}
			for gi, what := range []string{"∂x", "∂kernel"} {
				fn := asFloat32(func(xs []*Node) *Node { return grads(xs)[gi] })
				var got, want []float64
				var runs [3]int64
				withTileZ(z, func() { runs = withImplicit(true, func() { got, _ = eval(t, be, fn, x, k, r) }) })
				withImplicit(false, func() { want, _ = eval(t, be, fn, x, k, r) })
				// ∂x: a forward convolution for stride 1, a transposed one for stride 2.
				if path := map[bool]int{true: 1, false: 2 * (stride - 1)}[gi == 1]; runs[path] != 1 {
					t.Fatalf("stride %d %s: implicit runs (forward, kernel gradient, transposed) = %v", stride, what, runs)
				}
				closeTo(t, fmt.Sprintf("avx512=%v stride %d %s", z, stride, what), got, want, 1e-5)
			}
		}
	}
}

// TestConvImplicitKernelGradientIgnoresThreadCount requires the same bits from the implicit
// kernel gradient on 1 to 4 threads: the workers split the tiles, never an element's sum.
func TestConvImplicitKernelGradientIgnoresThreadCount(t *testing.T) {
	if !simdEnabled || !convTileSupported {
		t.Skip("the implicit-GEMM convolution needs AVX2 and FMA (and TSAM_NO_SIMD unset)")
	}
	// 8 channels into 32 (tiles of (kernel position, channel) rows), 16 into 16, 32 into 32 and
	// 64 into 64 (the swapped tile with AVX-512: 6, 24 and 96 tiles).
	for _, cc := range [][2]int{{8, 32}, {16, 16}, {32, 32}, {64, 64}} {
		threadCountCase(t, convCase{batch: cc[0], cin: 8, cout: cc[1], groups: 1, inSp: []int{20, 20}, kSp: []int{20, 20}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true})
	}
}

// threadCountCase is TestConvImplicitKernelGradientIgnoresThreadCount for one kernel gradient c.
func threadCountCase(t *testing.T, c convCase) {
	xDims, kDims := c.dims()
	rng := rand.New(rand.NewPCG(35, 36))
	x, k := randArg(rng, xDims...), randArg(rng, kDims...)
	fn := asFloat32(func(xs []*Node) *Node { return ConvGeneral(xs[0], xs[1], c.axes(), nil, c.pads, nil, nil, 1, 1) })
	for _, z := range tileModes() {
		var ref []float64
		for _, threads := range []int{1, 2, 3, 4} {
			be := newTestBackend(t, fmt.Sprintf("threads=%d", threads))
			var got []float64
			var kg int64
			withTileZ(z, func() { kg = withImplicit(true, func() { got, _ = eval(t, be, fn, x, k) })[1] })
			if kg != 1 {
				t.Fatalf("threads=%d: the implicit kernel gradient ran %d times, want 1", threads, kg)
			}
			if ref == nil {
				ref = got
				continue
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(ref[i]) {
					t.Fatalf("cout %d avx512=%v threads=%d: element %d is %v, on one thread %v", c.cout, z, threads, i, got[i], ref[i])
				}
			}
		}
	}
}

// TestConvImplicitRandomConfigs runs 60 random 2-D configurations (sizes 1–12, strides 1–3,
// kernel dilation 1–2, padding −1 to 3, 1–9 input channels, batch 1–3) of each implicit path
// against the definition: forward, kernel gradient (swapped layout) and transposed (input
// dilation 2–3, unit stride and kernel dilation). Configurations with no output are redrawn.
func TestConvImplicitRandomConfigs(t *testing.T) {
	if !simdEnabled || !convTileSupported {
		t.Skip("the implicit-GEMM convolution needs AVX2 and FMA (and TSAM_NO_SIMD unset)")
	}
	rng := rand.New(rand.NewPCG(51, 52))
	be := newTestBackend(t, "threads=2")
	n := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	for i := 0; i < 60; {
		c := convCase{batch: n(1, 3), cin: n(1, 9), cout: 16 * n(1, 2), groups: 1,
			inSp: []int{n(1, 12), n(1, 12)}, kSp: []int{n(1, 4), n(1, 4)}, pads: [][2]int{{n(-1, 3), n(-1, 3)}, {n(-1, 3), n(-1, 3)}}}
		switch path := i % 3; path {
		case 0:
			c.strides, c.kDil = []int{n(1, 3), n(1, 3)}, []int{n(1, 2), n(1, 2)}
		case 1:
			c.swapped = true
			c.strides, c.kDil = []int{n(1, 2), n(1, 2)}, []int{n(1, 3), n(1, 3)}
		case 2:
			c.inDil = []int{n(2, 3), n(2, 3)}
		}
		out := make([]int, 2)
		for ax := range 2 {
			eff := (c.inSp[ax]-1)*at(c.inDil, ax, 1) + 1 + c.pads[ax][0] + c.pads[ax][1]
			out[ax] = (eff-(c.kSp[ax]-1)*at(c.kDil, ax, 1)-1)/at(c.strides, ax, 1) + 1
			if eff-(c.kSp[ax]-1)*at(c.kDil, ax, 1) < 1 {
				out[ax] = 0
			}
		}
		if out[0] < 1 || out[1] < 1 {
			continue
		}
		xDims, kDims := c.dims()
		x, k := randArg(rng, xDims...), randArg(rng, kDims...)
		fn := asFloat32(func(xs []*Node) *Node {
			return ConvGeneral(xs[0], xs[1], c.axes(), c.strides, c.pads, c.inDil, c.kDil, c.groups, 1)
		})
		for _, z := range tileModes() {
			var got []float64
			var outDims []int
			var runs, want [3]int64
			withTileZ(z, func() { runs = withImplicit(true, func() { got, outDims = eval(t, be, fn, x, k) }) })
			if want[c.implicitPath()] = 1; runs != want {
				t.Fatalf("config %d %+v: implicit runs %v, want %v", i, c, runs, want)
			}
			closeTo(t, fmt.Sprintf("config %d avx512=%v %+v", i, z, c), got, referenceConv(c, x, k, outDims), 2e-6)
		}
		i++
	}
}
