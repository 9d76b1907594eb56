package run

import (
	"errors"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/tsamgo/tsam/sam"
)

// MethodConfig translates a run's configuration into the sam package's, for a run of
// fullSteps optimizer steps (the length the linear t schedules stretch over): the one place the
// CLI, run and the study's cost estimate get a run's sam.Config from.
func MethodConfig(cfg Config, fullSteps int) sam.Config {
	sc := sam.DefaultConfig(sam.Method(cfg.Method))
	sc.Rho, sc.S, sc.T, sc.R, sc.RRelative = cfg.Rho, cfg.S, cfg.T, cfg.R, cfg.RRelative
	sc.Delta = cfg.Delta
	sc.TSchedule = cfg.schedule()
	sc.TotalSteps = fullSteps
	sc.Sampler = cfg.Sampler
	sc.HMCSteps = cfg.HMCSteps
	if cfg.Naive != "" {
		sc.Naive = cfg.Naive
	}
	sc.PGNLambda = cfg.Lambda
	sc.Base = sam.BaseSGD
	if cfg.Optimizer != "" {
		sc.Base = cfg.Optimizer // run's names are sam's Base names
	}
	sc.LearningRate, sc.Momentum, sc.WeightDecay = cfg.LR, cfg.Momentum, cfg.WeightDecay
	sc.LabelSmoothing = cfg.LabelSmoothing
	return sc
}

// PlannedSteps is the number of optimizer steps of a complete run: Epochs passes over the
// training set, except for ESAM1 and runs with Budget "tsam", which run as many steps as
// spend the gradient evaluations of TSAM with the run's s, sampler and r for Epochs passes:
// steps·evals(TSAM)/evals(method), rounded (the paper's Table 5 gave the baselines TSAM's
// runtime). ESAM2's forward-only trial steps are not counted.
func PlannedSteps(cfg Config, stepsPerEpoch int) int {
	ref, own := budgetEvals(cfg)
	return int(math.Round(float64(cfg.Epochs*stepsPerEpoch) * float64(ref) / float64(own)))
}

// BudgetMultiple is the factor by which a run's gradient budget stretches its Epochs: TSAM's
// gradient evaluations per step over the method's own for ESAM1 and runs with Budget "tsam"
// (3 for PGN or ESAM1 against TSAM with s = 3 and a random start), 1 for every other run.
func BudgetMultiple(cfg Config) float64 {
	ref, own := budgetEvals(cfg)
	return float64(ref) / float64(own)
}

// budgetEvals returns the gradient evaluations per step of the run's budget and of its
// method (equal when the run trains its own Epochs).
func budgetEvals(cfg Config) (budget, own int) {
	steps := max(cfg.Epochs, 1) // the schedules' length does not change the count
	own = MethodConfig(cfg, steps).GradEvalsPerStep()
	if cfg.Method != "esam1" && (cfg.Budget != "tsam" || cfg.Method == "tsam") {
		return own, own
	}
	ref := cfg
	ref.Method = "tsam"
	return MethodConfig(ref, steps).GradEvalsPerStep(), own
}

// methodFlags names the flag of each sam.Config field a run sets; a field not listed (one the
// run leaves at sam's default) is blamed on -method.
var methodFlags = map[string]string{
	"Method": "method", "Rho": "rho", "S": "s", "T": "t", "Delta": "delta", "TSchedule": "t-schedule",
	"Sampler": "sampler", "R": "r", "Naive": "naive", "HMCSteps": "hmc-steps", "PGNLambda": "lambda",
	"Base": "optimizer", "LearningRate": "lr", "Momentum": "momentum", "WeightDecay": "weight-decay",
	"LabelSmoothing": "label-smoothing",
}

// validateMethod checks the method's hyperparameters with the sam package (the one
// validation of a method), as an *InputError naming the flag of the first field at fault.
func validateMethod(cfg Config) error {
	err := MethodConfig(cfg, max(1, cfg.Epochs)).Validate()
	if err == nil {
		return nil
	}
	flag := "method"
	var fe *sam.FieldError
	if errors.As(err, &fe) && methodFlags[fe.Field] != "" {
		flag = methodFlags[fe.Field]
	}
	return inputErrorf(flag, "%v", err)
}

// buildTrainer builds the GoMLX trainer of cfg's method: a sam.Optimizer (every method,
// ERM included, goes through it, so all record the same per-step statistics).
func buildTrainer(cfg Config, fullSteps int, backend backends.Backend, ctx *context.Context, model train.ModelFn) (*train.Trainer, error) {
	opt, err := sam.New(MethodConfig(cfg, fullSteps))
	if err != nil {
		return nil, inputErrorf("method", "%v", err)
	}
	return sam.NewTrainer(backend, ctx, model, opt.Loss(), opt,
		[]metrics.Interface{metrics.NewMovingAverageSparseCategoricalAccuracy("Moving Average Accuracy", "~acc", 0.01)},
		[]metrics.Interface{metrics.NewSparseCategoricalAccuracy("Mean Accuracy", "#acc")}), nil
}

// lossFn is the training loss of cfg: cross-entropy with its label smoothing.
func lossFn(cfg Config) (train.LossFn, error) {
	l, err := sam.SmoothedCrossEntropy(cfg.LabelSmoothing)
	if err != nil {
		return nil, inputErrorf("label-smoothing", "%v", err)
	}
	return l, nil
}

// stepStats reads the sam statistics of the last step: the loss at θ, the mean and largest
// loss at θ+ε_j, the largest and smallest tilted weight, the effective sample size, the
// HMC acceptance rate, gradient evaluations and t. Nothing when no statistics exist.
func stepStats(ctx *context.Context) map[string]float64 {
	st, err := sam.ReadStats(ctx)
	if err != nil || len(st.Losses) == 0 {
		return nil
	}
	mean, lmax := 0.0, math.Inf(-1)
	for _, l := range st.Losses {
		mean += l / float64(len(st.Losses))
		lmax = math.Max(lmax, l)
	}
	cos := 0.0
	for _, c := range st.HMCCos {
		cos += c / float64(len(st.HMCCos))
	}
	wmax, wmin := math.Inf(-1), math.Inf(1)
	for _, w := range st.Weights {
		wmax, wmin = math.Max(wmax, w), math.Min(wmin, w)
	}
	return map[string]float64{
		"loss_clean": st.LossClean, "loss_perturbed_mean": mean, "loss_perturbed_max": lmax,
		"weight_max": wmax, "weight_min": wmin, "ess": st.ESS, "hmc_accept": st.HMCAccept, "hmc_cos": cos,
		"grad_evals": float64(st.GradEvals), "t": st.T,
	}
}
