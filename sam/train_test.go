package sam

import (
	"fmt"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/data"
)

// mnistSample returns the first n MNIST test images as [n, 784] float32 and labels [n, 1].
func mnistSample(t testing.TB, n int) (x, y *tensors.Tensor) {
	t.Helper()
	m, err := data.MNIST("test")
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	labels := make([]int32, n)
	copy(labels, m.Y[:n])
	x = tensors.FromFlatDataAndDimensions(append([]float32(nil), m.X[:n*784]...), n, 784)
	y = tensors.FromFlatDataAndDimensions(labels, n, 1)
	return x, y
}

// mlp is 784-hidden-10 with ReLU and dropout 0.1 (dropout exercises the shared masks).
func mlp(hidden int) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := activations.Relu(layers.Dense(ctx.In("h1"), inputs[0], true, hidden))
		h = layers.DropoutStatic(ctx, h, 0.1)
		return []*Node{layers.Dense(ctx.In("out"), h, true, 10)}
	}
}

// meanLoss evaluates the smoothed cross-entropy of the model on (x, y) in inference mode.
func meanLoss(t testing.TB, ctx *context.Context, model train.ModelFn, x, y *tensors.Tensor) float64 {
	t.Helper()
	loss, err := SmoothedCrossEntropy(0.1)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(backendForTest(t), ctx.Reuse(), func(ctx *context.Context, x, y *Node) *Node {
		ctx.SetTraining(x.Graph(), false)
		return loss([]*Node{y}, model(ctx, nil, []*Node{x}))
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x, y)
	if err != nil {
		t.Fatal(err)
	}
	return float64(out[0].Value().(float32))
}

// methodCases are the configurations every method-level test runs.
func methodCases() map[string]Config {
	cases := map[string]Config{}
	for _, m := range Methods {
		cfg := DefaultConfig(m)
		cfg.R = 1 // the paper's r = 20 is for 11M-parameter ResNets; this MLP has 25k
		cases[string(m)] = cfg
	}
	hmc := cases["tsam"]
	hmc.Sampler, hmc.HMCSteps, hmc.HMCBeta, hmc.HMCSigma = SamplerHMC, 2, 0.01, 1
	cases["tsam-hmc"] = hmc
	naive := cases["tsam"]
	naive.Sampler = SamplerNaive
	cases["tsam-naive"] = naive
	return cases
}

func TestEveryMethodTrainsAnMLPOnMNIST(t *testing.T) {
	const n, batch, steps = 256, 64, 25
	x, y := mnistSample(t, n)
	for name, cfg := range methodCases() {
		t.Run(name, func(t *testing.T) {
			cfg.LearningRate = 0.05
			opt, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.New()
			ctx.SetParam(context.ParamInitialSeed, int64(42))
			model := mlp(32)
			trainer := NewTrainer(backendForTest(t), ctx, model, opt.Loss(), opt, nil, nil)
			var before float64
			for s := range steps {
				lo := (s * batch) % n
				xb := sliceRows(x, lo, batch)
				yb := sliceRows(y, lo, batch)
				if _, err := trainer.TrainStep(nil, []*tensors.Tensor{xb}, []*tensors.Tensor{yb}); err != nil {
					t.Fatal(err)
				}
				if s == 0 {
					// The clean loss of the first step is the loss at initialization.
					st, err := ReadStats(ctx)
					if err != nil {
						t.Fatal(err)
					}
					before = st.LossClean
					if st.GradEvals != cfg.GradEvalsPerStep() {
						t.Errorf("step built %d gradient passes, GradEvalsPerStep says %d", st.GradEvals, cfg.GradEvalsPerStep())
					}
				}
			}
			after := meanLoss(t, ctx, model, x, y)
			t.Logf("%s: batch loss at start %.4f, loss on the %d examples after %d steps %.4f", name, before, n, steps, after)
			if math.IsNaN(after) || after >= before-0.3 {
				t.Errorf("%s did not train: loss %.4f at start, %.4f after %d steps", name, before, after, steps)
			}
		})
	}
}

// sliceRows returns rows [lo, lo+k) of a rank-2 tensor of float32 or int32.
func sliceRows(t *tensors.Tensor, lo, k int) *tensors.Tensor {
	dims := t.Shape().Dimensions
	cols := dims[1]
	switch v := t.Value().(type) {
	case [][]float32:
		flat := make([]float32, 0, k*cols)
		for _, row := range v[lo : lo+k] {
			flat = append(flat, row...)
		}
		return tensors.FromFlatDataAndDimensions(flat, k, cols)
	case [][]int32:
		flat := make([]int32, 0, k*cols)
		for _, row := range v[lo : lo+k] {
			flat = append(flat, row...)
		}
		return tensors.FromFlatDataAndDimensions(flat, k, cols)
	}
	panic(fmt.Sprintf("sliceRows: unsupported %T", t.Value()))
}
