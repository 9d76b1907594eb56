package sam

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tsamgo/tsam/tilt"
)

// Method names one optimizer of the family: the value of Config.Method and of the context
// parameter "sam_method".
type Method string

// The methods of the paper's Table 1. See docs/OPTIMIZERS.md for each exact update.
const (
	ERM   Method = "erm"   // the base optimizer on L(θ)
	SAM   Method = "sam"   // Foret et al. 2020
	ASAM  Method = "asam"  // Kwon et al. 2021, adaptive SAM
	ESAM1 Method = "esam1" // SAM given TSAM's budget: runs as SAM; see ESAM1Steps
	ESAM2 Method = "esam2" // several step sizes along g/‖g‖, keep the largest loss
	PGN   Method = "pgn"   // Zhao et al. 2022, (1−λ)∇L(θ) + λ∇L(θ+ε)
	RSAM  Method = "rsam"  // Liu et al. 2022b, random smoothing before the ascent step
	TSAM  Method = "tsam"  // Li et al. 2025, Algorithm 1
)

// Methods lists every method in a stable order (for flags, tables and tests).
var Methods = []Method{ERM, SAM, ASAM, ESAM1, ESAM2, PGN, RSAM, TSAM}

// Sampler names how TSAM draws its perturbations (the paper's Section 4: Algorithm 3, Eq. 8, Appendix C.2).
const (
	SamplerPractical = "practical" // Algorithm 3: random start, one normalised ascent step
	SamplerHMC       = "hmc"       // Eq. 8: N Euler steps and a Metropolis test
	SamplerNaive     = "naive"     // ε drawn directly from µ
)

// Random-start distributions of the practical sampler and of RSAM-like noise.
const (
	NoiseGaussian = "gaussian" // z ~ N(0, (r²/d)·I), then its norm clipped to r
	NoiseSphere   = "sphere"   // z uniform on the sphere ‖z‖ = r
	NoiseUniform  = "uniform"  // z_i ~ U(−a, a), a = r·√(3/d) (E‖z‖² = r²), norm clipped to r
)

// Where the naive sampler draws its ε (Config.Naive).
const (
	// NaiveStart draws ε_j as the practical sampler's random start of radius R (with Noise),
	// as the paper's public code does. In 10^5 dimensions a ρ = 0.05 ball gives losses equal
	// to L(θ) to 1e-4, which makes the method ERM at s times the cost.
	NaiveStart = "start"
	// NaiveMu draws ε_j ~ µ (Mu, MuSigma; the ρ ball by default), as Appendix C.2 writes it.
	NaiveMu = "mu"
)

// Distributions µ of ε (used by the naive sampler and for HMC's starting point ε_0).
const (
	MuBall     = "ball"     // uniform in the L2 ball ‖ε‖ ≤ ρ
	MuGaussian = "gaussian" // N(0, MuSigma²·I)
)

// Base optimizers New can build by name.
const (
	BaseSGD   = "sgd"   // SGD with momentum and weight decay (this package's, see SGD)
	BaseAdam  = "adam"  // GoMLX's Adam
	BaseAdamW = "adamw" // GoMLX's Adam with decoupled weight decay WeightDecay
)

// Config holds every hyperparameter of the family. Start from DefaultConfig, change fields,
// and pass it to New (which calls Validate). Fields that a method does not use are ignored.
type Config struct {
	Method Method

	// Rho (ρ) is the length of the normalised ascent step of SAM, ASAM, ESAM2, PGN, RSAM and
	// of TSAM's practical sampler, and the radius of µ's ball (naive and HMC samplers).
	Rho float64

	// S is TSAM's number of sampled perturbations per step.
	S int
	// T is TSAM's tilt t ≥ 0 (its target value when scheduled).
	T float64
	// Delta is TSAM's sampling tilt δ at the target T, in [0, T]; negative means the paper's
	// default δ = t/2 (see EffectiveDelta). Under a t schedule δ keeps its proportion to t,
	// δ(step) = (δ/T)·t(step), so that 0 ≤ δ ≤ t holds at every step. The HMC sampler
	// targets exp(δ·L) and the tilted weights of the practical and HMC samplers are
	// softmax((t−δ)·L_j).
	Delta float64
	// TSchedule is how t moves over training; the linear kinds need TotalSteps.
	TSchedule tilt.ScheduleKind
	// TotalSteps is the length of training for the linear t schedules.
	TotalSteps int
	// Sampler is practical, hmc or naive.
	Sampler string

	// R is the radius r of the practical sampler's random start (0: no random start, the
	// ascent starts at θ). The paper's "ρ = 20" is read as r (the paper's Section 4: Algorithm 3, Eq. 8, Appendix C.2).
	R float64
	// Noise is the random start's distribution: gaussian, sphere or uniform (Algorithm 3
	// allows Gaussian or uniform; uniform is the cheapest to draw).
	Noise string
	// RRelative makes R relative to the weights: each variable v gets a random start of norm
	// ≈ R·‖v‖ (E‖z_v‖² = R²·‖v‖², clipped at R·‖v‖) instead of one vector of norm ≈ R, so that
	// R means the same on every model (an absolute r = 5 suits a 0.3M-parameter MLP and
	// stops a transformer from training). Variables at zero (fresh biases) get no noise.
	RRelative bool

	// Naive is where the naive sampler draws ε: NaiveStart (radius R, the default) or NaiveMu.
	Naive string

	// Mu is the distribution µ of ε for HMC's ε_0 (and the naive sampler with NaiveMu): ball
	// or gaussian.
	Mu string
	// MuSigma is the standard deviation of each coordinate of ε when Mu is gaussian.
	MuSigma float64

	// HMCSteps (N) is the number of leapfrog steps of the HMC sampler. HMCSigma and HMCBeta
	// are in units of ρ and the dimension d: the momentum scale is σ = HMCSigma·ρ/√d (so
	// ‖p_0‖ ≈ HMCSigma·ρ) and the step β = HMCBeta·ρ·σ/√d (so one step moves ε by about
	// HMCBeta·ρ), see docs/OPTIMIZERS.md.
	HMCSteps int
	HMCSigma float64
	HMCBeta  float64

	// ASAMEta (η) is added to |θ| in ASAM's scaling T_θ = |θ| + η of the weights (biases and
	// batch-norm offsets are not scaled, as in the reference code of Kwon et al. 2021).
	ASAMEta float64
	// ESAM2Scales are the multiples of ρ ESAM2 tries along g/‖g‖.
	ESAM2Scales []float64
	// PGNLambda (λ) mixes (1−λ)·∇L(θ) + λ·∇L(θ+ε).
	PGNLambda float64
	// RSAMLambda (λ) and RSAMGamma (γ): RSAM's gradient scale and noise standard deviation.
	RSAMLambda float64
	RSAMGamma  float64

	// Base is the optimizer the aggregated gradient is handed to: sgd, adam or adamw.
	Base string
	// LearningRate of the base optimizer.
	LearningRate float64
	// Momentum and WeightDecay of the sgd base (WeightDecay is also adamw's decay).
	Momentum    float64
	WeightDecay float64

	// LabelSmoothing is the ε of SmoothedCrossEntropy when a loss is built from the config
	// (Config.Loss); the paper uses 0.1.
	LabelSmoothing float64
}

// DefaultConfig returns the paper's defaults for method: ρ = 0.05 (ASAM: 0.5, the value its
// authors recommend for CIFAR-10), s = 3, t = 20, δ = t/2, constant t, the practical sampler
// with a Gaussian random start of relative radius r = 0.1 (each variable's start has norm
// ≈ 0.1·‖v‖; the paper's absolute r = 20 is RRelative = false), naive samples at that radius, HMC with
// N = 1, σ = ρ/√d, β moving ε by ρ/2 a step, SGD with learning rate 0.01, momentum 0.9 and
// weight decay 5e-4, label smoothing 0.1; ASAM η = 0.01; ESAM2 scales {0.5, 1, 2}; PGN
// λ = 0.5; RSAM λ = 1, γ = 0.01.
func DefaultConfig(method Method) Config {
	c := defaultConfig(method)
	if method == ASAM {
		c.Rho = 0.5
	}
	return c
}

func defaultConfig(method Method) Config {
	return Config{
		Method:         method,
		Rho:            0.05,
		S:              3,
		T:              20,
		Delta:          -1,
		TSchedule:      tilt.Constant,
		Sampler:        SamplerPractical,
		R:              0.1,
		RRelative:      true,
		Noise:          NoiseGaussian,
		Naive:          NaiveStart,
		Mu:             MuBall,
		MuSigma:        0.01,
		HMCSteps:       1,
		HMCSigma:       1,
		HMCBeta:        0.5,
		ASAMEta:        0.01,
		ESAM2Scales:    []float64{0.5, 1, 2},
		PGNLambda:      0.5,
		RSAMLambda:     1,
		RSAMGamma:      0.01,
		Base:           BaseSGD,
		LearningRate:   0.01,
		Momentum:       0.9,
		WeightDecay:    5e-4,
		LabelSmoothing: 0.1,
	}
}

// DefaultLearningRate is a learning rate that trains with the base optimizer: 0.01 for SGD
// with momentum (the paper's), 0.001 for Adam and AdamW (Kingma and Ba's default).
func DefaultLearningRate(base string) float64 {
	if base == BaseAdam || base == BaseAdamW {
		return 0.001
	}
	return 0.01
}

// EffectiveDelta is δ at the target T: Delta, or T/2 when Delta is negative.
func (c Config) EffectiveDelta() float64 {
	if c.Delta < 0 {
		return c.T / 2
	}
	return c.Delta
}

// deltaRatio is δ/t, the form the graph uses (δ(step) = ratio·t(step) under a schedule): 0.5
// for the default δ = t/2 and whenever t = 0.
func (c Config) deltaRatio() float64 {
	if c.T > 0 && c.Delta >= 0 {
		return c.Delta / c.T
	}
	return 0.5
}

// FieldError is one invalid field of a Config, as Validate reports it (joined with the
// others): Field is the Config field's name, so callers can point at their own flag.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "sam: " + e.Msg }

// MaxMagnitude bounds every real-valued hyperparameter. The graph computes in float32,
// whose largest value is 3.4e38: products such as t·loss (the tilt, Eq. 3), lr·gradient or
// ρ·ĝ overflow to Inf, and then NaN, at the first step long before that bound (t = 3e38
// does so at step 1). 1e6 is far above any value of the paper's sweeps (t ≤ 100,
// ρ ≤ 0.5, lr ≤ 1) and leaves 30 orders of magnitude for the losses and gradients.
const MaxMagnitude = 1e6

// Validate refuses values no run could use, naming the field and the fix. Each problem is a
// *FieldError; errors.As finds the first.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	known := false
	for _, m := range Methods {
		known = known || c.Method == m
	}
	if !known {
		bad("Method", "unknown Method %q; use one of %s", c.Method, methodList())
	}
	nonNeg := func(name string, v float64) {
		if math.IsNaN(v) || v < 0 || v > MaxMagnitude {
			bad(name, "%s = %g must be a number between 0 and %g (the float32 graph overflows beyond)", name, v, float64(MaxMagnitude))
		}
	}
	positive := func(name string, v float64) {
		if math.IsNaN(v) || v <= 0 || v > MaxMagnitude {
			bad(name, "%s = %g must be a number > 0 and ≤ %g (the float32 graph overflows beyond)", name, v, float64(MaxMagnitude))
		}
	}
	nonNeg("Rho", c.Rho)
	nonNeg("T", c.T)
	nonNeg("R", c.R)
	positive("LearningRate", c.LearningRate)
	nonNeg("WeightDecay", c.WeightDecay)
	nonNeg("ASAMEta", c.ASAMEta)
	nonNeg("RSAMLambda", c.RSAMLambda)
	nonNeg("RSAMGamma", c.RSAMGamma)
	positive("HMCSigma", c.HMCSigma)
	positive("HMCBeta", c.HMCBeta)
	if c.Mu == MuGaussian {
		positive("MuSigma", c.MuSigma)
	}
	if math.IsNaN(c.Delta) || math.IsInf(c.Delta, 0) || c.Delta > c.T {
		bad("Delta", "Delta: the sampling tilt δ = %g must be a finite number ≤ the tilt t = %g (0 ≤ δ ≤ t); use a negative value for the default t/2", c.Delta, c.T)
	}
	if !(c.Momentum >= 0 && c.Momentum < 1) {
		bad("Momentum", "Momentum = %g must be in [0, 1)", c.Momentum)
	}
	if !(c.PGNLambda >= 0 && c.PGNLambda <= 1) {
		bad("PGNLambda", "PGNLambda = %g must be in [0, 1]", c.PGNLambda)
	}
	if !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1) {
		bad("LabelSmoothing", "LabelSmoothing = %g must be in [0, 1)", c.LabelSmoothing)
	}
	if c.S < 1 {
		bad("S", "S = %d must be ≥ 1 (the paper uses 3 or 5)", c.S)
	}
	if c.HMCSteps < 1 {
		bad("HMCSteps", "HMCSteps = %d must be ≥ 1 (the paper uses 1 to 3)", c.HMCSteps)
	}
	if len(c.ESAM2Scales) == 0 {
		bad("ESAM2Scales", "ESAM2Scales is empty; give at least one multiple of ρ, e.g. 0.5,1,2")
	}
	for _, s := range c.ESAM2Scales {
		nonNeg("ESAM2Scales entry", s)
	}
	oneOf(&errs, "Sampler", c.Sampler, SamplerPractical, SamplerHMC, SamplerNaive)
	oneOf(&errs, "Noise", c.Noise, NoiseGaussian, NoiseSphere, NoiseUniform)
	oneOf(&errs, "Mu", c.Mu, MuBall, MuGaussian)
	oneOf(&errs, "Naive", c.Naive, NaiveStart, NaiveMu)
	if c.RRelative && c.R > 1 {
		bad("R", "R = %g is relative to the weights (RRelative), a random start %g times as long as θ itself: use a fraction such as 0.1, or set RRelative = false for an absolute radius", c.R, c.R)
	}
	if c.Method == TSAM && c.Sampler == SamplerNaive && c.Naive == NaiveStart && c.R == 0 {
		bad("R", "the naive sampler draws at the random-start radius R, which is 0: set R > 0 (e.g. 5) or Naive = %q", NaiveMu)
	}
	if _, err := tilt.ParseScheduleKind(c.TSchedule.String()); err != nil {
		bad("TSchedule", "TSchedule: %v", err)
	}
	oneOf(&errs, "Base", c.Base, BaseSGD, BaseAdam, BaseAdamW)
	if c.TSchedule != tilt.Constant && c.TotalSteps < 1 {
		bad("TotalSteps", "TSchedule %s needs TotalSteps ≥ 1 (the number of training steps)", c.TSchedule)
	}
	return errors.Join(errs...)
}

func oneOf(errs *[]error, field, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	*errs = append(*errs, &FieldError{Field: field, Msg: fmt.Sprintf("unknown %s %q; use one of %s", field, value, strings.Join(allowed, ", "))})
}

func methodList() string {
	names := make([]string, len(Methods))
	for i, m := range Methods {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// ParseMethod returns the Method named s (case-insensitive), or an error listing the names.
func ParseMethod(s string) (Method, error) {
	m := Method(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Methods {
		if m == known {
			return m, nil
		}
	}
	return "", fmt.Errorf("sam: unknown method %q; use one of %s", s, methodList())
}
