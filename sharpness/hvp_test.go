package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
)

// TestHVPMatchesFiniteDifferences checks exact second-order autodiff against central finite
// differences of gradients (and the gradient against central differences of the loss) on a
// small float64 tanh network spread over two batches.
func TestHVPMatchesFiniteDifferences(t *testing.T) {
	e, err := New(tanhProblem(t, 3, 4, 5, 2, 7))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.NumParams() != 3*4+4+4+1 {
		t.Fatalf("NumParams = %d, want %d", e.NumParams(), 3*4+4+4+1)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	v := randMatrix(rng, 1, e.NumParams(), 1)
	hv, err := e.HVP(v)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := e.HVPFiniteDiff(v, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hv {
		if math.Abs(hv[i]-fd[i]) > 1e-7*(1+math.Abs(fd[i])) {
			t.Errorf("Hv[%d] = %.12g, finite differences %.12g", i, hv[i], fd[i])
		}
	}
	t.Logf("max |Hv - FD| = %.3g (‖Hv‖ = %.3g)", maxAbsDiff(hv, fd), norm(hv))
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// mlpModel uses GoMLX's own layers: Dense, GELU, ReLU.
func mlpModel(ctx *context.Context, _ any, inputs []*Node) []*Node {
	h := activations.Gelu(layers.Dense(ctx.In("h1"), inputs[0], true, 6))
	h = activations.Relu(layers.Dense(ctx.In("h2"), h, true, 6))
	return []*Node{layers.Dense(ctx.In("out"), h, true, 3)}
}

// mlpProblem initializes mlpModel (float64) with GoMLX's initializers and pairs it with the
// stock softmax cross-entropy on random 3-class data.
func mlpProblem(t *testing.T, n, d int) Problem {
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensors.FromFlatDataAndDimensions(randMatrix(rng, n, d, 1), n, d)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(3))
	}
	be := testBackend(t)
	ctx := context.New()
	ctx.SetRNGStateFromSeed(5)
	init := context.MustNewExec(be, ctx, func(ctx *context.Context, x *Node) *Node { return mlpModel(ctx, nil, []*Node{x})[0] })
	init.MustExec(x)
	return Problem{Backend: be, Context: ctx, Model: mlpModel, Loss: losses.SparseCategoricalCrossEntropyLogits,
		Batches: []Batch{{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)}}}}
}

// TestHVPThroughLayersAndCrossEntropy: second-order autodiff also works through GoMLX's layers
// and its sparse softmax cross-entropy (max-shifted log-sum-exp, gather) on simplego.
func TestHVPThroughLayersAndCrossEntropy(t *testing.T) {
	e, err := New(mlpProblem(t, 8, 4))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	v := randMatrix(rand.New(rand.NewPCG(2, 2)), 1, e.NumParams(), 1)
	hv, err := e.HVP(v)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := e.HVPFiniteDiff(v, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(hv, fd); d > 1e-7*(1+norm(fd)) {
		t.Errorf("max |Hv − FD| = %.3g for ‖Hv‖ = %.3g", d, norm(hv))
	}
	// Symmetry: uᵀ(Hv) = vᵀ(Hu).
	u := randMatrix(rand.New(rand.NewPCG(3, 2)), 1, e.NumParams(), 1)
	hu, err := e.HVP(u)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := dot(u, hv), dot(v, hu); math.Abs(a-b) > 1e-10*(1+math.Abs(a)) {
		t.Errorf("uᵀHv = %.15g but vᵀHu = %.15g", a, b)
	}
	t.Logf("%d params: max |Hv − FD| = %.3g, ‖Hv‖ = %.3g", e.NumParams(), maxAbsDiff(hv, fd), norm(hv))
}

// TestGradientMatchesLossDifferences checks ∇L(θ+ε) against central differences of L.
func TestGradientMatchesLossDifferences(t *testing.T) {
	e, err := New(tanhProblem(t, 3, 4, 5, 2, 8))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rng := rand.New(rand.NewPCG(4, 4))
	eps := randMatrix(rng, 1, e.NumParams(), 0.1)
	_, g, err := e.Gradient(eps)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for i := range g {
		p, m := append([]float64(nil), eps...), append([]float64(nil), eps...)
		p[i] += h
		m[i] -= h
		lp, err1 := e.Loss(p)
		lm, err2 := e.Loss(m)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if fd := (lp - lm) / (2 * h); math.Abs(fd-g[i]) > 1e-7*(1+math.Abs(fd)) {
			t.Errorf("∂L/∂θ%d = %.12g, finite differences %.12g", i, g[i], fd)
		}
	}
}
