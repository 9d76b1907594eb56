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
)

// mlp512 is the ENGINE.md reference model, 784-512-512-10 with ReLU.
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
	config := os.Getenv("SAM_BENCH_BACKEND")
	if config == "" {
		config = "cpu"
	}
	backend, err := backends.NewWithConfig(config)
	if err != nil {
		b.Fatal(err)
	}
	x, y := mnistSample(b, 64)
	loss, _ := SmoothedCrossEntropy(0.1)
	setup := BenchSetup{Backend: backend, Model: mlp512(), Loss: loss,
		Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{y}, Warmup: 2, Steps: 7, Seed: 1}
	for range b.N {
		rows, err := BenchmarkMethods(setup, DefaultBenchCases())
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("MLP 784-512-512-10, batch 64, backend %s\n%s", backend.Name(), FormatBenchTable(rows))
	}
}
