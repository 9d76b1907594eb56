package sharpness

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/tsamgo/tsam/backend"
)

// bnModel is Dense → batch-norm (GoMLX's layer, backend inference op) → tanh → Dense.
func bnModel(ctx *context.Context, _ any, inputs []*Node) []*Node {
	h := layers.Dense(ctx.In("h"), inputs[0], true, 5)
	h = Tanh(batchnorm.New(ctx.In("bn"), h, -1).Done())
	return []*Node{layers.Dense(ctx.In("out"), h, true, 3)}
}

// TestBatchNormInference: with the VJP this package registers, the gradient and the
// Hessian-vector product of a batch-norm model in inference mode match finite differences;
// the loss uses the stored running statistics, which no measurement changes. Runs on the
// project's cpu backend, which has the batch-norm ops stock simplego lacks.
func TestBatchNormInference(t *testing.T) {
	be, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	const n, d = 12, 4
	x := tensors.FromFlatDataAndDimensions(randMatrix(rng, n, d, 1), n, d)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(3))
	}
	ctx := context.New()
	ctx.SetRNGStateFromSeed(3)
	init := context.MustNewExec(be, ctx, func(ctx *context.Context, x *Node) *Node { return bnModel(ctx, nil, []*Node{x})[0] })
	init.MustExec(x)
	// Non-trivial running statistics, as after training.
	meanVar := ctx.GetVariableByScopeAndName("/bn/batch_normalization", "mean")
	varVar := ctx.GetVariableByScopeAndName("/bn/batch_normalization", "variance")
	if meanVar == nil || varVar == nil {
		t.Fatal("batch-norm running statistics not found")
	}
	meanVar.SetValue(tensors.FromFlatDataAndDimensions(randMatrix(rng, 1, 5, 0.5), 5))
	varVar.SetValue(tensors.FromFlatDataAndDimensions([]float64{0.5, 1.5, 2, 0.8, 1.1}, 5))
	before, _ := tensors.CopyFlatData[float64](meanVar.MustValue())

	p := Problem{Backend: be, Context: ctx, Model: bnModel, Loss: losses.SparseCategoricalCrossEntropyLogits,
		Batches: []Batch{{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)}}}}
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, prm := range e.Params() {
		if prm.Name == meanVar.ScopeAndName() || prm.Name == varVar.ScopeAndName() {
			t.Errorf("running statistic %s counted as a parameter", prm.Name)
		}
	}
	eps := randMatrix(rng, 1, e.NumParams(), 0.05)
	_, g, err := e.Gradient(eps)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for i := range g {
		pl, mi := slices.Clone(eps), slices.Clone(eps)
		pl[i] += h
		mi[i] -= h
		lp, _ := e.Loss(pl)
		lm, _ := e.Loss(mi)
		if fd := (lp - lm) / (2 * h); math.Abs(fd-g[i]) > 1e-7*(1+math.Abs(fd)) {
			t.Errorf("∂L/∂θ%d = %.12g, finite differences %.12g", i, g[i], fd)
		}
	}
	v := randMatrix(rng, 1, e.NumParams(), 1)
	hv, err := e.HVP(v)
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := e.HVPFiniteDiff(v, 1e-5)
	if dd := maxAbsDiff(hv, fd); dd > 1e-7*(1+norm(fd)) {
		t.Errorf("max |Hv − FD| = %.3g for ‖Hv‖ = %.3g", dd, norm(hv))
	}
	t.Logf("%d params: max |Hv − FD| = %.3g, ‖Hv‖ = %.3g", e.NumParams(), maxAbsDiff(hv, fd), norm(hv))

	l0, _ := e.Loss(nil)
	after, _ := tensors.CopyFlatData[float64](meanVar.MustValue())
	if !slices.Equal(before, after) {
		t.Fatalf("running mean changed by the measurements: %v -> %v", before, after)
	}
	meanVar.SetValue(tensors.FromFlatDataAndDimensions(make([]float64, 5), 5))
	if l1, _ := e.Loss(nil); l1 == l0 {
		t.Error("the loss does not depend on the stored running mean: not in inference mode?")
	}
}
