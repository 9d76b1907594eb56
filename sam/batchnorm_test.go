package sam

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	"github.com/gomlx/gomlx/pkg/ml/train"
	_ "github.com/tsamgo/tsam/backend" // registers "cpu", which composes batch-norm (stock simplego cannot)
)

// bnMLP is 784-hidden-(batch-norm)-10.
func bnMLP(hidden int) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := layers.Dense(ctx.In("h1"), inputs[0], true, hidden)
		h = activations.Relu(batchnorm.New(ctx.In("bn"), h, -1).Done())
		return []*Node{layers.Dense(ctx.In("out"), h, true, 10)}
	}
}

// bnAverages returns the batch-norm mean, variance and weight after one step of cfg.
func bnAverages(t *testing.T, backend backends.Backend, cfg Config, x, y *tensors.Tensor) map[string][]float32 {
	t.Helper()
	opt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(17))
	trainer := NewTrainer(backend, ctx, bnMLP(16), opt.Loss(), opt, nil, nil)
	if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, name := range []string{"mean", "variance", "avg_weight"} {
		v := ctx.GetVariableByScopeAndName("/bn/batch_normalization", name)
		if v == nil {
			for v2 := range ctx.IterVariables() {
				if v2.Name() == name {
					v = v2
				}
			}
		}
		if v == nil {
			t.Fatalf("no batch-norm variable %q", name)
		}
		out[name] = flatFloat32(v.MustValue())
	}
	return out
}

func TestBatchNormAveragesMoveOncePerStep(t *testing.T) {
	backend, err := backends.NewWithConfig("cpu:gemm=go")
	if err != nil {
		t.Fatalf("project backend: %v", err)
	}
	x, y := mnistSample(t, 64)
	want := bnAverages(t, backend, DefaultConfig(ERM), x, y)
	if want["avg_weight"][0] != 1 {
		t.Fatalf("ERM step: batch-norm average weight %v, want 1 (one update)", want["avg_weight"][0])
	}
	for _, name := range []string{"sam", "tsam", "tsam-hmc"} {
		cfg := methodCases()[name]
		got := bnAverages(t, backend, cfg, x, y)
		for k, w := range want {
			g := got[k]
			for i := range w {
				if g[i] != w[i] {
					t.Fatalf("%s: batch-norm %s[%d] = %g after one step, ERM gives %g", name, k, i, g[i], w[i])
				}
			}
		}
	}
}
