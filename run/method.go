package run

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// trainerParts is what a method hands to the training loop.
type trainerParts struct {
	trainer *train.Trainer
	// statNames names the per-step statistics that follow the trainer's built-in train
	// metrics (loss, moving averages) and the accuracy, in the metrics of each step.
	statNames []string
}

// buildTrainer builds the GoMLX trainer of cfg's method. Stand-in until the sam package
// lands: ERM with plain SGD.
func buildTrainer(cfg Config, backend backends.Backend, ctx *context.Context, model train.ModelFn, loss train.LossFn) (*trainerParts, error) {
	if cfg.Method != "erm" {
		return nil, inputErrorf("method", "%q needs the sam package, which this build does not have yet; use -method erm", cfg.Method)
	}
	opt := optimizers.StochasticGradientDescent().WithDecay(false).WithLearningRate(cfg.LR).Done()
	t := train.NewTrainer(backend, ctx, model, loss, opt,
		[]metrics.Interface{metrics.NewMovingAverageSparseCategoricalAccuracy("Moving Average Accuracy", "~acc", 0.01)},
		[]metrics.Interface{metrics.NewSparseCategoricalAccuracy("Mean Accuracy", "#acc")})
	return &trainerParts{trainer: t}, nil
}
