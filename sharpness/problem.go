// Package sharpness measures how flat a trained GoMLX model sits in its loss landscape, the
// measurements of the TSAM paper's Section 5.2 (Section 5.2 and Table 3 of the paper):
//
//   - Flatness: mean and variance of L(θ+ε), ε ~ N(0, δ²I), over M draws for a grid of δ (Fig. 2);
//   - TopEigen: the top-k eigenvalues of the Hessian ∇²L(θ) by Lanczos with full
//     reorthogonalization on Hessian-vector products, each with its residual ‖Hv − λv‖;
//   - Objectives: the ERM loss L(θ), the SAM objective max_{‖ε‖≤ρ} L(θ+ε) (projected gradient
//     ascent) and the TSAM objective (1/t)·log E exp(t·L(θ+ε)) over ε uniform in the ρ ball
//     (Table 3).
//
// It works on any model: an Evaluator is built from a backend, a context holding the trained
// variables, a model function (train.ModelFn), a loss function (train.LossFn) and a fixed set of
// batches. L(θ) is always the example-weighted mean loss over all the batches, computed with the
// context in inference mode (batch-norm uses its running statistics) and never changing any
// variable: perturbations are applied inside the graph and the original values restored before
// the graph ends, so the stored weights stay bit-for-bit what they were.
//
// The parameter vector θ is every trainable variable the loss uses, flattened in the context's
// (deterministic) variable order into one []float64. Computation happens in the variables' own
// dtype (float32 or float64); vectors cross to the host as float64.
package sharpness

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import of the graph API.
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/internal/perturb"
)

// Batch is one batch of model inputs and labels, as a train.Dataset would yield them. The
// leading dimension of the first label tensor (or of the first input if there are no labels)
// is the batch size, used to weight the batch in the mean loss.
type Batch struct {
	Inputs []*tensors.Tensor
	Labels []*tensors.Tensor
}

// Problem is what an Evaluator measures: the loss of Model under Loss on Batches, as a function
// of the trainable variables held in Context.
type Problem struct {
	// Backend runs the graphs.
	Backend backends.Backend
	// Context holds the trained variables, in memory or behind a checkpoint loader. It is used
	// in Reuse mode: the model must not create new variables.
	Context *context.Context
	// Model is the model function, called with Spec and a batch's inputs.
	Model train.ModelFn
	// HessianModel, when set, replaces Model in the Hessian-vector product graphs: the same
	// function of the same variables, built from ops GoMLX can differentiate twice. GoMLX
	// v0.26 differentiates convolution and max-pooling only once, so a convolutional model
	// needs one (models.TwiceDifferentiable(Model) for this project's models); nil means
	// Model.
	HessianModel train.ModelFn
	// Spec is passed to Model unchanged (a Dataset's spec; nil for most models).
	Spec any
	// Loss maps (labels, predictions) to the loss; a non-scalar loss (per example) is averaged.
	Loss train.LossFn
	// Batches is the fixed data set L(θ) is the mean loss over. All batches are evaluated on
	// every loss, gradient and Hessian-vector product.
	Batches []Batch
}

// Param describes one trainable variable in the flattened parameter vector.
type Param struct {
	Name   string // scope and name of the variable
	Shape  shapes.Shape
	Offset int // index of its first element in the flattened vector
}

// Evaluator computes losses, gradients and Hessian-vector products of a Problem's loss with
// respect to the flattened trainable parameters. It is not safe for concurrent use.
type Evaluator struct {
	prob    Problem
	ctx     *context.Context
	params  []*context.Variable
	layout  []Param
	n       int          // total number of parameters
	dtype   dtypes.DType // dtype of the parameters
	weights []float64    // weight of each batch in the mean loss: its size / total size
	count   int          // number of examples over all batches
	// used lists every variable the loss graph reads, so that each graph can put back their
	// original values before it ends (nothing may be written back by context.Exec).
	used []*context.Variable

	lossExec, gradExec, hvpExec *context.Exec
	zero                        []*tensors.Tensor // a zero perturbation, one tensor per param
	norms                       []float64         // ‖v‖ of each param at θ, see paramNorms
}

// New checks the problem, runs the loss once at θ (which also materializes variables behind a
// checkpoint loader) and finds the trainable parameters the loss depends on.
func New(p Problem) (*Evaluator, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	e := &Evaluator{prob: p, ctx: p.Context.Reuse()}
	w, count, err := batchWeights(p.Batches)
	if err != nil {
		return nil, err
	}
	e.weights, e.count = w, count
	if err := e.discover(); err != nil {
		return nil, err
	}
	e.buildExecs()
	return e, nil
}

func (p Problem) check() error {
	switch {
	case p.Backend == nil:
		return errors.New("sharpness: Problem.Backend is nil; pass a backend (e.g. simplego.New(\"\"))")
	case p.Context == nil:
		return errors.New("sharpness: Problem.Context is nil; pass the context holding the trained variables")
	case p.Model == nil:
		return errors.New("sharpness: Problem.Model is nil; pass the model function the run was trained with")
	case p.Loss == nil:
		return errors.New("sharpness: Problem.Loss is nil; pass the training loss function")
	case len(p.Batches) == 0:
		return errors.New("sharpness: Problem.Batches is empty; pass at least one batch of training data")
	}
	for i, b := range p.Batches {
		if len(b.Inputs) == 0 {
			return fmt.Errorf("sharpness: batch %d has no inputs; every batch needs the model's input tensors", i)
		}
		if len(b.Inputs) != len(p.Batches[0].Inputs) || len(b.Labels) != len(p.Batches[0].Labels) {
			return fmt.Errorf("sharpness: batch %d has %d inputs and %d labels but batch 0 has %d and %d; all batches must have the same structure",
				i, len(b.Inputs), len(b.Labels), len(p.Batches[0].Inputs), len(p.Batches[0].Labels))
		}
	}
	return nil
}

// batchWeights returns each batch's share of the examples.
func batchWeights(batches []Batch) ([]float64, int, error) {
	sizes := make([]float64, len(batches))
	total := 0.0
	for i, b := range batches {
		t := b.Inputs[0]
		if len(b.Labels) > 0 {
			t = b.Labels[0]
		}
		if t.Shape().Rank() == 0 {
			return nil, 0, fmt.Errorf("sharpness: batch %d: first label/input is a scalar; its leading dimension must be the batch size", i)
		}
		sizes[i] = float64(t.Shape().Dimensions[0])
		total += sizes[i]
	}
	if total == 0 {
		return nil, 0, errors.New("sharpness: all batches are empty (leading dimension 0)")
	}
	for i := range sizes {
		sizes[i] /= total
	}
	return sizes, int(total), nil
}

// NumExamples is the number of examples over all batches.
func (e *Evaluator) NumExamples() int { return e.count }

// NumParams is the length of the flattened parameter vector.
func (e *Evaluator) NumParams() int { return e.n }

// Params describes the trainable variables in the order they are flattened.
func (e *Evaluator) Params() []Param { return append([]Param(nil), e.layout...) }

// DType is the dtype the loss is computed in (that of the parameters).
func (e *Evaluator) DType() dtypes.DType { return e.dtype }

// discover runs the plain loss once and records the trainable variables it uses.
func (e *Evaluator) discover() error {
	b := e.prob.Batches[0]
	exec, err := context.NewExecAny(e.prob.Backend, e.ctx, func(ctx *context.Context, ins []*Node) *Node {
		g := ins[0].Graph()
		ctx.SetTraining(g, false)
		loss := e.lossGraph(ctx, ins[:len(b.Inputs)], ins[len(b.Inputs):])
		for v := range ctx.IterVariables() {
			if !v.InUseByGraph(g) {
				continue
			}
			if v.ChangedInGraph(g) {
				panic(fmt.Errorf("sharpness: the model changes variable %q in inference mode; it cannot be evaluated without side effects", v.ScopeAndName()))
			}
			e.used = append(e.used, v)
			if v.Trainable {
				e.params = append(e.params, v)
			}
		}
		return loss
	})
	if err != nil {
		return fmt.Errorf("sharpness: building the loss: %w", err)
	}
	defer exec.Finalize()
	if _, err := callExec(exec, b.Inputs, b.Labels, nil); err != nil {
		return fmt.Errorf("sharpness: evaluating the loss at θ: %w", err)
	}
	return e.setLayout()
}

// setLayout fixes the flattened order and the common dtype of the parameters.
func (e *Evaluator) setLayout() error {
	if len(e.params) == 0 {
		return errors.New("sharpness: the loss uses no trainable variable; check that the context holds the model's weights")
	}
	e.dtype = e.params[0].DType()
	for _, v := range e.params {
		if v.DType() != e.dtype {
			return fmt.Errorf("sharpness: trainable variable %q is %s but %q is %s; all parameters must share one dtype",
				v.ScopeAndName(), v.DType(), e.params[0].ScopeAndName(), e.dtype)
		}
		e.layout = append(e.layout, Param{Name: v.ScopeAndName(), Shape: v.Shape(), Offset: e.n})
		e.n += v.Shape().Size()
	}
	if e.dtype != dtypes.Float32 && e.dtype != dtypes.Float64 {
		return fmt.Errorf("sharpness: parameters are %s; only float32 and float64 models are supported", e.dtype)
	}
	e.zero = make([]*tensors.Tensor, len(e.params))
	for i, p := range e.layout {
		e.zero[i] = tensors.FromShape(p.Shape)
	}
	return nil
}

// lossGraph builds the mean loss of one batch.
func (e *Evaluator) lossGraph(ctx *context.Context, inputs, labels []*Node) *Node {
	return e.lossOf(e.prob.Model, ctx, inputs, labels)
}

// hessianLossGraph is lossGraph with the Problem's HessianModel, if it has one.
func (e *Evaluator) hessianLossGraph(ctx *context.Context, inputs, labels []*Node) *Node {
	if e.prob.HessianModel != nil {
		return e.lossOf(e.prob.HessianModel, ctx, inputs, labels)
	}
	return e.lossGraph(ctx, inputs, labels)
}

// lossOf is the mean loss of model's predictions.
func (e *Evaluator) lossOf(model train.ModelFn, ctx *context.Context, inputs, labels []*Node) *Node {
	preds := model(ctx, e.prob.Spec, inputs)
	loss := e.prob.Loss(labels, preds)
	if loss.Rank() > 0 {
		loss = ReduceAllMean(loss)
	}
	return loss
}

// withPerturbation builds fn with each parameter's graph value replaced by orig+eps[i] (eps may
// be nil for none), passing fn the original value nodes; perturb.At then restores every used
// variable's original node so that context.Exec writes nothing back.
func (e *Evaluator) withPerturbation(ctx *context.Context, g *Graph, eps []*Node, fn func(orig []*Node) []*Node) []*Node {
	ctx.SetTraining(g, false)
	orig := make([]*Node, len(e.params))
	for i, v := range e.params {
		orig[i] = v.ValueGraph(g)
	}
	at := orig
	if eps != nil {
		at = make([]*Node, len(orig))
		for i := range orig {
			at[i] = Add(orig[i], eps[i])
		}
	}
	var out []*Node
	perturb.At(g, e.used, e.params, at, func() { out = fn(orig) })
	return out
}

// split cuts an exec's input nodes into batch inputs, labels and per-parameter vectors.
func (e *Evaluator) split(ins []*Node) (inputs, labels, vecs []*Node) {
	ni, nl := len(e.prob.Batches[0].Inputs), len(e.prob.Batches[0].Labels)
	return ins[:ni], ins[ni : ni+nl], ins[ni+nl:]
}

// buildExecs prepares the three graphs: loss at θ+ε, loss and gradient at θ+ε, and H·v at θ.
func (e *Evaluator) buildExecs() {
	mk := func(fn func(ctx *context.Context, ins []*Node) []*Node) *context.Exec {
		exec, err := context.NewExecAny(e.prob.Backend, e.ctx, fn)
		if err != nil {
			panic(err) // only a malformed function signature fails here: a bug in this package
		}
		return exec
	}
	e.lossExec = mk(func(ctx *context.Context, ins []*Node) []*Node {
		inputs, labels, eps := e.split(ins)
		return e.withPerturbation(ctx, ins[0].Graph(), eps, func([]*Node) []*Node {
			return []*Node{e.lossGraph(ctx, inputs, labels)}
		})
	})
	e.gradExec = mk(func(ctx *context.Context, ins []*Node) []*Node {
		inputs, labels, eps := e.split(ins)
		g := ins[0].Graph()
		return e.withPerturbation(ctx, g, eps, func([]*Node) []*Node {
			loss := e.lossGraph(ctx, inputs, labels)
			at := make([]*Node, len(e.params))
			for i, v := range e.params {
				at[i] = v.ValueGraph(g) // θ+ε
			}
			return append([]*Node{loss}, Gradient(loss, at...)...)
		})
	})
	e.hvpExec = mk(func(ctx *context.Context, ins []*Node) []*Node {
		inputs, labels, vs := e.split(ins)
		markSecondOrder(ins[0].Graph())
		return e.withPerturbation(ctx, ins[0].Graph(), nil, func(orig []*Node) []*Node {
			return hvpGraph(e.hessianLossGraph(ctx, inputs, labels), orig, vs)
		})
	})
}

// hvpGraph is exact second-order reverse-mode autodiff: H·v = ∇_θ ⟨∇_θ L, v⟩, with v held
// constant (it is a graph input, not a function of θ).
func hvpGraph(loss *Node, theta, v []*Node) []*Node {
	grads := Gradient(loss, theta...)
	var dot *Node
	for i, gr := range grads {
		term := ReduceAllSum(Mul(gr, v[i]))
		if dot == nil {
			dot = term
		} else {
			dot = Add(dot, term)
		}
	}
	return Gradient(dot, theta...)
}

// callExec runs exec on one batch plus extra tensors, turning panics into errors.
func callExec(exec *context.Exec, inputs, labels, extra []*tensors.Tensor) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	args := make([]any, 0, len(inputs)+len(labels)+len(extra))
	for _, t := range inputs {
		args = append(args, t)
	}
	for _, t := range labels {
		args = append(args, t)
	}
	for _, t := range extra {
		args = append(args, t)
	}
	return exec.Exec(args...)
}

// toTensors splits a flat host vector into one tensor per parameter, in the parameters' dtype.
func (e *Evaluator) toTensors(x []float64) ([]*tensors.Tensor, error) {
	if x == nil {
		return e.zero, nil
	}
	if len(x) != e.n {
		return nil, fmt.Errorf("sharpness: vector of length %d for %d parameters; pass one value per parameter (see NumParams)", len(x), e.n)
	}
	out := make([]*tensors.Tensor, len(e.layout))
	for i, p := range e.layout {
		part := x[p.Offset : p.Offset+p.Shape.Size()]
		if e.dtype == dtypes.Float64 {
			out[i] = tensors.FromFlatDataAndDimensions(append([]float64(nil), part...), p.Shape.Dimensions...)
			continue
		}
		f32 := make([]float32, len(part))
		for j, v := range part {
			f32[j] = float32(v)
		}
		out[i] = tensors.FromFlatDataAndDimensions(f32, p.Shape.Dimensions...)
	}
	return out, nil
}

// addFlat adds w times the flattened values of ts (one per parameter) into dst.
func (e *Evaluator) addFlat(dst []float64, w float64, ts []*tensors.Tensor) error {
	for i, p := range e.layout {
		seg := dst[p.Offset : p.Offset+p.Shape.Size()]
		if err := addTensor(seg, w, ts[i]); err != nil {
			return err
		}
	}
	return nil
}

// addTensor adds w times the float values of t into dst.
func addTensor(dst []float64, w float64, t *tensors.Tensor) error {
	switch t.DType() {
	case dtypes.Float64:
		data, err := tensors.CopyFlatData[float64](t)
		if err != nil {
			return err
		}
		for j, v := range data {
			dst[j] += w * v
		}
	case dtypes.Float32:
		data, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return err
		}
		for j, v := range data {
			dst[j] += w * float64(v)
		}
	default:
		return fmt.Errorf("sharpness: unexpected %s output", t.DType())
	}
	return nil
}

// scalar reads a scalar float tensor.
func scalar(t *tensors.Tensor) (float64, error) {
	v := make([]float64, 1)
	if err := addTensor(v, 1, t); err != nil {
		return 0, err
	}
	return v[0], nil
}

// Loss returns L(θ+ε), the example-weighted mean loss over all batches; eps nil means ε = 0.
func (e *Evaluator) Loss(eps []float64) (float64, error) {
	ts, err := e.toTensors(eps)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for i, b := range e.prob.Batches {
		out, err := callExec(e.lossExec, b.Inputs, b.Labels, ts)
		if err != nil {
			return 0, fmt.Errorf("sharpness: loss on batch %d: %w", i, err)
		}
		l, err := scalar(out[0])
		if err != nil {
			return 0, err
		}
		total += e.weights[i] * l
	}
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total, fmt.Errorf("sharpness: the loss is %v; the weights or the perturbation make the model diverge", total)
	}
	return total, nil
}

// Gradient returns L(θ+ε) and ∇L(θ+ε) over all batches; eps nil means ε = 0.
func (e *Evaluator) Gradient(eps []float64) (loss float64, grad []float64, err error) {
	ts, err := e.toTensors(eps)
	if err != nil {
		return 0, nil, err
	}
	grad = make([]float64, e.n)
	for i, b := range e.prob.Batches {
		out, err := callExec(e.gradExec, b.Inputs, b.Labels, ts)
		if err != nil {
			return 0, nil, fmt.Errorf("sharpness: gradient on batch %d: %w", i, err)
		}
		l, err := scalar(out[0])
		if err != nil {
			return 0, nil, err
		}
		loss += e.weights[i] * l
		if err := e.addFlat(grad, e.weights[i], out[1:]); err != nil {
			return 0, nil, err
		}
	}
	return loss, grad, nil
}

// HVP returns H·v, the Hessian of L at θ times v, by exact second-order reverse-mode autodiff
// (the gradient of ⟨∇L, v⟩), summed over the batches with their weights.
func (e *Evaluator) HVP(v []float64) ([]float64, error) {
	if v == nil {
		return nil, errors.New("sharpness: HVP of a nil vector; pass a vector of length NumParams")
	}
	ts, err := e.toTensors(v)
	if err != nil {
		return nil, err
	}
	hv := make([]float64, e.n)
	for i, b := range e.prob.Batches {
		out, err := callExec(e.hvpExec, b.Inputs, b.Labels, ts)
		if err != nil {
			if e.prob.HessianModel == nil {
				return nil, fmt.Errorf("sharpness: Hessian-vector product on batch %d: %w (GoMLX v0.26 differentiates convolution and max-pooling only once: set Problem.HessianModel to a twice-differentiable form of the model, e.g. models.TwiceDifferentiable)", i, err)
			}
			return nil, fmt.Errorf("sharpness: Hessian-vector product on batch %d: %w", i, err)
		}
		if err := e.addFlat(hv, e.weights[i], out); err != nil {
			return nil, err
		}
	}
	return hv, nil
}

// HVPFiniteDiff returns the central difference (∇L(θ+hv) − ∇L(θ−hv)) / 2h, an O(h²)
// approximation of H·v used to check HVP. h is a step along v; h ≤ 0 picks a default suited to
// the dtype (cube root of the machine epsilon, scaled by 1/‖v‖).
func (e *Evaluator) HVPFiniteDiff(v []float64, h float64) ([]float64, error) {
	if len(v) != e.n {
		return nil, fmt.Errorf("sharpness: vector of length %d for %d parameters; pass one value per parameter", len(v), e.n)
	}
	if h <= 0 {
		eps := 1.2e-7
		if e.dtype == dtypes.Float64 {
			eps = 2.2e-16
		}
		h = math.Cbrt(eps) / math.Max(norm(v), 1e-300)
	}
	plus, minus := scaled(v, h), scaled(v, -h)
	_, gp, err := e.Gradient(plus)
	if err != nil {
		return nil, err
	}
	_, gm, err := e.Gradient(minus)
	if err != nil {
		return nil, err
	}
	out := make([]float64, e.n)
	for i := range out {
		out[i] = (gp[i] - gm[i]) / (2 * h)
	}
	return out, nil
}

// Close releases the compiled graphs. The Evaluator cannot be used afterwards.
func (e *Evaluator) Close() {
	for _, x := range []*context.Exec{e.lossExec, e.gradExec, e.hvpExec} {
		if x != nil {
			x.Finalize()
		}
	}
}
