// Package run trains one model with one method on one data set and keeps everything about
// the run in a folder, so that it can be resumed, compared and evaluated later.
//
// # Training
//
//	cfg := run.DefaultConfig()          // TSAM, MNIST, MLP 784-256-256-10
//	cfg.Method, cfg.Epochs = "sam", 5
//	sum, err := run.Train(cfg, "runs/mnist-sam", run.Options{Log: os.Stdout})
//
// Train validates the configuration, the data set and the folder before writing anything;
// bad input is an *InputError naming the command-line flag at fault (IsInputError).
// Data order depends only on (Seed, epoch), model initialization and the context's random
// state on Seed, and the random state is part of every checkpoint, so Options.Resume
// continues a killed run to the same final weights as an uninterrupted one.
//
// # Run folder (the contract other tools read)
//
//   - config.json: the Config (data, data_dir, model, method, every hyperparameter, seed,
//     noise, epochs, batch, lr ...), written when the run starts.
//   - summary.json: a Summary, written when the run ends: the Config again, the final
//     EpochMetrics, best validation accuracy, steps, wall time, versions (Go, GoMLX,
//     module), backend.
//   - metrics.jsonl: one EpochMetrics per line per epoch (train/val/test loss and accuracy,
//     mean batch loss, step time, the method's statistics averaged over the epoch);
//     metrics.csv: the same as a table.
//   - curves.png: loss and accuracy against epoch.
//   - checkpoint/: GoMLX checkpoints (context/checkpoints format: checkpoint-n*.json and
//     .bin), the newest two kept. Each is written into checkpoint/.staging and moved in
//     with renames, so a killed process never leaves a half-written newest checkpoint.
//
// Every file is written atomically (internal/atomicfile).
//
// # Reading a run back
//
// Open(dir) rebuilds a finished or checkpointed run for evaluation: its Config, the GoMLX
// backend and a context holding the trained variables, the model and loss functions, and
// its train, validation and test data as finite train.Dataset values. Compare(dirs, out)
// writes a markdown table of final numbers and an overlay of the curves.
package run

import (
	"fmt"
	"github.com/tsamgo/tsam/models"
	"os"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/data"
)

// Run is a trained run read back from its folder by Open.
type Run struct {
	Dir    string
	Config Config
	// Summary is nil when the run has not finished (only checkpoints exist).
	Summary *Summary
	Metrics []EpochMetrics
	Backend backends.Backend
	// Context holds the trained variables of the newest checkpoint. They are handed to
	// the context as the model's graph asks for them, so build graphs with
	// Context.Reuse() or Checked(false).
	Context *context.Context
	// Model maps the inputs (images [B, H, W, C] float32, or token ids [B, MaxLen] int32
	// for text sets) to logits [B, classes].
	Model train.ModelFn
	// HessianModel is Model built from ops GoMLX can differentiate twice (the same function
	// of the same variables, slower): for Hessian-vector products.
	HessianModel train.ModelFn
	// Loss maps labels [B, 1] int32 and logits to the mean training loss of the run
	// (with its label smoothing).
	Loss train.LossFn
	// Train, Val and Test serve each set once per Reset, in order, in batches of
	// EvalBatch: inputs as Model takes them, labels [B, 1] int32. Train has the run's
	// (possibly noisy) training labels; Val is nil when the run held out none.
	Train, Val, Test *data.Dataset
	// NumTrain, NumVal and NumTest are the sizes of the three sets.
	NumTrain, NumVal, NumTest int
}

// EvalBatch is the batch size of the datasets of a Run.
const EvalBatch = evalBatch

// Open reads the run in dir: configuration, newest checkpoint and data. A missing run or
// a damaged checkpoint is an *InputError.
func Open(dir string) (*Run, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, inputErrorf("", "%s does not hold a tsam run: %v", dir, err)
	}
	r := &Run{Dir: dir, Config: cfg}
	if r.Summary, err = ReadSummary(dir); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if r.Metrics, err = ReadMetrics(dir); err != nil {
		return nil, err
	}
	sp, err := loadSplits(cfg)
	if err != nil {
		return nil, err
	}
	if r.Backend, err = newBackend(cfg.Backend); err != nil {
		return nil, err
	}
	r.Context = newContext(cfg)
	if _, err := loadCheckpoint(r.Context, dir, ""); err != nil {
		return nil, err
	}
	if r.Model, err = modelFn(cfg, sp); err != nil {
		return nil, err
	}
	r.HessianModel = models.TwiceDifferentiable(r.Model)
	if r.Loss, err = lossFn(cfg); err != nil {
		return nil, err
	}
	if r.Train, err = evalStream(sp.train); err != nil {
		return nil, err
	}
	if r.Test, err = evalStream(sp.test); err != nil {
		return nil, err
	}
	r.NumTrain, r.NumTest = sp.train.N(), sp.test.N()
	if sp.val != nil {
		if r.Val, err = evalStream(sp.val); err != nil {
			return nil, err
		}
		r.NumVal = sp.val.N()
	}
	return r, nil
}

// String describes the run in one line.
func (r *Run) String() string {
	return fmt.Sprintf("%s: %s %s on %s (seed %d)", r.Dir, r.Config.Method, r.Config.Model, r.Config.Data, r.Config.Seed)
}
