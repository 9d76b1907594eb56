package sam

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

var (
	backendOnce sync.Once
	testBackend backends.Backend
)

// backendForTest returns the stock pure-Go backend, sequential ops (the 2-core machine's worker
// pool can deadlock under nested parallelism on 2 cores).
func backendForTest(t testing.TB) backends.Backend {
	backendOnce.Do(func() {
		b, err := backends.NewWithConfig("go:ops_sequential")
		if err != nil {
			t.Fatalf("backend: %v", err)
		}
		testBackend = b
	})
	return testBackend
}

// linProblem is linear regression pred = X·w + b with loss (1/2n)·Σ(pred−y)² (or, when
// concave, −(1/2n)·Σ pred²; when logistic, logistic regression (1/n)·Σ log(1+exp(−y·pred))
// with labels y = ±1): losses and gradients in closed form, in float64.
type linProblem struct {
	X        [][]float64
	y        []float64
	w0       []float64
	b0       float64
	concave  bool
	logistic bool
}

// newLogisticProblem is logistic regression on the same inputs with labels ±1.
func newLogisticProblem() *linProblem {
	p := newLinProblem()
	p.y = []float64{1, -1, -1, 1}
	p.logistic = true
	return p
}

// preds returns X·w + b.
func (p *linProblem) preds(theta []float64) []float64 {
	d := len(p.w0)
	out := make([]float64, len(p.X))
	for i, x := range p.X {
		out[i] = theta[d]
		for k := range x {
			out[i] += x[k] * theta[k]
		}
	}
	return out
}

func newLinProblem() *linProblem {
	return &linProblem{
		X:  [][]float64{{1, 2, -1}, {0.5, -1, 2}, {-1.5, 0.3, 0.7}, {2, 1, 1}},
		y:  []float64{1, -2, 0.5, 3},
		w0: []float64{0.3, -0.2, 0.1},
		b0: 0.05,
	}
}

// theta0 is the flat parameter vector (w..., b) in the context's variable order.
func (p *linProblem) theta0() []float64 { return append(append([]float64{}, p.w0...), p.b0) }

func (p *linProblem) residuals(theta []float64) []float64 {
	d := len(p.w0)
	r := make([]float64, len(p.X))
	for i, x := range p.X {
		pred := theta[d]
		for k := range x {
			pred += x[k] * theta[k]
		}
		if p.concave {
			r[i] = pred
		} else {
			r[i] = pred - p.y[i]
		}
	}
	return r
}

func (p *linProblem) loss(theta []float64) float64 {
	if p.logistic {
		sum := 0.0
		for i, f := range p.preds(theta) {
			sum += math.Log1p(math.Exp(-p.y[i] * f))
		}
		return sum / float64(len(p.X))
	}
	sum := 0.0
	for _, r := range p.residuals(theta) {
		sum += r * r
	}
	l := sum / (2 * float64(len(p.X)))
	if p.concave {
		return -l
	}
	return l
}

func (p *linProblem) grad(theta []float64) []float64 {
	d, n := len(p.w0), float64(len(p.X))
	g := make([]float64, d+1)
	if p.logistic {
		// d/df log(1+exp(−y·f)) = −y·σ(−y·f).
		for i, f := range p.preds(theta) {
			c := -p.y[i] / (1 + math.Exp(p.y[i]*f)) / n
			for k := range d {
				g[k] += c * p.X[i][k]
			}
			g[d] += c
		}
		return g
	}
	sign := 1.0
	if p.concave {
		sign = -1
	}
	for i, r := range p.residuals(theta) {
		for k := range d {
			g[k] += sign * r * p.X[i][k] / n
		}
		g[d] += sign * r / n
	}
	return g
}

// probes records the parameters every model call saw, in call order: call 0 is the clean
// pass at θ, the others the optimizer's extra passes. Each call stores its w and b in new
// non-trainable variables, which the optimizer does not restore (they did not exist before
// the pass).
type probes struct{ calls int }

func (pr *probes) record(ctx *context.Context, g *Graph, w, b *Node) {
	c := ctx.InAbsPath("/probe").Checked(false)
	c.VariableWithShape(fmt.Sprintf("call%d_w", pr.calls), w.Shape()).SetTrainable(false).SetValueGraph(w)
	c.VariableWithShape(fmt.Sprintf("call%d_b", pr.calls), b.Shape()).SetTrainable(false).SetValueGraph(b)
	pr.calls++
}

// thetas returns the flat parameters of every recorded call.
func (pr *probes) thetas(t *testing.T, ctx *context.Context) [][]float64 {
	out := make([][]float64, pr.calls)
	for k := range pr.calls {
		w := ctx.GetVariableByScopeAndName("/probe", fmt.Sprintf("call%d_w", k)).MustValue().Value().([]float64)
		b := ctx.GetVariableByScopeAndName("/probe", fmt.Sprintf("call%d_b", k)).MustValue().Value().(float64)
		out[k] = append(append([]float64{}, w...), b)
	}
	return out
}

func (p *linProblem) modelFn(pr *probes) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		ctx = ctx.In("lin")
		w := ctx.VariableWithValue("w", p.w0).ValueGraph(g)
		b := ctx.VariableWithValue("b", p.b0).ValueGraph(g)
		pr.record(ctx, g, w, b)
		return []*Node{Add(Einsum("nd,d->n", inputs[0], w), b)}
	}
}

func (p *linProblem) lossFn(labels, predictions []*Node) *Node {
	if p.logistic {
		return ReduceAllMean(Log1p(Exp(Neg(Mul(labels[0], predictions[0])))))
	}
	if p.concave {
		return Neg(MulScalar(ReduceAllMean(Square(predictions[0])), 0.5))
	}
	return MulScalar(ReduceAllMean(Square(Sub(predictions[0], labels[0]))), 0.5)
}

// stepResult is what one train step on a linProblem produced.
type stepResult struct {
	theta0, theta1 []float64   // before and after the step
	calls          [][]float64 // parameters of each model call
	stats          Stats
}

// runLinStep runs one TrainStep of cfg (SGD, lr = 0.1, no momentum or weight decay unless
// cfg says otherwise) on p and returns the parameters and statistics.
func runLinStep(t *testing.T, p *linProblem, cfg Config, seed int64) stepResult {
	t.Helper()
	return runLin(t, p, cfg, seed, 1)
}

// runLinSteps runs n steps and returns the final flat parameters.
func runLinSteps(t *testing.T, p *linProblem, cfg Config, n int) []float64 {
	t.Helper()
	return runLin(t, p, cfg, 1, n).theta1
}

func runLin(t *testing.T, p *linProblem, cfg Config, seed int64, steps int) stepResult {
	t.Helper()
	opt, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, seed)
	pr := &probes{}
	trainer := NewTrainer(backendForTest(t), ctx, p.modelFn(pr), p.lossFn, opt, nil, nil)
	x := tensors.FromValue(p.X)
	y := tensors.FromValue(p.y)
	for range steps {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			t.Fatalf("TrainStep: %v", err)
		}
	}
	w := ctx.GetVariableByScopeAndName("/lin", "w").MustValue().Value().([]float64)
	b := ctx.GetVariableByScopeAndName("/lin", "b").MustValue().Value().(float64)
	st, err := ReadStats(ctx)
	if err != nil {
		t.Fatalf("ReadStats: %v", err)
	}
	return stepResult{theta0: p.theta0(), theta1: append(append([]float64{}, w...), b), calls: pr.thetas(t, ctx), stats: st}
}

// linConfig is DefaultConfig(m) with plain SGD at lr 0.1 so that θ1 = θ0 − 0.1·g.
func linConfig(m Method) Config {
	c := DefaultConfig(m)
	c.LearningRate, c.Momentum, c.WeightDecay = 0.1, 0, 0
	c.Rho = 0.3
	c.RRelative = false // the closed-form tests check absolute radii; relative starts have their own test
	return c
}

// impliedGrad is the gradient the step applied: (θ0 − θ1)/lr.
func (r stepResult) impliedGrad(lr float64) []float64 {
	g := make([]float64, len(r.theta0))
	for i := range g {
		g[i] = (r.theta0[i] - r.theta1[i]) / lr
	}
	return g
}

func axpy(a float64, x, y []float64) []float64 {
	out := make([]float64, len(y))
	for i := range y {
		out[i] = a*x[i] + y[i]
	}
	return out
}

func sub(x, y []float64) []float64 { return axpy(-1, y, x) }

func norm(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

func scaled(a float64, x []float64) []float64 { return axpy(a, x, make([]float64, len(x))) }

func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if math.IsNaN(got[i]) || math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %.12g, want %.12g (all: got %v want %v)", what, i, got[i], want[i], got, want)
		}
	}
}

// softmax is the float64 reference of the tilted weights, max-shifted.
func softmax(a float64, xs []float64) []float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, a*x)
	}
	out := make([]float64, len(xs))
	sum := 0.0
	for i, x := range xs {
		out[i] = math.Exp(a*x - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
