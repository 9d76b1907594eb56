package sam

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/tsamgo/tsam/tilt"
)

func TestDefaultsAreValid(t *testing.T) {
	for _, m := range Methods {
		if err := DefaultConfig(m).Validate(); err != nil {
			t.Errorf("DefaultConfig(%s): %v", m, err)
		}
	}
	c := DefaultConfig(TSAM)
	if c.S != 3 || c.T != 20 || c.Delta != -1 || c.EffectiveDelta() != 10 || c.Momentum != 0.9 || c.WeightDecay != 5e-4 || c.LabelSmoothing != 0.1 {
		t.Errorf("paper defaults changed: %+v", c)
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Method", func(c *Config) { c.Method = "adamw" }},
		{"Rho", func(c *Config) { c.Rho = -1 }},
		{"T", func(c *Config) { c.T = math.NaN() }},
		{"T", func(c *Config) { c.T = math.Inf(1) }},
		{"Delta", func(c *Config) { c.Delta = 30 }}, // above T = 20
		{"Delta", func(c *Config) { c.Delta = math.NaN() }},
		{"S", func(c *Config) { c.S = 0 }},
		{"Sampler", func(c *Config) { c.Sampler = "gibbs" }},
		{"Noise", func(c *Config) { c.Noise = "laplace" }},
		{"HMCSteps", func(c *Config) { c.HMCSteps = 0 }},
		{"HMCSigma", func(c *Config) { c.HMCSigma = 0 }},
		{"TotalSteps", func(c *Config) { c.TSchedule = tilt.LinearUp }}, // without TotalSteps
		{"TSchedule", func(c *Config) { c.TSchedule = 7 }},
		{"LearningRate", func(c *Config) { c.LearningRate = 0 }},
		{"Momentum", func(c *Config) { c.Momentum = 1 }},
		{"PGNLambda", func(c *Config) { c.PGNLambda = 2 }},
		{"ESAM2Scales", func(c *Config) { c.ESAM2Scales = nil }},
		{"LabelSmoothing", func(c *Config) { c.LabelSmoothing = 1 }},
		{"Base", func(c *Config) { c.Base = "lbfgs" }},
	} {
		c := DefaultConfig(TSAM)
		tc.edit(&c)
		err := c.Validate()
		var fe *FieldError
		if err == nil || !strings.Contains(err.Error(), tc.field) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: Validate() = %v, want a *FieldError naming %s", tc.field, err, tc.field)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted an invalid config", tc.field)
		}
	}
}

func TestContextParametersRoundTrip(t *testing.T) {
	c := DefaultConfig(ESAM2)
	c.Rho, c.S, c.T, c.Delta, c.TSchedule, c.TotalSteps = 0.1, 5, 7, 1.75, tilt.LinearDown, 100
	c.Sampler, c.R, c.RRelative, c.Noise, c.Mu, c.MuSigma, c.Naive = SamplerHMC, 3, false, NoiseSphere, MuGaussian, 0.2, NaiveMu
	c.HMCSteps, c.HMCSigma, c.HMCBeta, c.ASAMEta = 3, 0.5, 0.02, 0.1
	c.ESAM2Scales, c.PGNLambda, c.RSAMLambda, c.RSAMGamma = []float64{0.25, 1.5}, 0.9, 2, 0.05
	c.Base, c.LearningRate, c.Momentum, c.WeightDecay, c.LabelSmoothing = BaseAdamW, 0.003, 0.8, 1e-3, 0.2
	ctx := context.New()
	c.ToContext(ctx.In("somewhere")) // stored at the root whatever the scope
	got, err := FromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
	}
	// Checkpoints bring numbers back from JSON as float64: ints must still be read.
	ctx.SetParam(ParamS, float64(4))
	if got, err = FromContext(ctx); err != nil || got.S != 4 {
		t.Errorf("S from a float64 parameter: %d, %v", got.S, err)
	}
	ctx.SetParam(ParamT, "hot")
	if _, err = FromContext(ctx); err == nil {
		t.Error("FromContext accepted sam_t = \"hot\"")
	}
	ctx.SetParam(ParamT, 1.0)
	ctx.SetParam(ParamMethod, "tsam2")
	if _, err = FromContext(ctx); err == nil || !strings.Contains(err.Error(), "tsam2") {
		t.Errorf("FromContext with an unknown method: %v", err)
	}
}

func TestGradEvalsAndESAM1Budget(t *testing.T) {
	cfg := DefaultConfig(TSAM)
	for _, tc := range []struct {
		edit func(*Config)
		want int
	}{
		{func(c *Config) {}, 6},
		{func(c *Config) { c.S = 5 }, 10},
		{func(c *Config) { c.R = 0 }, 2},
		{func(c *Config) { c.Sampler, c.HMCSteps = SamplerHMC, 2 }, 9},
		{func(c *Config) { c.Sampler = SamplerNaive }, 3},
		{func(c *Config) { c.Method = SAM }, 2},
		{func(c *Config) { c.Method = ERM }, 1},
	} {
		c := cfg
		tc.edit(&c)
		if got := c.GradEvalsPerStep(); got != tc.want {
			t.Errorf("%s/%s s=%d: GradEvalsPerStep = %d, want %d", c.Method, c.Sampler, c.S, got, tc.want)
		}
	}
	if got := ESAM1Steps(cfg, 1000); got != 3000 {
		t.Errorf("ESAM1Steps(TSAM s=3, 1000) = %d, want 3000", got)
	}
	if got := ESAM1StepsForTime(1000, 300*time.Millisecond, 120*time.Millisecond); got != 2500 {
		t.Errorf("ESAM1StepsForTime(1000, 300ms, 120ms) = %d, want 2500", got)
	}
}

func TestMisuseGivesClearErrors(t *testing.T) {
	if _, err := NewWithBase(DefaultConfig(SAM), notGradientOptimizer{}); err == nil || !strings.Contains(err.Error(), "UpdateGraphWithGradients") {
		t.Errorf("NewWithBase with a base lacking UpdateGraphWithGradients: %v", err)
	}
	if _, err := SmoothedCrossEntropy(-0.1); err == nil {
		t.Error("SmoothedCrossEntropy(-0.1) accepted")
	}
	// SAM through train.NewTrainer without Wrap cannot see the inputs: it must say how to fix it.
	p := newLinProblem()
	opt, err := New(linConfig(SAM))
	if err != nil {
		t.Fatal(err)
	}
	trainer := train.NewTrainer(backendForTest(t), context.New(), p.modelFn(&probes{}), p.lossFn, opt, nil, nil)
	_, err = trainer.TrainStep(nil, []*tensors.Tensor{tensors.FromValue(p.X)}, []*tensors.Tensor{tensors.FromValue(p.y)})
	if err == nil || !strings.Contains(err.Error(), "sam.NewTrainer") {
		t.Errorf("SAM without Wrap: %v", err)
	}
}

type notGradientOptimizer struct{ optimizers.Interface }

func TestAdamBase(t *testing.T) {
	// Adam's first step moves each parameter by lr·g/(|g|+ε'): ±lr for the SAM gradient.
	p := newLinProblem()
	cfg := linConfig(SAM)
	cfg.Base = BaseAdam
	r := runLinStep(t, p, cfg, 1)
	g := p.grad(axpy(1, samEpsHost(p, r.theta0, cfg.Rho), r.theta0))
	want := make([]float64, len(g))
	for i := range g {
		want[i] = r.theta0[i] - lr*math.Copysign(1, g[i])
	}
	assertClose(t, "θ after one SAM+Adam step", r.theta1, want, 1e-5)
}

func TestStatMetricsReportTheStepStatistics(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.S, cfg.R, cfg.T = 3, 0.5, 4
	opt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	trainer := NewTrainer(backendForTest(t), ctx, p.modelFn(&probes{}), p.lossFn, opt, StatMetrics(), nil)
	out, err := trainer.TrainStep(nil, []*tensors.Tensor{tensors.FromValue(p.X)}, []*tensors.Tensor{tensors.FromValue(p.y)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	maxOf := func(xs []float64) float64 { return slices.Max(xs) }
	want := []float64{st.LossClean, maxOf(st.Losses), maxOf(st.Weights), st.ESS, st.HMCAccept, float64(st.GradEvals), st.T}
	got := make([]float64, len(want))
	for i := range want {
		got[i] = out[len(out)-len(want)+i].Value().(float64)
	}
	assertClose(t, "stat metrics", got, want, 1e-12)
	if st.GradEvals != 6 || st.T != 4 {
		t.Errorf("stats: %+v", st)
	}
}

func TestNewTrainerRecordsTheConfigurationInTheContext(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.S, cfg.T, cfg.Sampler = 5, 3, SamplerNaive
	opt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	NewTrainer(backendForTest(t), ctx, p.modelFn(&probes{}), p.lossFn, opt, nil, nil)
	got, err := FromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("context holds %+v, want %+v", got, cfg)
	}
	// With a base of its own, the context's learning rate is not the config's.
	opt, err = NewWithBase(cfg, optimizers.StochasticGradientDescent())
	if err != nil {
		t.Fatal(err)
	}
	ctx = context.New()
	NewTrainer(backendForTest(t), ctx, p.modelFn(&probes{}), p.lossFn, opt, nil, nil)
	if lr, found := ctx.GetParam(optimizers.ParamLearningRate); found && lr != nil {
		t.Errorf("NewWithBase trainer set learning_rate = %v", lr)
	}
}

// TestASAMHasItsOwnRho: ASAM's perturbation is in units of |θ|, so its radius is its own
// (0.5, Kwon et al.'s CIFAR-10 value), not SAM's 0.05.
func TestASAMHasItsOwnRho(t *testing.T) {
	if r := DefaultConfig(ASAM).Rho; r != 0.5 {
		t.Errorf("DefaultConfig(ASAM).Rho = %v, want 0.5", r)
	}
	if r := DefaultConfig(SAM).Rho; r != 0.05 {
		t.Errorf("DefaultConfig(SAM).Rho = %v, want 0.05", r)
	}
}

// TestMismatchNamesTheDifferingParameter: a configuration compared with the parameters a
// checkpoint holds agrees with itself, names the first differing parameter, and ignores
// parameters the checkpoint does not have.
func TestMismatchNamesTheDifferingParameter(t *testing.T) {
	c := DefaultConfig(TSAM)
	ctx := context.New()
	c.ToContext(ctx)
	if m := c.Mismatch(ctx); m != "" {
		t.Fatalf("a configuration differs from itself: %s", m)
	}
	d := c
	d.T, d.R = 5, 0.3
	if m := d.Mismatch(ctx); !strings.Contains(m, ParamR+" = 0.1") || !strings.Contains(m, "0.3") {
		t.Errorf("mismatch %q, want %s named with both values", m, ParamR)
	}
	if m := d.Mismatch(ctx, ParamR, ParamT); m != "" {
		t.Errorf("skipped parameters compared: %s", m)
	}
	old := context.New()
	old.SetParam(ParamT, 20.0) // a checkpoint that has only some of the parameters
	if m := c.Mismatch(old); m != "" {
		t.Errorf("absent parameters compared: %s", m)
	}
	// Checkpoints written before the one schedule vocabulary name linear-up "increase".
	up := c
	up.TSchedule, up.TotalSteps = tilt.LinearUp, 10
	old.SetParam(ParamTSchedule, "increase")
	if m := up.Mismatch(old); m != "" {
		t.Errorf("a stored \"increase\" is not linear-up: %s", m)
	}
	if m := c.Mismatch(old); !strings.Contains(m, "linear-up") {
		t.Errorf("a stored \"increase\" against a constant t: %q, want it named as linear-up", m)
	}
	old.SetParam(ParamTSchedule, "decrease")
	old.SetParam(ParamTotalSteps, 10)
	if got, err := FromContext(old); err != nil || got.TSchedule != tilt.LinearDown {
		t.Errorf("FromContext of a stored \"decrease\": %v, %v", got.TSchedule, err)
	}
}
