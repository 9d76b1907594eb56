package sharpness

import (
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/models"
)

// convProblem initialises model on n float64 images side×side×ch (the models take any float
// dtype) with random 3-class labels, on the project's backend (GoMLX's simplego has no
// convolution gradient).
func convProblem(t *testing.T, model train.ModelFn, n, side, ch int) Problem {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	x := tensors.FromFlatDataAndDimensions(randMatrix(rng, n, side*side*ch, 1), n, side, side, ch)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(3))
	}
	be, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	ctx.SetRNGStateFromSeed(5)
	if _, err := context.ExecOnce(be, ctx, func(ctx *context.Context, x *Node) *Node { return model(ctx, nil, []*Node{x})[0] }, x); err != nil {
		t.Fatal(err)
	}
	return Problem{Backend: be, Context: ctx, Model: model, Loss: losses.SparseCategoricalCrossEntropyLogits,
		Batches: []Batch{{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)}}}}
}

// TestHVPThroughConvolutions: with HessianModel = models.TwiceDifferentiable(Model), exact
// Hessian-vector products of the small CNN (convolution, ReLU, max-pooling) and of ResNet-8
// (strided convolutions, batch-norm in inference mode, shortcuts) match central differences
// of gradients computed with the model itself, and are symmetric (uᵀHv = vᵀHu); without
// HessianModel the product fails with an error that says what to set.
func TestHVPThroughConvolutions(t *testing.T) {
	// The He-normal logits layer: with the default zero head the Hessian's blocks below the
	// logits vanish at initialisation and the products would test little of the network.
	heHead := func(fn train.ModelFn) train.ModelFn {
		m, err := models.WithHeadInit(fn, models.HeadHe)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name        string
		model       train.ModelFn
		n, side, ch int
	}{
		{"cnn", heHead(models.CNN(models.CNNConfig{NumClasses: 3, Channels: []int{3, 4}, Dense: 5})), 3, 9, 1},
		{"resnet8", heHead(models.ResNet(models.CIFARResNetConfig(3, 8))), 2, 6, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := convProblem(t, c.model, c.n, c.side, c.ch)
			plain, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			v := randMatrix(rand.New(rand.NewPCG(2, 9)), 1, plain.NumParams(), 1)
			if _, err := plain.HVP(v); err == nil || !strings.Contains(err.Error(), "HessianModel") {
				t.Errorf("HVP without HessianModel: err = %v, want one naming HessianModel", err)
			}
			p.HessianModel = models.TwiceDifferentiable(c.model)
			e, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			hv, err := e.HVP(v)
			if err != nil {
				t.Fatal(err)
			}
			fd, err := e.HVPFiniteDiff(v, 1e-6)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(hv, fd); !(d <= 1e-6*(1+norm(fd))) {
				t.Errorf("max |Hv − FD| = %.3g for ‖Hv‖ = %.3g", d, norm(hv))
			}
			u := randMatrix(rand.New(rand.NewPCG(3, 9)), 1, e.NumParams(), 1)
			hu, err := e.HVP(u)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := dot(u, hv), dot(v, hu); !(abs(a-b) <= 1e-9*(1+abs(a))) {
				t.Errorf("uᵀHv = %.15g but vᵀHu = %.15g", a, b)
			}
			t.Logf("%d params: max |Hv − FD| = %.3g, ‖Hv‖ = %.3g", e.NumParams(), maxAbsDiff(hv, fd), norm(hv))
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
