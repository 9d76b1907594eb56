package sam

import (
	"errors"
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// SGDScope is the absolute scope under which SGD keeps its momentum buffers (one per
// trainable variable, at SGDScope + the variable's scope, under the variable's name).
const SGDScope = "/sam_sgd"

// SGD is stochastic gradient descent with heavy-ball momentum and L2 weight decay, the
// paper's base optimizer. GoMLX v0.26.0's own SGD has neither momentum nor weight decay (it
// only offers an 1/√step decay), so this package provides one. Per trainable variable θ with
// gradient g it applies, as PyTorch's torch.optim.SGD does (no dampening, no Nesterov):
//
//	g ← g + WeightDecay·θ
//	m ← Momentum·m + g          (m starts at 0)
//	θ ← θ − lr·m
//
// lr is GoMLX's learning-rate variable (optimizers.LearningRateVar), so GoMLX learning-rate
// schedules apply. It implements optimizers.Interface and UpdateGraphWithGradients.
type SGD struct {
	LearningRate, Momentum, WeightDecay float64
}

// NewSGD returns an SGD after checking its hyperparameters.
func NewSGD(learningRate, momentum, weightDecay float64) (*SGD, error) {
	if !(learningRate > 0) {
		return nil, fmt.Errorf("sam: SGD learning rate %g must be > 0", learningRate)
	}
	if !(momentum >= 0 && momentum < 1) {
		return nil, fmt.Errorf("sam: SGD momentum %g must be in [0, 1)", momentum)
	}
	if !(weightDecay >= 0) {
		return nil, fmt.Errorf("sam: SGD weight decay %g must be ≥ 0", weightDecay)
	}
	return &SGD{LearningRate: learningRate, Momentum: momentum, WeightDecay: weightDecay}, nil
}

// UpdateGraph implements optimizers.Interface: it differentiates loss and applies the update.
func (o *SGD) UpdateGraph(ctx *context.Context, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("sam.SGD: the loss must be a scalar, got shape %s", loss.Shape()))
	}
	o.UpdateGraphWithGradients(ctx, ctx.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients applies one step with the given gradients, one per trainable
// variable used by the graph, in the context's variable order (as
// Context.BuildTrainableVariablesGradientsGraph returns them).
func (o *SGD) UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType) {
	if len(grads) == 0 {
		panic(errors.New("sam.SGD: no gradients: the model has no trainable variables in this graph"))
	}
	g := grads[0].Graph()
	lr := optimizers.LearningRateVar(ctx, lossDType, o.LearningRate).ValueGraph(g)
	_ = optimizers.IncrementGlobalStepGraph(ctx, g, lossDType)
	i := 0
	for v := range ctx.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if i >= len(grads) {
			panic(fmt.Errorf("sam.SGD: %d gradients for more trainable variables: were variables created after the gradients?", len(grads)))
		}
		o.apply(ctx, v, grads[i], lr)
		i++
	}
	if i != len(grads) {
		panic(fmt.Errorf("sam.SGD: %d gradients for %d trainable variables", len(grads), i))
	}
}

func (o *SGD) apply(ctx *context.Context, v *context.Variable, grad, lr *Node) {
	g := grad.Graph()
	theta := v.ValueGraph(g)
	if o.WeightDecay != 0 {
		grad = Add(grad, MulScalar(theta, o.WeightDecay))
	}
	step := grad
	if o.Momentum != 0 {
		mVar := ctx.InAbsPath(SGDScope+v.Scope()).Checked(false).
			WithInitializer(initializers.Zero).
			VariableWithShape(v.Name(), v.Shape()).SetTrainable(false)
		m := Add(MulScalar(mVar.ValueGraph(g), o.Momentum), grad)
		mVar.SetValueGraph(m)
		step = m
	}
	v.SetValueGraph(Sub(theta, Mul(step, scalarLike(lr, step))))
}

// Clear deletes the momentum buffers (optimizers.Interface).
func (o *SGD) Clear(ctx *context.Context) error {
	return ctx.InAbsPath(SGDScope).DeleteVariablesInScope()
}
