package sam

import (
	"fmt"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

type dtypeT = dtypes.DType

// Base is what a base optimizer must offer: GoMLX's optimizers.Interface plus the
// UpdateGraphWithGradients method of train.OptimizeWithGradients, which GoMLX's SGD and Adam
// and this package's SGD have.
type Base interface {
	optimizers.Interface
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// Optimizer is one member of the family (Config.Method) wrapping a base optimizer. It
// implements optimizers.Interface, so train.Trainer drives it like any GoMLX optimizer; the
// extra passes at perturbed weights are built into the same train-step graph.
//
// Methods other than ERM re-run the model on the step's inputs and labels, which
// train.Trainer does not hand to optimizers: build the trainer with NewTrainer, or pass the
// model and loss functions through Wrap before calling train.NewTrainer. One Optimizer serves
// one trainer.
type Optimizer struct {
	cfg  Config
	base Base
	// baseFromConfig: the base was built from cfg (New), so cfg's learning rate is the real one.
	baseFromConfig bool

	modelFn train.ModelFn
	lossFn  train.LossFn

	mu      sync.Mutex
	records map[*Graph]*record
}

// record is what the wrapped model and loss functions saw in one train-step graph.
type record struct {
	ctx    *context.Context
	spec   any
	inputs []*Node
	labels []*Node
	// rng0 is the context RNG state before the clean pass: every extra pass starts from it,
	// so dropout draws the same masks in all passes of a step.
	rng0 *Node
}

// New builds the optimizer described by cfg with its base optimizer (cfg.Base): this
// package's SGD, or GoMLX's Adam / AdamW. It returns cfg.Validate's error.
func New(cfg Config) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var base optimizers.Interface
	switch cfg.Base {
	case BaseAdam:
		base = optimizers.Adam().LearningRate(cfg.LearningRate).Done()
	case BaseAdamW:
		base = optimizers.Adam().LearningRate(cfg.LearningRate).WeightDecay(cfg.WeightDecay).Done()
	default:
		sgd, err := NewSGD(cfg.LearningRate, cfg.Momentum, cfg.WeightDecay)
		if err != nil {
			return nil, err
		}
		base = sgd
	}
	o, err := NewWithBase(cfg, base)
	if err != nil {
		return nil, err
	}
	o.baseFromConfig = true
	return o, nil
}

// NewWithBase is New with any base optimizer that can apply given gradients (see Base);
// cfg.Base, LearningRate, Momentum and WeightDecay are then not used.
func NewWithBase(cfg Config, base optimizers.Interface) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b, ok := base.(Base)
	if !ok {
		return nil, fmt.Errorf("sam: base optimizer %T has no UpdateGraphWithGradients(ctx, grads, dtype) method; "+
			"use sam.SGD, GoMLX's optimizers.StochasticGradientDescent or optimizers.Adam", base)
	}
	return &Optimizer{cfg: cfg, base: b, records: make(map[*Graph]*record)}, nil
}

// FromContextOptimizer is New(FromContext(ctx)): the optimizer the context parameters describe.
func FromContextOptimizer(ctx *context.Context) (*Optimizer, error) {
	cfg, err := FromContext(ctx)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// Config returns the optimizer's configuration.
func (o *Optimizer) Config() Config { return o.cfg }

// Base returns the base optimizer.
func (o *Optimizer) Base() Base { return o.base }

// NewTrainer is train.NewTrainer with the model and loss functions wrapped (see Wrap) so the
// optimizer can re-run them at perturbed weights. Use it exactly like train.NewTrainer.
// It also records the optimizer's configuration as context parameters (Config.ToContext) so
// checkpoints carry it; for an optimizer from NewWithBase the learning-rate parameter is
// left alone (the base has its own).
func NewTrainer(backend backends.Backend, ctx *context.Context, modelFn train.ModelFn, lossFn train.LossFn,
	opt *Optimizer, trainMetrics, evalMetrics []metrics.Interface) *train.Trainer {
	lr, hadLR := ctx.InAbsPath(context.RootScope).GetParam(optimizers.ParamLearningRate)
	opt.cfg.ToContext(ctx)
	if !opt.baseFromConfig {
		root := ctx.InAbsPath(context.RootScope)
		if hadLR {
			root.SetParam(optimizers.ParamLearningRate, lr)
		} else {
			root.SetParam(optimizers.ParamLearningRate, nil)
		}
	}
	m, l := opt.Wrap(modelFn, lossFn)
	return train.NewTrainer(backend, ctx, m, l, opt, trainMetrics, evalMetrics)
}

// Wrap returns model and loss functions that behave as the given ones and also record, per
// train-step graph, the inputs, labels and RNG state the optimizer needs to re-evaluate the
// loss at θ+ε. Pass the results to train.NewTrainer (NewTrainer does this for you). lossFn
// may be nil (losses then come only from train.AddLoss inside the model).
func (o *Optimizer) Wrap(modelFn train.ModelFn, lossFn train.LossFn) (train.ModelFn, train.LossFn) {
	o.modelFn, o.lossFn = modelFn, lossFn
	wrappedModel := func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		if len(inputs) > 0 && o.cfg.Method != ERM {
			g := inputs[0].Graph()
			if ctx.IsTraining(g) {
				o.put(g, &record{ctx: ctx, spec: spec, inputs: inputs, rng0: rngStateValue(ctx, g)})
			}
		}
		return modelFn(ctx, spec, inputs)
	}
	if lossFn == nil {
		return wrappedModel, nil
	}
	wrappedLoss := func(labels, predictions []*Node) *Node {
		var g *Graph
		switch {
		case len(labels) > 0:
			g = labels[0].Graph()
		case len(predictions) > 0:
			g = predictions[0].Graph()
		}
		if g != nil {
			o.mu.Lock()
			if rec := o.records[g]; rec != nil {
				rec.labels = labels
			}
			o.mu.Unlock()
		}
		return lossFn(labels, predictions)
	}
	return wrappedModel, wrappedLoss
}

func (o *Optimizer) put(g *Graph, rec *record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.records[g] = rec
}

// take removes and returns the record of graph g (nil if the model was not wrapped).
func (o *Optimizer) take(g *Graph) *record {
	o.mu.Lock()
	defer o.mu.Unlock()
	rec := o.records[g]
	delete(o.records, g)
	return rec
}

// rngStateValue returns the context RNG state at this point of graph g, creating the state
// (from the context seed, context.ParamInitialSeed) if the context has none yet.
func rngStateValue(ctx *context.Context, g *Graph) *Node {
	v := rngStateVar(ctx)
	if v == nil || !v.HasValue() {
		if err := ctx.ResetRNGState(); err != nil {
			panic(fmt.Errorf("sam: creating the context RNG state: %v", err))
		}
		v = rngStateVar(ctx)
	}
	return v.ValueGraph(g)
}

func rngStateVar(ctx *context.Context) *context.Variable {
	return ctx.GetVariableByScopeAndName(context.RootScope, context.RNGStateVariableName)
}

// UpdateGraph implements optimizers.Interface: it builds the method's extra passes, the
// aggregated gradient and the per-step statistics (see ReadStats), then hands the gradient
// to the base optimizer.
func (o *Optimizer) UpdateGraph(ctx *context.Context, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("sam: the loss must be a scalar, got shape %s", loss.Shape()))
	}
	rec := o.take(g)
	if rec == nil && o.cfg.Method != ERM {
		panic(fmt.Errorf("sam: method %q re-runs the model at perturbed weights but has no inputs for this graph: "+
			"build the trainer with sam.NewTrainer, or pass modelFn and lossFn through Optimizer.Wrap", o.cfg.Method))
	}
	s := newStep(o, ctx, g, loss, rec)
	grads := s.gradient()
	s.writeStats(ctx)
	o.base.UpdateGraphWithGradients(ctx, grads, loss.DType())
}

// Clear deletes the base optimizer's state and the statistics variables.
func (o *Optimizer) Clear(ctx *context.Context) error {
	if err := o.base.Clear(ctx); err != nil {
		return err
	}
	return ctx.InAbsPath(StatsScope).DeleteVariablesInScope()
}
