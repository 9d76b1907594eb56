package sam

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestZZTmpBench(t *testing.T) {
	backend, _ := backends.NewWithConfig("cpu")
	x, y := mnistSample(t, 64)
	loss, _ := SmoothedCrossEntropy(0.1)
	setup := BenchSetup{Backend: backend, Model: mlp512(), Loss: loss,
		Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{y}, Warmup: 1, Steps: 6, Seed: 1}
	_, err := BenchmarkMethods(setup, []BenchCase{{"tsam", DefaultConfig(TSAM)}})
	if err != nil { t.Fatal(err) }
}
