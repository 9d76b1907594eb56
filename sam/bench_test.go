package sam

import (
	"fmt"
	"os"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/models"
)

// mlp512 is the reference MLP of the benchmarks, 784-512-512-10 with ReLU.
func mlp512() train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := activations.Relu(layers.Dense(ctx.In("h1"), inputs[0], true, 512))
		h = activations.Relu(layers.Dense(ctx.In("h2"), h, true, 512))
		return []*Node{layers.Dense(ctx.In("out"), h, true, 10)}
	}
}

// BenchmarkMethodTable prints, in one run on the same model and batch, the step time and
// gradient evaluations of ERM, SAM, TSAM s=3/5 and HMC N=2 and their ratios to ERM.
// Backend: $SAM_BENCH_BACKEND, default "cpu" (the project's backend).
//
//	go test -run '^$' -bench BenchmarkMethodTable -benchtime 1x ./sam/
func BenchmarkMethodTable(b *testing.B) {
	x, y := mnistSample(b, 64)
	benchmarkMethodTable(b, "MLP 784-512-512-10, batch 64", mlp512(), x, y, 7)
}

// BenchmarkMethodTableCNN is BenchmarkMethodTable on models.CNN (two conv stages, 32 and 64
// channels, dense 128) on 28×28 MNIST images: far more arithmetic per parameter than the
// MLP, so per-parameter work (noise, vector updates) weighs less.
//
//	go test -run '^$' -bench BenchmarkMethodTableCNN -benchtime 1x ./sam/
func BenchmarkMethodTableCNN(b *testing.B) {
	x, y := mnistSample(b, 64)
	x = tensors.FromFlatDataAndDimensions(flatFloat32(x), 64, 28, 28, 1)
	benchmarkMethodTable(b, "CNN (conv32-conv64-dense128), MNIST, batch 64", models.CNN(models.CNNConfig{NumClasses: 10}), x, y, 5)
}

// benchmarkMethodTable prints the method table of DefaultBenchCases for model on one batch,
// on the backend $SAM_BENCH_BACKEND (default "cpu", the project's backend).
func benchmarkMethodTable(b *testing.B, title string, model train.ModelFn, x, y *tensors.Tensor, steps int) {
	config := os.Getenv("SAM_BENCH_BACKEND")
	if config == "" {
		config = "cpu"
	}
	backend, err := backends.NewWithConfig(config)
	if err != nil {
		b.Fatal(err)
	}
	loss, _ := SmoothedCrossEntropy(0.1)
	setup := BenchSetup{Backend: backend, Model: model, Loss: loss,
		Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{y}, Warmup: 2, Steps: steps, Seed: 1}
	for range b.N {
		rows, err := BenchmarkMethods(setup, DefaultBenchCases())
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("%s, backend %s\n%s", title, backend.Name(), FormatBenchTable(rows))
	}
}
