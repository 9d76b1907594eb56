package sam

// The configuration as root-scope context parameters, written into every checkpoint.

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/tsamgo/tsam/internal/floatlist"
	"github.com/tsamgo/tsam/tilt"
)

// Context parameter names (all in the context's root scope). ToContext writes them and
// FromContext reads them, so the CLI and checkpoints carry the configuration. The learning
// rate uses GoMLX's own optimizers.ParamLearningRate ("learning_rate").
const (
	ParamMethod         = "sam_method"
	ParamRho            = "sam_rho"
	ParamS              = "sam_s"
	ParamT              = "sam_t"
	ParamDelta          = "sam_delta"
	ParamTSchedule      = "sam_t_schedule"
	ParamTotalSteps     = "sam_total_steps"
	ParamSampler        = "sam_sampler"
	ParamR              = "sam_r"
	ParamRRelative      = "sam_r_relative"
	ParamNoise          = "sam_noise"
	ParamMu             = "sam_mu"
	ParamNaive          = "sam_naive"
	ParamMuSigma        = "sam_mu_sigma"
	ParamHMCSteps       = "sam_hmc_steps"
	ParamHMCSigma       = "sam_hmc_sigma"
	ParamHMCBeta        = "sam_hmc_beta"
	ParamASAMEta        = "sam_asam_eta"
	ParamESAM2Scales    = "sam_esam2_scales" // comma-separated multiples of ρ, e.g. "0.5,1,2"
	ParamPGNLambda      = "sam_pgn_lambda"
	ParamRSAMLambda     = "sam_rsam_lambda"
	ParamRSAMGamma      = "sam_rsam_gamma"
	ParamBase           = "sam_base"
	ParamMomentum       = "sam_momentum"
	ParamWeightDecay    = "sam_weight_decay"
	ParamLabelSmoothing = "sam_label_smoothing"
)

// ToContext stores every field of c as a context parameter (root scope).
func (c Config) ToContext(ctx *context.Context) {
	ctx.InAbsPath(context.RootScope).SetParams(c.params())
}

// Mismatch compares c with the configuration stored in ctx's parameters (e.g. loaded from a
// checkpoint) and names the first parameter whose stored value differs, with both values;
// "" when they agree. Parameters absent from ctx (checkpoints written before they existed)
// are not compared, nor are those in skip.
func (c Config) Mismatch(ctx *context.Context, skip ...string) string {
	root := ctx.InAbsPath(context.RootScope)
	want := c.params()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		got, found := root.GetParam(k)
		if !found || slices.Contains(skip, k) {
			continue
		}
		if name, ok := got.(string); ok && k == ParamTSchedule {
			got = storedSchedule(name)
		}
		if g, w := fmt.Sprint(got), fmt.Sprint(want[k]); g != w {
			return fmt.Sprintf("%s = %s in the checkpoint, %s in the configuration", k, g, w)
		}
	}
	return ""
}

// params is c as context parameters, the ones ToContext writes.
func (c Config) params() map[string]any {
	return map[string]any{
		ParamMethod: string(c.Method), ParamRho: c.Rho, ParamS: c.S, ParamT: c.T,
		ParamDelta: c.Delta, ParamTSchedule: c.TSchedule.String(), ParamTotalSteps: c.TotalSteps,
		ParamSampler: c.Sampler, ParamR: c.R, ParamRRelative: c.RRelative, ParamNoise: c.Noise, ParamMu: c.Mu, ParamMuSigma: c.MuSigma, ParamNaive: c.Naive,
		ParamHMCSteps: c.HMCSteps, ParamHMCSigma: c.HMCSigma, ParamHMCBeta: c.HMCBeta,
		ParamASAMEta: c.ASAMEta, ParamESAM2Scales: floatlist.Format(c.ESAM2Scales),
		ParamPGNLambda: c.PGNLambda, ParamRSAMLambda: c.RSAMLambda, ParamRSAMGamma: c.RSAMGamma,
		ParamBase: c.Base, optimizers.ParamLearningRate: c.LearningRate, ParamMomentum: c.Momentum,
		ParamWeightDecay: c.WeightDecay, ParamLabelSmoothing: c.LabelSmoothing,
	}
}

// storedSchedule reads a stored sam_t_schedule: checkpoints written before the t schedules had
// one vocabulary name tilt.LinearUp "increase" and tilt.LinearDown "decrease".
func storedSchedule(name string) string {
	switch name {
	case "increase":
		return tilt.LinearUp.String()
	case "decrease":
		return tilt.LinearDown.String()
	}
	return name
}

// FromContext reads the configuration from context parameters: DefaultConfig of the
// "sam_method" parameter (tsam when absent), overridden by every parameter present. It
// returns Validate's error for invalid values (including wrongly typed parameters).
func FromContext(ctx *context.Context) (cfg Config, err error) {
	defer func() {
		// context.GetParamOr panics on a parameter that cannot be converted to the field's type.
		if r := recover(); r != nil {
			err = fmt.Errorf("sam: reading context parameters: %v", r)
		}
	}()
	ctx = ctx.InAbsPath(context.RootScope)
	method, err := ParseMethod(context.GetParamOr(ctx, ParamMethod, string(TSAM)))
	if err != nil {
		return Config{}, err
	}
	c := DefaultConfig(method)
	f := func(key string, dst *float64) { *dst = context.GetParamOr(ctx, key, *dst) }
	i := func(key string, dst *int) { *dst = context.GetParamOr(ctx, key, *dst) }
	s := func(key string, dst *string) { *dst = context.GetParamOr(ctx, key, *dst) }
	f(ParamRho, &c.Rho)
	i(ParamS, &c.S)
	f(ParamT, &c.T)
	f(ParamDelta, &c.Delta)
	if c.TSchedule, err = tilt.ParseScheduleKind(storedSchedule(context.GetParamOr(ctx, ParamTSchedule, c.TSchedule.String()))); err != nil {
		return Config{}, fmt.Errorf("sam: context parameter %s: %w", ParamTSchedule, err)
	}
	i(ParamTotalSteps, &c.TotalSteps)
	s(ParamSampler, &c.Sampler)
	f(ParamR, &c.R)
	c.RRelative = context.GetParamOr(ctx, ParamRRelative, c.RRelative)
	s(ParamNoise, &c.Noise)
	s(ParamMu, &c.Mu)
	s(ParamNaive, &c.Naive)
	f(ParamMuSigma, &c.MuSigma)
	i(ParamHMCSteps, &c.HMCSteps)
	f(ParamHMCSigma, &c.HMCSigma)
	f(ParamHMCBeta, &c.HMCBeta)
	f(ParamASAMEta, &c.ASAMEta)
	scales := context.GetParamOr(ctx, ParamESAM2Scales, floatlist.Format(c.ESAM2Scales))
	if c.ESAM2Scales, err = floatlist.Parse(scales); err != nil {
		return Config{}, fmt.Errorf("sam: context parameter %s: %w", ParamESAM2Scales, err)
	}
	f(ParamPGNLambda, &c.PGNLambda)
	f(ParamRSAMLambda, &c.RSAMLambda)
	f(ParamRSAMGamma, &c.RSAMGamma)
	s(ParamBase, &c.Base)
	f(optimizers.ParamLearningRate, &c.LearningRate)
	f(ParamMomentum, &c.Momentum)
	f(ParamWeightDecay, &c.WeightDecay)
	f(ParamLabelSmoothing, &c.LabelSmoothing)
	return c, c.Validate()
}
