//go:build xla

package sam

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/internal/xlatest"
)

// bnCNN is a 3×3 stride-2 convolution (8 channels), batch-norm, ReLU, 2×2 max-pool and the
// logits, on [n, 784] MNIST rows: the convolution, pooling and batch-norm gradients and the
// batch-norm statistics snapshot of the perturbed passes all go through the backend.
func bnCNN(ctx *context.Context, _ any, inputs []*Node) []*Node {
	x := Reshape(inputs[0], -1, 28, 28, 1)
	x = layers.Convolution(ctx.In("conv"), x).Channels(8).KernelSize(3).Strides(2).PadSame().UseBias(false).Done()
	x = MaxPool(activations.Relu(batchnorm.New(ctx.In("bn"), x, -1).Done())).Window(2).Done()
	return []*Node{layers.DenseWithBias(ctx.In("out"), Reshape(x, x.Shape().Dimensions[0], -1), 10)}
}

// sameInit returns two contexts holding the same initial variables, drawn on the cpu backend.
// The backends' random generators differ (PCG on cpu, Philox on XLA), so initializing on each
// would start them from different weights. The second context holds host copies, so nothing
// ties it to cpu's buffers.
func sameInit(t *testing.T, cpu backends.Backend, model train.ModelFn, x *tensors.Tensor) (a, b *context.Context) {
	t.Helper()
	a = context.New()
	a.SetParam(context.ParamInitialSeed, int64(7))
	exec, err := context.NewExec(cpu, a, func(ctx *context.Context, x *Node) *Node { return model(ctx, nil, []*Node{x})[0] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Exec(x); err != nil {
		t.Fatal(err)
	}
	if b, err = a.Clone(); err != nil {
		t.Fatal(err)
	}
	for v := range b.IterVariables() {
		value, err := v.Value()
		if err == nil {
			value, err = value.LocalClone()
		}
		if err == nil {
			err = v.SetValue(value)
		}
		if err != nil {
			t.Fatalf("copying %s: %v", v.ScopeAndName(), err)
		}
	}
	return a.Checked(false), b.Checked(false)
}

// cleanLosses runs steps steps of cfg on backend from ctx and returns each step's loss at θ.
func cleanLosses(t *testing.T, be backends.Backend, ctx *context.Context, cfg Config, x, y *tensors.Tensor, steps, batch int) []float64 {
	t.Helper()
	opt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	trainer := NewTrainer(be, ctx, bnCNN, opt.Loss(), opt, nil, nil)
	n := x.Shape().Dimensions[0]
	losses := make([]float64, steps)
	for s := range steps {
		lo := (s * batch) % n
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{sliceRows(x, lo, batch)}, []*tensors.Tensor{sliceRows(y, lo, batch)}); err != nil {
			t.Fatalf("%s step %d on %s: %v", cfg.Method, s, be.String(), err)
		}
		st, err := ReadStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		losses[s] = st.LossClean
	}
	return losses
}

// firstLossTol is the relative tolerance on the first step's loss between cpu and XLA: the
// same weights and batch, so only float32 rounding differs — summation order, and TF32
// convolutions and products on NVIDIA GPUs (10-bit mantissa, ≈5e-4 per product, averaged).
const firstLossTol = 2e-3

// TestXLATrainsLikeCPU runs ERM, SAM and TSAM (Algorithm 1, s = 3 perturbations per step)
// through one compiled step each on the XLA backend and on cpu from the same weights: the
// first losses agree, and XLA's losses fall as cpu's do. TSAM's perturbations come from each
// backend's own generator, so after the first step only the trend is compared.
func TestXLATrainsLikeCPU(t *testing.T) {
	xla := xlatest.Backend(t)
	cpu, err := backend.FromFlag("cpu")
	if err != nil {
		t.Fatal(err)
	}
	compareBackends(t, cpu, xla)
}

// compareBackends is TestXLATrainsLikeCPU against any second backend.
func compareBackends(t *testing.T, cpu, other backends.Backend) {
	const n, batch, steps = 512, 64, 30
	x, y := mnistSample(t, n)
	for _, m := range []Method{ERM, SAM, TSAM} {
		t.Run(string(m), func(t *testing.T) {
			cfg := DefaultConfig(m)
			cfg.LearningRate, cfg.S = 0.05, 3 // TSAM: the default random start, 0.1·‖v‖ per variable
			ctxC, ctxO := sameInit(t, cpu, bnCNN, sliceRows(x, 0, batch))
			lc := cleanLosses(t, cpu, ctxC, cfg, x, y, steps, batch)
			lo := cleanLosses(t, other, ctxO, cfg, x, y, steps, batch)
			t.Logf("%s: first loss cpu %.6f, %s %.6f; last-5 mean cpu %.4f, %s %.4f",
				m, lc[0], other.String(), lo[0], tailMean(lc, 5), other.String(), tailMean(lo, 5))
			if d := math.Abs(lc[0] - lo[0]); d > firstLossTol*math.Max(1, math.Abs(lc[0])) {
				t.Errorf("%s: first loss %.6f on cpu, %.6f on %s: differ by %.2g > %.0e relative", m, lc[0], lo[0], other.String(), d, firstLossTol)
			}
			for name, l := range map[string][]float64{"cpu": lc, other.String(): lo} {
				if end := tailMean(l, 5); math.IsNaN(end) || end > l[0]-0.3 {
					t.Errorf("%s on %s did not train: loss %.4f at start, last-5 mean %.4f after %d steps", m, name, l[0], end, steps)
				}
			}
			if m != TSAM { // deterministic: only rounding separates the backends, grown over 30 steps
				if d := math.Abs(tailMean(lc, 5) - tailMean(lo, 5)); d > 0.1 {
					t.Errorf("%s: last-5 mean loss %.4f on cpu, %.4f on %s: differ by %.3f > 0.1", m, tailMean(lc, 5), tailMean(lo, 5), other.String(), d)
				}
			}
		})
	}
}

// tailMean is the mean of the last k values.
func tailMean(v []float64, k int) float64 {
	sum := 0.0
	for _, x := range v[len(v)-k:] {
		sum += x
	}
	return sum / float64(k)
}
