package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sam"
)

const trainUsage = `Trains one model with one method on one data set and keeps the run in a folder:
config.json, metrics.jsonl, metrics.csv, curves.png, summary.json and GoMLX checkpoints
in checkpoint/. Without flags: TSAM on MNIST with an MLP, 98% test accuracy in
about half a minute on two cores.

  tsam train -method sam -epochs 5 -out runs/mnist-sam
  tsam train -resume -out runs/mnist-sam     (continue a killed run)

See docs/TRAINING.md.`

func init() {
	register("train", "train one model with one method (TSAM, SAM, ERM, ...) into a run folder", cmdTrain)
}

// trainFlags holds the values of tsam train's flags that are not part of run.Config.
type trainFlags struct {
	out            string
	resume, force  bool
	checkpointFreq time.Duration
}

// bindTrainFlags defines tsam train's flags on fs, writing into cfg and tf.
func bindTrainFlags(fs *flag.FlagSet, cfg *run.Config, tf *trainFlags) {
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data set: mnist, fashion-mnist, cifar10, cifar100, imagefolder (your images: -data-dir DIR with train/<class>/*.jpg), sst2 or tsv (your sentences: -data-dir DIR with train.tsv and test.tsv or dev.tsv); see docs/DATA.md")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "folder with the data set files (default: the built-in location)")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "model: mlp-W1-W2-... (hidden widths), mlp, cnn, resnet20, resnet18, wrn16-8, vit; transformer for sst2 and tsv")
	fs.StringVar(&cfg.Head, "head", cfg.Head, "initialisation of the logits layer: zero (the first prediction is uniform, the loss starts at ln K) or he (GoMLX's He-normal, as the other layers; what runs before this flag used)")
	fs.StringVar(&cfg.Method, "method", cfg.Method, "erm, sam, asam, esam1, esam2, pgn, rsam or tsam")
	fs.Float64Var(&cfg.T, "t", cfg.T, "TSAM tilt t ≥ 0")
	fs.IntVar(&cfg.S, "s", cfg.S, "TSAM: number of sampled perturbations")
	fs.Float64Var(&cfg.Rho, "rho", cfg.Rho, "ascent radius ρ (SAM family and TSAM)")
	fs.Float64Var(&cfg.Delta, "delta", cfg.Delta, "TSAM sampling tilt δ in [0, t]; negative means t/2")
	fs.Float64Var(&cfg.R, "r", cfg.R, "TSAM: radius of the random perturbation before the ascent step, relative to each weight tensor's norm (see -r-relative)")
	fs.BoolVar(&cfg.RRelative, "r-relative", cfg.RRelative, "TSAM: -r is relative (each variable's random start has norm ≈ r·‖v‖); -r-relative=false for an absolute radius, as the paper's r = 20")
	fs.StringVar(&cfg.Sampler, "sampler", cfg.Sampler, "TSAM sampler: practical, hmc or naive")
	fs.StringVar(&cfg.TSchedule, "t-schedule", cfg.TSchedule, "schedule of t over training: "+strings.Join(run.TSchedules, ", ")+" (linear from 0 to -t, or from -t to 0)")
	fs.Float64Var(&cfg.Lambda, "lambda", cfg.Lambda, "PGN mixing weight λ in [0, 1]")
	fs.IntVar(&cfg.HMCSteps, "hmc-steps", cfg.HMCSteps, "TSAM hmc sampler: leapfrog steps N per sample")
	fs.StringVar(&cfg.Naive, "naive", cfg.Naive, "TSAM naive sampler: draw ε at the random-start radius -r (start, as the paper's code; empty means start) or in the -rho ball (mu)")
	fs.IntVar(&cfg.TestSubset, "test-subset", cfg.TestSubset, "evaluate on a fixed choice of N test examples, the same for every seed and method (0: the whole test split)")
	fs.IntVar(&cfg.EvalEvery, "eval-every", cfg.EvalEvery, "evaluate after every N-th epoch and the last (0 or 1: every epoch); e.g. 3 for a run given 3× the epochs by -budget tsam, so that it is evaluated as often as the runs it is compared with")
	fs.StringVar(&cfg.Budget, "budget", cfg.Budget, "tsam: train as many steps as spend TSAM's gradient evaluations (same -s, -sampler, -r) in -epochs, as the paper's Table 5 gave the baselines; empty: -epochs passes")
	fs.StringVar(&cfg.Optimizer, "optimizer", cfg.Optimizer, "base optimizer: sgd (with -momentum and -weight-decay; the default when empty), adam, or adamw (with decoupled -weight-decay)")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "learning rate of the base optimizer (constant; with -optimizer adam or adamw the default is 0.001)")
	fs.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "momentum of the base SGD optimizer")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "weight decay of the base optimizer")
	fs.Float64Var(&cfg.LabelSmoothing, "label-smoothing", cfg.LabelSmoothing, "label smoothing of the cross-entropy loss")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the training set")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "mini-batch size")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of initialization, data order, splits, label noise and sampling")
	fs.Float64Var(&cfg.Noise, "noise", cfg.Noise, "fraction of training labels replaced by a different class")
	fs.IntVar(&cfg.Subset, "subset", cfg.Subset, "train on this many examples (0: all)")
	fs.Float64Var(&cfg.Val, "val", cfg.Val, "fraction of the training set held out for validation")
	fs.BoolVar(&cfg.Augment, "augment", cfg.Augment, "train on random crops (4-pixel padding) and horizontal flips, the CIFAR recipe")
	fs.BoolVar(&cfg.Normalize, "normalize", cfg.Normalize, "standardise image inputs per channel with the training images' mean and deviation (-normalize=false: raw [0,1] pixels)")
	fs.IntVar(&cfg.MaxSteps, "max-steps", cfg.MaxSteps, "stop after this many steps (0: run all epochs); for smoke tests")
	fs.StringVar(&cfg.Backend, "backend", cfg.Backend, "GoMLX backend configuration: cpu, cpu:gemm=go, …; xla:/abs/path/plugin.so or xla:cuda in a build with -tags xla (docs/BACKEND.md) (default: $GOMLX_BACKEND, else the project's CPU backend)")
	fs.DurationVar(&tf.checkpointFreq, "checkpoint-every", time.Duration(cfg.CheckpointEvery), "time between checkpoints (one is also written after every epoch)")
	fs.StringVar(&tf.out, "out", tf.out, "run folder (default runs/DATA-METHOD-seedSEED)")
	fs.BoolVar(&tf.resume, "resume", tf.resume, "continue the run in -out from its newest checkpoint")
	fs.BoolVar(&tf.force, "force", tf.force, "start afresh in a non-empty -out, deleting the previous run's files there")
}

func cmdTrain(args []string, stdout, stderr io.Writer) error {
	cfg, tf, err := parseTrainFlags(args, stderr)
	if err != nil {
		return err
	}
	opts := run.Options{Resume: tf.resume, Force: tf.force, Log: stdout}
	if isTerminal(stdout) {
		opts.Progress = stdout
	}
	sum, err := run.Train(cfg, tf.out, opts)
	if err != nil {
		return asUsageError(err)
	}
	fmt.Fprintf(stdout, "done: %d steps in %.0f s, test accuracy %.4f, test loss %.4f; results in %s\n",
		sum.Steps, sum.WallSeconds, sum.Final.TestAcc, sum.Final.TestLoss, tf.out)
	return nil
}

// parseTrainFlags parses args over the defaults or, with -resume, over the configuration
// stored in the run folder, so that only the flags given explicitly are compared with it.
func parseTrainFlags(args []string, stderr io.Writer) (run.Config, trainFlags, error) {
	cfg := run.DefaultConfig()
	var tf trainFlags
	fs := newFlagSet("train", trainUsage, stderr)
	bindTrainFlags(fs, &cfg, &tf)
	if err := parseFlags(fs, args); err != nil {
		return cfg, tf, err
	}
	if tf.out == "" {
		tf.out = filepath.Join("runs", fmt.Sprintf("%s-%s-seed%d", cfg.Data, cfg.Method, cfg.Seed))
	}
	given := givenFlags(fs)
	if (cfg.Optimizer == sam.BaseAdam || cfg.Optimizer == sam.BaseAdamW) && !given["lr"] && !tf.resume {
		cfg.LR = sam.DefaultLearningRate(cfg.Optimizer) // SGD's 0.05 diverges under Adam
	}
	if cfg.Method == string(sam.ASAM) && !given["rho"] && !tf.resume {
		cfg.Rho = sam.DefaultConfig(sam.ASAM).Rho // ASAM's ρ is in units of |θ|: its own default
	}
	if tf.resume {
		if stored, err := run.ReadConfig(tf.out); err == nil {
			cfg = stored
			cfg.CheckpointEvery = run.DefaultConfig().CheckpointEvery
			cfg.MaxSteps, cfg.Backend = 0, ""
			again := newFlagSet("train", trainUsage, io.Discard)
			bindTrainFlags(again, &cfg, &tf)
			if err := parseFlags(again, args); err != nil {
				return cfg, tf, err
			}
		}
	}
	cfg.CheckpointEvery = run.Duration(tf.checkpointFreq)
	return cfg, tf, checkApplies(fs, cfg)
}

// methodFlags lists, for each flag that only some methods read, those methods. ESAM1 reads
// TSAM's sampling flags because its number of steps is TSAM's gradient budget, and so does
// any method run with -budget tsam (budgetFlags).
var methodFlags = map[string][]string{
	"t":          {"tsam"},
	"delta":      {"tsam"},
	"t-schedule": {"tsam"},
	"s":          {"tsam", "esam1"},
	"sampler":    {"tsam", "esam1"},
	"r":          {"tsam", "esam1"},
	"r-relative": {"tsam", "esam1"},
	"hmc-steps":  {"tsam", "esam1"},
	"naive":      {"tsam"},
	"rho":        {"sam", "asam", "esam1", "esam2", "pgn", "rsam", "tsam"},
	"lambda":     {"pgn"},
	"budget":     {"erm", "sam", "asam", "esam2", "pgn", "rsam"},
}

// budgetFlags are the TSAM flags a -budget tsam run reads to size its budget.
var budgetFlags = []string{"s", "sampler", "r", "r-relative", "hmc-steps"}

// checkApplies refuses a flag given explicitly that the run would not read (-t with
// -method erm, -momentum with Adam, -hmc-steps without -sampler hmc): accepting it would
// record a value in config.json that had no effect on the run.
func checkApplies(fs *flag.FlagSet, cfg run.Config) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		budget := cfg.Budget == "tsam" && slices.Contains(budgetFlags, f.Name)
		if methods, ok := methodFlags[f.Name]; ok && !slices.Contains(methods, cfg.Method) && !budget {
			err = badFlag(f.Name, "does not apply to -method %s (only to %s); drop it", cfg.Method, strings.Join(methods, ", "))
		}
		switch {
		case err != nil:
		case f.Name == "naive" && cfg.Sampler != "naive":
			err = badFlag(f.Name, "applies to -sampler naive only, not %s; drop it or pass -sampler naive", cfg.Sampler)
		case f.Name == "hmc-steps" && cfg.Sampler != "hmc":
			err = badFlag(f.Name, "applies to -sampler hmc only, not %s; drop it or pass -sampler hmc", cfg.Sampler)
		case f.Name == "momentum" && cfg.Optimizer != "" && cfg.Optimizer != "sgd":
			err = badFlag(f.Name, "applies to the SGD optimizer only, not -optimizer %s; drop it", cfg.Optimizer)
		}
	})
	return err
}

// asUsageError turns the run package's input errors into usage errors (exit status 2).
func asUsageError(err error) error {
	var ie *run.InputError
	switch {
	case errors.As(err, &ie) && ie.Flag == "":
		return &usageError{msg: ie.Msg}
	case errors.As(err, &ie):
		return badFlag(ie.Flag, "%s", ie.Msg)
	}
	return err
}

// isTerminal reports whether w is the process's standard output or error attached to a
// terminal: only there may progress lines with carriage returns and escape codes go.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || (f != os.Stdout && f != os.Stderr) {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
