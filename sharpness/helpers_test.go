package sharpness

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// testBackend is the stock pure-Go backend, sequential so that tests cannot hit the worker
// pool deadlock that GoMLX v0.26's simplego can hit on 2 cores.
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// randMatrix returns an r×c row-major matrix of N(0, scale²) values from rng.
func randMatrix(rng *rand.Rand, r, c int, scale float64) []float64 {
	out := make([]float64, r*c)
	for i := range out {
		out[i] = scale * rng.NormFloat64()
	}
	return out
}

// halfMSE is the loss 0.5·mean((pred − y)²).
func halfMSE(labels, preds []*Node) *Node {
	d := Sub(preds[0], labels[0])
	return MulScalar(ReduceAllMean(Mul(d, d)), 0.5)
}

// tanhNet is a 2-layer network: tanh(x·W1 + b1)·W2 + b2.
func tanhNet(ctx *context.Context, _ any, inputs []*Node) []*Node {
	x := inputs[0]
	g := x.Graph()
	w1 := ctx.In("l1").GetVariable("w").ValueGraph(g)
	b1 := ctx.In("l1").GetVariable("b").ValueGraph(g)
	w2 := ctx.In("l2").GetVariable("w").ValueGraph(g)
	b2 := ctx.In("l2").GetVariable("b").ValueGraph(g)
	h := Tanh(Add(Dot(x, w1), b1))
	return []*Node{Add(Dot(h, w2), b2)}
}

// tanhProblem builds a float64 tanh network with d inputs, hidden units, and nb batches of n
// random examples.
func tanhProblem(t testing.TB, d, hidden, n, nb int, seed uint64) Problem {
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.New()
	ctx.In("l1").VariableWithValue("w", tensors.FromFlatDataAndDimensions(randMatrix(rng, d, hidden, 0.8), d, hidden))
	ctx.In("l1").VariableWithValue("b", tensors.FromFlatDataAndDimensions(randMatrix(rng, 1, hidden, 0.3), 1, hidden))
	ctx.In("l2").VariableWithValue("w", tensors.FromFlatDataAndDimensions(randMatrix(rng, hidden, 1, 0.8), hidden, 1))
	ctx.In("l2").VariableWithValue("b", tensors.FromFlatDataAndDimensions([]float64{0.1}, 1, 1))
	var batches []Batch
	for range nb {
		x := randMatrix(rng, n, d, 1)
		y := randMatrix(rng, n, 1, 1)
		batches = append(batches, Batch{
			Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, n, d)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)},
		})
	}
	return Problem{Backend: testBackend(t), Context: ctx, Model: tanhNet, Loss: halfMSE, Batches: batches}
}

// linearModel is y = x·w, w of shape [d, 1], no bias: under halfMSE its Hessian is XᵀX/N.
func linearModel(ctx *context.Context, _ any, inputs []*Node) []*Node {
	w := ctx.In("linear").GetVariable("w").ValueGraph(inputs[0].Graph())
	return []*Node{Dot(inputs[0], w)}
}

// linearProblem builds float64 linear regression on nb batches of n examples with d features
// (feature j scaled by 1+j so the spectrum is spread) and returns the design matrix too.
func linearProblem(t testing.TB, d, n, nb int, seed uint64) (Problem, [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	ctx := context.New()
	ctx.In("linear").VariableWithValue("w", tensors.FromFlatDataAndDimensions(randMatrix(rng, d, 1, 1), d, 1))
	var rows [][]float64
	var batches []Batch
	for range nb {
		x := randMatrix(rng, n, d, 1)
		for i := range n {
			for j := range d {
				x[i*d+j] *= 1 + float64(j)
			}
			rows = append(rows, x[i*d:(i+1)*d])
		}
		y := randMatrix(rng, n, 1, 1)
		batches = append(batches, Batch{
			Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, n, d)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)},
		})
	}
	return Problem{Backend: testBackend(t), Context: ctx, Model: linearModel, Loss: halfMSE, Batches: batches}, rows
}

// hostLinearLoss is 0.5·mean((x·(w+eps) − y)²) over all the problem's examples, in float64 on
// the host: the reference the graph computations are checked against.
func hostLinearLoss(t testing.TB, p Problem, rows [][]float64, eps []float64) float64 {
	t.Helper()
	w, err := tensors.CopyFlatData[float64](p.Context.In("linear").GetVariable("w").MustValue())
	if err != nil {
		t.Fatal(err)
	}
	var ys []float64
	for _, b := range p.Batches {
		y, err := tensors.CopyFlatData[float64](b.Labels[0])
		if err != nil {
			t.Fatal(err)
		}
		ys = append(ys, y...)
	}
	sum := 0.0
	for i, r := range rows {
		pred := 0.0
		for j, x := range r {
			wj := w[j]
			if eps != nil {
				wj += eps[j]
			}
			pred += x * wj
		}
		sum += (pred - ys[i]) * (pred - ys[i])
	}
	return 0.5 * sum / float64(len(rows))
}
