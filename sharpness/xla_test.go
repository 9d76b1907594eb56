//go:build xla

package sharpness

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/internal/xlatest"
)

// bnEvaluator is TestBatchNormInference's problem (bnModel in inference mode, non-trivial
// running statistics) on be, its variables drawn on cpu: the backends' generators differ
// (PCG on cpu, Philox on XLA), so each would otherwise start from other weights.
func bnEvaluator(t *testing.T, cpu, be backends.Backend) *Evaluator {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 8))
	const n, d = 12, 4
	xs := randMatrix(rng, n, d, 1)
	x := tensors.FromFlatDataAndDimensions(xs, n, d)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(3))
	}
	ctx := context.New()
	ctx.SetRNGStateFromSeed(3)
	// A tensor used on one backend instance cannot be fed to another: initialize with a copy.
	context.MustNewExec(cpu, ctx, func(ctx *context.Context, x *Node) *Node { return bnModel(ctx, nil, []*Node{x})[0] }).
		MustExec(tensors.FromFlatDataAndDimensions(slices.Clone(xs), n, d))
	ctx.GetVariableByScopeAndName("/bn/batch_normalization", "mean").
		SetValue(tensors.FromFlatDataAndDimensions(randMatrix(rng, 1, 5, 0.5), 5))
	ctx.GetVariableByScopeAndName("/bn/batch_normalization", "variance").
		SetValue(tensors.FromFlatDataAndDimensions([]float64{0.5, 1.5, 2, 0.8, 1.1}, 5))
	for v := range ctx.IterVariables() { // host copies: nothing ties be's run to cpu's buffers
		value, err := v.MustValue().LocalClone()
		if err == nil {
			err = v.SetValue(value)
		}
		if err != nil {
			t.Fatalf("copying %s: %v", v.ScopeAndName(), err)
		}
	}
	e, err := New(Problem{Backend: be, Context: ctx, Model: bnModel, Loss: losses.SparseCategoricalCrossEntropyLogits,
		Batches: []Batch{{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// xlaTol is the float64 tolerance between the backends, relative to the vector's norm: the
// same sums in another order (≈1e-15 each), far below any error of the gradient itself.
const xlaTol = 1e-10

// TestXLABatchNormInference: the batch-norm inference gradient this package registers
// (graph ops, so any backend runs it) gives on XLA the loss, gradient and Hessian-vector
// product it gives on cpu, where TestBatchNormInference checks them against finite
// differences.
func TestXLABatchNormInference(t *testing.T) {
	xla := xlatest.Backend(t)
	cpu, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	ec, ex := bnEvaluator(t, cpu, cpu), bnEvaluator(t, cpu, xla)
	if ec.NumParams() != ex.NumParams() {
		t.Fatalf("%d parameters on cpu, %d on xla", ec.NumParams(), ex.NumParams())
	}
	eps := randMatrix(rand.New(rand.NewPCG(1, 2)), 1, ec.NumParams(), 0.05)
	lc, gc, err := ec.Gradient(eps)
	if err != nil {
		t.Fatal(err)
	}
	lx, gx, err := ex.Gradient(eps)
	if err != nil {
		t.Fatalf("gradient on xla: %v", err)
	}
	if d := lc - lx; d > xlaTol*(1+lc) || -d > xlaTol*(1+lc) {
		t.Errorf("loss %.15g on cpu, %.15g on xla", lc, lx)
	}
	if d := maxAbsDiff(gc, gx); d > xlaTol*(1+norm(gc)) {
		t.Errorf("max |∇L cpu − ∇L xla| = %.3g for ‖∇L‖ = %.3g", d, norm(gc))
	}
	v := randMatrix(rand.New(rand.NewPCG(3, 4)), 1, ec.NumParams(), 1)
	hc, err := ec.HVP(v)
	if err != nil {
		t.Fatal(err)
	}
	hx, err := ex.HVP(v)
	if err != nil {
		t.Fatalf("Hessian-vector product on xla: %v", err)
	}
	if d := maxAbsDiff(hc, hx); d > xlaTol*(1+norm(hc)) {
		t.Errorf("max |Hv cpu − Hv xla| = %.3g for ‖Hv‖ = %.3g", d, norm(hc))
	}
	t.Logf("%d params: loss %.6g; max gradient difference %.3g, max Hv difference %.3g", ec.NumParams(), lc, maxAbsDiff(gc, gx), maxAbsDiff(hc, hx))
}
