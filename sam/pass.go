package sam

// One train step's graph: the step being built, the perturbed pass at θ+ε that
// re-runs the model and restores θ, the tilt schedule and the statistics it records.

import (
	"errors"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/tsamgo/tsam/internal/perturb"
	"github.com/tsamgo/tsam/tilt"
)

// step builds one train step's extra passes inside the train-step graph.
type step struct {
	o     *Optimizer
	cfg   Config
	ctx   *context.Context // the context UpdateGraph got (global step, RNG)
	g     *Graph
	dtype dtypeT
	loss  *Node // the trainer's loss at θ (with regularization terms)
	rec   *record

	vars  []*context.Variable // trainable variables used by the graph, in context order
	theta vec                 // their values at θ
	size  int                 // total number of trainable parameters

	g0 vec // ∇L(θ), built on first use

	gradEvals, forwards int // passes actually built, for the statistics

	// Statistics, see writeStats.
	losses, weights []*Node
	logRatios       []*Node // HMC: log of each chain's Metropolis ratio
	epsCos          []*Node // HMC: cosine between each chain's ε and ∇L(θ+ε_0)
	accept, tilt    *Node
}

func newStep(o *Optimizer, ctx *context.Context, g *Graph, loss *Node, rec *record) *step {
	s := &step{o: o, cfg: o.cfg, ctx: ctx, g: g, dtype: loss.DType(), loss: loss, rec: rec}
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			s.vars = append(s.vars, v)
			s.theta = append(s.theta, v.ValueGraph(g))
			s.size += v.Shape().Size()
		}
	}
	if len(s.vars) == 0 {
		panic(errors.New("sam: the model has no trainable variables in the train-step graph"))
	}
	return s
}

func (s *step) scalar(x float64) *Node { return Scalar(s.g, s.dtype, x) }

// clean returns ∇L(θ) of the trainer's loss, building it once.
func (s *step) clean() vec {
	if s.g0 == nil {
		s.g0 = Gradient(s.loss, s.theta...)
		s.gradEvals++
	}
	return s.g0
}

// eval re-runs the model and loss at θ+eps on the step's inputs and labels and returns the
// loss there and, if wantGrad, ∇L(θ+eps). The pass has no side effects on the context:
// non-trainable variables (batch-norm averages, RNG state, ...) are restored afterwards, the
// RNG starts from its state before the clean pass (same dropout masks), and regularization
// terms the model adds with train.AddLoss are counted in this pass's loss, not the trainer's.
func (s *step) eval(eps vec, wantGrad bool) (*Node, vec) {
	return s.evalAt(s.theta.add(eps), wantGrad)
}

// evalAt is eval at the absolute point pert = θ+ε: perturb.At sets the weights to pert and
// puts back, after the pass, every variable the graph had read (θ, and the state the pass
// changed).
func (s *step) evalAt(pert vec, wantGrad bool) (*Node, vec) {
	ctx, g := s.rec.ctx, s.g
	var loss *Node
	perturb.At(g, perturb.InUse(ctx, g), s.vars, pert, func() {
		if s.rec.rng0 != nil {
			rngStateVar(ctx).SetValueGraph(s.rec.rng0)
		}
		loss = s.passLoss()
	})
	if !wantGrad {
		s.forwards++
		return loss, nil
	}
	s.gradEvals++
	return loss, Gradient(loss, pert...)
}

// passLoss re-runs the model and loss on the step's inputs and labels, with the terms the
// model adds with train.AddLoss counted in this pass's loss and the trainer's accumulator left
// as it was.
func (s *step) passLoss() *Node {
	ctx, g := s.rec.ctx, s.g
	trainerCtx := ctx.InAbsPath(train.TrainerAbsoluteScope)
	prevLoss, hadLoss := trainerCtx.GetGraphParam(g, train.TrainerLossGraphParamKey)
	// Start the loss accumulator at 0 so the pass's own AddLoss terms can be read back.
	trainerCtx.SetGraphParam(g, train.TrainerLossGraphParamKey, ScalarZero(g, s.dtype))

	predictions := s.o.modelFn(ctx.Reuse(), s.rec.spec, s.rec.inputs)
	loss := train.GetLosses(ctx, g)
	if s.o.lossFn != nil {
		base := s.o.lossFn(s.rec.labels, predictions)
		if !base.Shape().IsScalar() {
			base = ReduceAllMean(base)
		}
		loss = Add(loss, ConvertDType(base, s.dtype))
	}
	if hadLoss {
		trainerCtx.SetGraphParam(g, train.TrainerLossGraphParamKey, prevLoss)
	}
	return loss
}

// tiltValue is t at this step: constant, or linear in the 0-based global step over
// TotalSteps (reaching its end value at the last step), as tilt.Schedule.At.
func (s *step) tiltValue() *Node {
	if s.cfg.TSchedule == tilt.Constant {
		return s.scalar(s.cfg.T)
	}
	progress := s.scalar(1)
	if s.cfg.TotalSteps > 1 {
		stepNum := ConvertDType(optimizers.GetGlobalStepVar(s.ctx).ValueGraph(s.g), s.dtype)
		progress = ClipScalar(DivScalar(stepNum, float64(s.cfg.TotalSteps-1)), 0, 1)
	}
	if s.cfg.TSchedule == tilt.LinearDown {
		progress = OneMinus(progress)
	}
	return MulScalar(progress, s.cfg.T)
}

// softmaxWeights returns softmax(a·L_j) over the losses (graph.Softmax subtracts the
// maximum before exponentiating, so a·L up to float range never overflows) as scalars.
func softmaxWeights(losses []*Node, a *Node) []*Node {
	w := Softmax(Mul(Stack(losses, 0), a))
	out := make([]*Node, len(losses))
	for j := range losses {
		out[j] = Reshape(SliceAxis(w, 0, AxisElem(j)))
	}
	return out
}

// setStats records the losses at the evaluated points and their weights (nil: all 1).
func (s *step) setStats(losses, weights []*Node) {
	s.losses = losses
	if weights == nil {
		weights = make([]*Node, len(losses))
		for j := range weights {
			weights[j] = s.scalar(1 / float64(len(losses)))
		}
	}
	s.weights = weights
}
