package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestElementwise compares the native elementwise ops with simplego's on large inputs (several
// chunks, so the parallel split is exercised), scalars on either side, and float32.
func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x, y, s := randArg(rng, 3, ewChunk/2+7), randArg(rng, 3, ewChunk/2+7), randArg(rng)
	u, v, w := randArg(rng, 4, 1, 5), randArg(rng, 4, 3, 1), randArg(rng, 1, 3, 5)
	ops := map[string]func(a, b *Node) *Node{"Add": Add, "Sub": Sub, "Mul": Mul, "Div": Div, "Max": Max, "Min": Min}
	for name, f := range ops {
		for _, args := range [][]arg{{x, y}, {x, s}, {s, y}, {u, v}, {v, u}, {w, u}, {v, w}} {
			fn := func(xs []*Node) *Node { return f(xs[0], xs[1]) }
			want, _ := eval(t, sg, fn, args...)
			got, _ := eval(t, be, fn, args...)
			closeTo(t, name, got, want, 0)
			fn32 := func(xs []*Node) *Node {
				return ConvertDType(f(ConvertDType(xs[0], dtypes.Float32), ConvertDType(xs[1], dtypes.Float32)), dtypes.Float64)
			}
			want, _ = eval(t, sg, fn32, args...)
			got, _ = eval(t, be, fn32, args...)
			closeTo(t, name+" float32", got, want, 0)
		}
	}
	relu := func(xs []*Node) *Node { return Max(xs[0], ZerosLike(xs[0])) }
	want, _ := eval(t, sg, relu, x)
	got, _ := eval(t, be, relu, x)
	closeTo(t, "Max(x, ZerosLike(x))", got, want, 0)
	prefix := func(xs []*Node) *Node { return BroadcastPrefix(xs[0], 2, 3) }
	want, _ = eval(t, sg, prefix, y)
	got, _ = eval(t, be, prefix, y)
	closeTo(t, "BroadcastPrefix", got, want, 0)

	for name, f := range map[string]func(*Node) *Node{"Exp": Exp, "Neg": Neg} {
		fn := func(xs []*Node) *Node { return f(xs[0]) }
		want, _ = eval(t, sg, fn, x)
		got, _ = eval(t, be, fn, x)
		closeTo(t, name, got, want, 1e-15)
	}

	x.data[0], x.data[1] = 0, math.NaN()
	fn := func(xs []*Node) *Node { return Sign(xs[0]) }
	want, _ = eval(t, sg, fn, x)
	got, _ = eval(t, be, fn, x)
	if !math.IsNaN(got[1]) || got[0] != 0 {
		t.Errorf("Sign(0), Sign(NaN) = %v, %v", got[0], got[1])
	}
	got[1], want[1] = 0, 0
	closeTo(t, "Sign", got, want, 0)
}

// TestIndicators checks GoMLX's indicator functions (Sign(Sign(x)+c), fused natively) and the
// gradient of Max, ReLU's, against simplego, zeros and NaN included.
func TestIndicators(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	sg, _ := simplego.New("")
	be := newTestBackend(t, "gemm=go")
	x := randArg(rng, 5, 7)
	x.data[0], x.data[1] = 0, math.Copysign(0, -1)
	for name, f := range map[string]func(*Node) *Node{
		"NonNegativeIndicator": NonNegativeIndicator, "SignPlusOrMinus": SignPlusOrMinus,
		"PositiveIndicator": PositiveIndicator, "NonPositiveIndicator": NonPositiveIndicator,
	} {
		fn := func(xs []*Node) *Node { return f(xs[0]) }
		want, _ := eval(t, sg, fn, x)
		got, _ := eval(t, be, fn, x)
		closeTo(t, name, got, want, 0)
	}
	v := randArg(rng, 5, 7)
	masked := func(xs []*Node) *Node { return Mul(xs[1], NonNegativeIndicator(xs[0])) }
	want, _ := eval(t, sg, masked, x, v)
	got, _ := eval(t, be, masked, x, v)
	closeTo(t, "v·NonNegativeIndicator(x)", got, want, 0)
	relu := func(xs []*Node) *Node { return Max(xs[0], ZerosLike(xs[0])) }
	x.data[0], x.data[1] = 0.3, -0.4 // Away from the kink for finite differences.
	checkGradients(t, be, relu, x)
}

// TestIdentityRewrites checks x+0, x·1, … reuse x, and that a graph returning both x and x·1
// still compiles (the rewrite makes them one node).
func TestIdentityRewrites(t *testing.T) {
	be := newTestBackend(t, "gemm=go")
	x := tensorsOf([]arg{{data: []float64{1, -2, 3}, dims: []int{3}}})
	exec := MustNewExec(be, func(x *Node) []*Node {
		one := Scalar(x.Graph(), x.DType(), 1)
		zero := Scalar(x.Graph(), x.DType(), 0)
		return []*Node{Mul(x, one), Add(zero, x), Sub(x, zero), Div(x, one), Mul(one, x)}
	})
	outs, err := exec.Exec(x...)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if got := tensors.MustCopyFlatData[float64](o); fmt.Sprint(got) != "[1 -2 3]" {
			t.Errorf("output %d = %v", i, got)
		}
	}
}

// TestNativeUnaryGradients checks the gradients of the native unary ops (composed by GoMLX
// from other native ops, fused) against central finite differences.
func TestNativeUnaryGradients(t *testing.T) {
	be := newTestBackend(t, "")
	rng := rand.New(rand.NewPCG(8, 9))
	x := randArg(rng, 3, 5)
	fn := func(xs []*Node) *Node {
		z := xs[0]
		pos := AddScalar(Mul(z, z), 0.5)
		w := Add(Log(pos), Sqrt(pos))
		w = Add(w, Mul(Inverse(Sqrt(pos)), Sin(z))) // GoMLX defines no gradient for Rsqrt.
		w = Add(w, Sub(Cos(z), Tanh(z)))
		w = Add(w, Mul(Logistic(z), Exp(z))) // GoMLX defines no gradient for Expm1.
		w = Add(w, Log1p(pos))
		return Add(w, Mul(Abs(z), Exp(Neg(z))))
	}
	checkGradients(t, be, fn, x)
}
