package backend

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// TestBroadcastAndReduceSum compares the native BroadcastInDim and ReduceSum with simplego's.
func TestBroadcastAndReduceSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 3, 1, 4, 5)
	for _, axes := range [][]int{{0}, {1}, {3}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {2, 3}} {
		fn := func(xs []*Node) *Node { return ReduceSum(xs[0], axes...) }
		want, _ := eval(t, sg, fn, x)
		got, _ := eval(t, be, fn, x)
		closeTo(t, fmt.Sprint("ReduceSum", axes), got, want, 1e-14)
		fn = func(xs []*Node) *Node { return ReduceMax(xs[0], axes...) }
		want, _ = eval(t, sg, fn, x)
		got, _ = eval(t, be, fn, x)
		closeTo(t, fmt.Sprint("ReduceMax", axes), got, want, 0)
	}
	for _, tc := range []struct{ src, dst []int }{
		{[]int{1, 4, 1}, []int{2, 4, 3}}, {[]int{4, 1}, []int{4, 6}}, {[]int{1, 4, 1, 5}, []int{3, 4, 2, 5}}, {[]int{}, []int{2, 3}},
	} {
		v := randArg(rng, tc.src...)
		fn := func(xs []*Node) *Node { return BroadcastToShape(xs[0], shapesF64(tc.dst...)) }
		want, _ := eval(t, sg, fn, v)
		got, _ := eval(t, be, fn, v)
		closeTo(t, fmt.Sprint("BroadcastInDim", tc.src, tc.dst), got, want, 0)
	}
}

// sumSizes are the lengths the full-sum tests use: empty, single, under one group of lanes,
// around a fused block, several chunks with a tail, and many chunks.
var sumSizes = []int{0, 1, 7, 255, 256, 257, 100_003, 1<<20 + 1}

// exactSum is Σx computed exactly (math/big, 4096 bits cover every float64 exponent these
// tests produce) and Σ|x|.
func exactSum[T float32 | float64](x []T) (sum, abs float64) {
	s := new(big.Float).SetPrec(4096)
	var v big.Float
	for _, e := range x {
		s.Add(s, v.SetFloat64(float64(e)))
		abs += math.Abs(float64(e))
	}
	sum, _ = s.Float64()
	return sum, abs
}

// sumBound is the error allowed for a float64-accumulated sum rounded to T: the final
// rounding (half an ulp of T, relative) plus 1e-12·Σ|x|. The float64 accumulation error is at
// most ~(reduceChunk/sumLanes + sumLanes + chunks)·2⁻⁵³·Σ|x| ≈ 2.4e-13·Σ|x| for 2²⁰ elements;
// a float32 accumulator exceeds the bound by orders of magnitude (logged below).
func sumBound[T float32 | float64](exact, abs float64) float64 {
	u := 0x1p-53
	if _, ok := any(T(0)).(float32); ok {
		u = 0x1p-24
	}
	return u*math.Abs(exact) + 1e-12*abs
}

// testData returns n values: standard normals (signs mixed, cancellation) when centred,
// else 1 + |normal|·10^k with k in [−3, 3] (all positive, like a squared norm, wide range).
func testData[T float32 | float64](rng *rand.Rand, n int, centred bool) []T {
	x := make([]T, n)
	for i := range x {
		if centred {
			x[i] = T(rng.NormFloat64())
		} else {
			x[i] = T(1 + math.Abs(rng.NormFloat64())*math.Pow(10, float64(rng.IntN(7)-3)))
		}
	}
	return x
}

// TestFullSumAccuracy checks ReduceAllSum (and ReduceSum to a one-element shape) of float32
// and float64 arrays against the exact sum, for sizes from 0 to 2²⁰+1.
func TestFullSumAccuracy(t *testing.T) {
	t.Run("float32", func(t *testing.T) { checkFullSums[float32](t) })
	t.Run("float64", func(t *testing.T) { checkFullSums[float64](t) })
}

func checkFullSums[T float32 | float64](t *testing.T) {
	be := newTestBackend(t, "")
	rng := rand.New(rand.NewPCG(21, 22))
	all := func(xs []*Node) *Node { return ReduceAllSum(xs[0]) }
	// [n] → [n, 1] → ReduceSum over axis 0 leaves shape [1]: one value too.
	column := func(xs []*Node) *Node { return ReduceSum(InsertAxes(xs[0], -1), 0) }
	worst := 0.0
	for _, n := range sumSizes {
		for _, centred := range []bool{true, false} {
			x := testData[T](rng, n, centred)
			exact, abs := exactSum(x)
			bound := sumBound[T](exact, abs)
			for name, fn := range map[string]func([]*Node) *Node{"ReduceAllSum": all, "ReduceSum to [1]": column} {
				got, _ := runCounted[T](t, be, fn, x)
				if len(got) != 1 {
					t.Fatalf("%s of %d values gave %d values", name, n, len(got))
				}
				if d := math.Abs(float64(got[0]) - exact); d > bound {
					t.Fatalf("%s of %d values (centred %v): %v, exact %v: error %.3g > bound %.3g", name, n, centred, got[0], exact, d, bound)
				} else if abs > 0 {
					worst = max(worst, d/abs)
				}
			}
			if n == 1<<20+1 && !centred {
				var old [1]T
				reduce(old[:], x, []int{n}, []int{0}, false)
				t.Logf("%d positive values: sequential accumulation in T errs by %.3g (bound %.3g)", n, math.Abs(float64(old[0])-exact), bound)
			}
		}
	}
	t.Logf("largest error / Σ|x|: %.3g", worst)
}

// TestFullSumWorkersAgree checks that full sums, plain and fused, give the same bits with 1,
// 2 and 16 worker threads.
func TestFullSumWorkersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	fns := map[string]func([]*Node) *Node{
		"sum":         func(xs []*Node) *Node { return ReduceAllSum(xs[0]) },
		"square-sum":  func(xs []*Node) *Node { return ReduceAllSum(Square(xs[0])) },
		"chain-sum":   func(xs []*Node) *Node { return ReduceAllSum(Exp(MulScalar(Sub(xs[0], xs[1]), 0.5))) },
		"product-sum": func(xs []*Node) *Node { return ReduceAllSum(Mul(xs[0], xs[1])) },
	}
	backendsByThreads := map[int]backends.Backend{}
	for _, threads := range []int{1, 2, 16} {
		backendsByThreads[threads] = newTestBackend(t, "threads="+strconv.Itoa(threads))
	}
	for _, n := range []int{100_003, 1<<20 + 1} {
		x, y := testData[float32](rng, n, true), testData[float32](rng, n, true)
		for name, fn := range fns {
			var first float32
			for i, threads := range []int{1, 2, 16} {
				got, _ := runCounted[float32](t, backendsByThreads[threads], fn, x, y)
				if i == 0 {
					first = got[0]
				} else if math.Float32bits(got[0]) != math.Float32bits(first) {
					t.Fatalf("%s of %d values: %d threads give %v, 1 thread %v", name, n, threads, got[0], first)
				}
			}
		}
	}
	// sumAll itself, float64, with worker counts that do not divide the chunk count.
	x := testData[float64](rng, 1<<20+1, true)
	want := sumAll(1, x)
	for _, w := range []int{2, 3, 16} {
		if got := sumAll(w, x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("sumAll with %d workers: %v, with 1: %v", w, got, want)
		}
	}
}

// TestFusedSumIsExact runs full sums of elementwise chains with and without fusion: fused,
// the chain is not materialized (one op runs) and the result is bit-identical.
func TestFusedSumIsExact(t *testing.T) {
	be := newTestBackend(t, "")
	rng := rand.New(rand.NewPCG(25, 26))
	cases := []struct {
		name string
		fn   func([]*Node) *Node
		ops  int // Ops the fused graph runs.
	}{
		{"Square (a load used twice)", func(xs []*Node) *Node { return ReduceAllSum(Square(xs[0])) }, 1},
		{"product", func(xs []*Node) *Node { return ReduceAllSum(Mul(xs[0], xs[1])) }, 1},
		{"times a scalar", func(xs []*Node) *Node { return ReduceAllSum(MulScalar(xs[0], 0.3)) }, 1},
		{"chain", func(xs []*Node) *Node {
			d := Sub(xs[0], xs[1])
			return ReduceAllSum(Add(MulScalar(Square(d), 0.5), Log1p(Abs(xs[1]))))
		}, 1},
		{"of a reshape", func(xs []*Node) *Node {
			r := Reshape(xs[0], 1, -1, 1)
			return ReduceAllSum(Mul(r, r))
		}, 1},
		{"to a [1] shape", func(xs []*Node) *Node { return ReduceSum(InsertAxes(Square(xs[0]), 0), 1) }, 1},
	}
	for _, n := range []int{0, 1, 7, 257, 3*reduceChunk + 77, 1<<20 + 1} {
		x32, y32 := testData[float32](rng, n, true), testData[float32](rng, n, true)
		x64, y64 := testData[float64](rng, n, true), testData[float64](rng, n, true)
		for _, c := range cases {
			checkFusedSum(t, be, c.name, c.fn, c.ops, x32, y32)
			checkFusedSum(t, be, c.name, c.fn, c.ops, x64, y64)
		}
	}
	// Σ T(x²) of float32 values against the exact sum of the rounded squares.
	x := testData[float32](rng, 1<<20+1, false)
	got, _ := runCounted[float32](t, be, cases[0].fn, x)
	sq := make([]float32, len(x))
	for i, v := range x {
		sq[i] = v * v
	}
	exact, abs := exactSum(sq)
	if d := math.Abs(float64(got[0]) - exact); d > sumBound[float32](exact, abs) {
		t.Fatalf("fused Σx² = %v, exact %v", got[0], exact)
	}
}

func checkFusedSum[T float32 | float64](t *testing.T, be backends.Backend, name string, fn func([]*Node) *Node, wantOps int, x, y []T) {
	t.Helper()
	var zero T // For the dtype in messages (x may be empty).
	fused, fusedOps := runCounted[T](t, be, fn, x, y)
	fusionEnabled = false
	plain, plainOps := runCounted[T](t, be, fn, x, y)
	fusionEnabled = true
	if fusedOps > wantOps || fusedOps >= plainOps {
		t.Errorf("%s (%T, %d values): fused graph ran %d ops (unfused %d), want %d", name, zero, len(x), fusedOps, plainOps, wantOps)
	}
	if math.Float64bits(float64(fused[0])) != math.Float64bits(float64(plain[0])) {
		t.Fatalf("%s (%T, %d values): fused %v, unfused %v", name, zero, len(x), fused[0], plain[0])
	}
}

// TestFusedSumKeepsSharedOperands checks that an operand that is also a graph output, or has
// another consumer, is computed once and not fused into the sum, and that values are right.
func TestFusedSumKeepsSharedOperands(t *testing.T) {
	be := newTestBackend(t, "")
	x := []float64{1, -2, 3, 0.5}
	exec, err := NewExec(be, func(x *Node) []*Node {
		sq := Square(x) // An output and summed.
		e := Exp(x)     // Summed and used by another op.
		return []*Node{sq, ReduceAllSum(sq), ReduceAllSum(e), Neg(e)}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	var wantSq, wantExp float64
	for _, v := range x {
		wantSq += v * v
		wantExp += math.Exp(v)
	}
	sq := out[0].Value().([]float64)
	sumSq, sumExp := out[1].Value().(float64), out[2].Value().(float64)
	if len(sq) != len(x) || sq[1] != 4 || math.Abs(sumSq-wantSq) > 1e-15*wantSq || math.Abs(sumExp-wantExp) > 1e-15*wantExp {
		t.Fatalf("got x² %v, Σx² %v, Σexp %v; want Σx² %v, Σexp %v", sq, sumSq, sumExp, wantSq, wantExp)
	}
}

// TestFullSumGradients checks gradients through full sums of products and chains (fused)
// against central finite differences.
func TestFullSumGradients(t *testing.T) {
	be := newTestBackend(t, "")
	rng := rand.New(rand.NewPCG(27, 28))
	fn := func(xs []*Node) *Node {
		norm := ReduceAllSum(Square(xs[0]))
		dot := ReduceAllSum(Mul(xs[0], Exp(MulScalar(xs[1], 0.3))))
		return Add(Mul(norm, xs[1]), dot) // Shape of xs[1].
	}
	checkGradients(t, be, fn, randArg(rng, 17, 33), randArg(rng, 17, 33))
}

// TestAddProductsMatchesMulThenSum checks the fused Σx·y kernel against a Mul into memory
// followed by addLanes, bit for bit, fed in fuseBlock pieces as fusedSum feeds it, and that
// Square's program takes that path.
func TestAddProductsMatchesMulThenSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for _, n := range []int{0, 1, 5, 8, 9, 31, fuseBlock, fuseBlock + 3, 5*fuseBlock + 13} {
		x, y := testData[float32](rng, n, true), testData[float32](rng, n, true)
		prod := make([]float32, n)
		mulVV(prod, x, y)
		var want, got [sumLanes]float64
		addLanes(&want, prod)
		for b0 := 0; b0 < n; b0 += fuseBlock {
			b1 := min(n, b0+fuseBlock)
			addProducts(&got, x[b0:b1], y[b0:b1])
		}
		if want != got {
			t.Fatalf("%d values: lanes %v, want %v", n, got, want)
		}
	}
	be := newTestBackend(t, "")
	b := be.Builder("square").(*Builder)
	x, _ := b.Parameter("x", shapesF64(1000), nil)
	sq, _ := b.Mul(x, x)
	sum, _ := b.ReduceSum(sq)
	fuseElementwise([]backends.Op{sum})
	if op, ok := opNode(sum).data.(*fusedSumOp); !ok || !op.dot || len(op.prog.inputs()) != 1 {
		t.Fatalf("ReduceSum(Mul(x, x)) compiled to %#v, want a fused sum of products with one load", opNode(sum).data)
	}
}

// TestFusedUnaryOfConstant is a regression test: a unary op on a constant scalar, fused into
// a sum or into an elementwise consumer, read its operand as an immediate it never loaded
// (Exp(2) came out as 0 or 1).
func TestFusedUnaryOfConstant(t *testing.T) {
	be := newTestBackend(t, "")
	e2 := math.Exp(2)
	cases := []struct {
		name string
		fn   func([]*Node) *Node
		want float64 // With x = [1].
	}{
		{"Σ exp(2)", func(xs []*Node) *Node { return ReduceAllSum(Exp(Const(xs[0].Graph(), 2.0))) }, e2},
		{"exp(2) + Σx", func(xs []*Node) *Node { return Add(Exp(Const(xs[0].Graph(), 2.0)), ReduceAllSum(xs[0])) }, e2 + 1},
		{"Σ(exp(2) + x)", func(xs []*Node) *Node { return ReduceAllSum(Add(Exp(Const(xs[0].Graph(), 2.0)), xs[0])) }, e2 + 1},
	}
	for _, c := range cases {
		if got, _ := runCounted[float64](t, be, c.fn, []float64{1}); math.Abs(got[0]-c.want) > 1e-15*c.want {
			t.Errorf("%s: %v, want %v", c.name, got[0], c.want)
		}
	}
}
