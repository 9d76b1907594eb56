package models

import (
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// BenchmarkTrainStep measures training throughput (examples/s) of each model at batch 64
// on the project's CPU backend: 32×32×3 images for the image models (28×28×1 for the MLP
// and the CNN), sequences of 64 tokens from a 10,000-word vocabulary for the transformer.
// The first step (graph compilation) is not timed.
//
//	go test -run '^$' -bench BenchmarkTrainStep -benchtime 3x ./models/
func BenchmarkTrainStep(b *testing.B) {
	const batch = 64
	cifarX, cifarY := randImages(batch, 32, 32, 3, 10)
	mnistX, mnistY := randImages(batch, 28, 28, 1, 10)
	tokX, tokY := randTokens(batch, 64, 10000, 2)
	cases := []struct {
		name string
		opts Options
		x, y *tensors.Tensor
	}{
		{"mlp", Options{NumClasses: 10}, mnistX, mnistY},
		{"cnn", Options{NumClasses: 10}, mnistX, mnistY},
		{"resnet8", Options{NumClasses: 10}, cifarX, cifarY},
		{"resnet20", Options{NumClasses: 10}, cifarX, cifarY},
		{"resnet32", Options{NumClasses: 10}, cifarX, cifarY},
		{"resnet18", Options{NumClasses: 10}, cifarX, cifarY},
		{"wrn16-8", Options{NumClasses: 10}, cifarX, cifarY},
		{"vit", Options{NumClasses: 10}, cifarX, cifarY},
		{"transformer", Options{NumClasses: 2, VocabSize: 10000, MaxLen: 64}, tokX, tokY},
	}
	be := projectBackend(b)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			fn, err := New(c.name, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			tr := train.NewTrainer(be, seededContext(), fn, losses.SparseCategoricalCrossEntropyLogits,
				optimizers.StochasticGradientDescent().Done(), nil, nil)
			step := func() {
				if _, err := tr.TrainStep(nil, []*tensors.Tensor{c.x}, []*tensors.Tensor{c.y}); err != nil {
					b.Fatal(err)
				}
			}
			step() // compile
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				step()
			}
			b.ReportMetric(float64(batch*b.N)/time.Since(start).Seconds(), "examples/s")
		})
	}
}
