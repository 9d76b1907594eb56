package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/tsamgo/tsam/internal/tensorfloat"
	"github.com/tsamgo/tsam/tilt"
)

// The estimators of the TSAM objective (1/t)·log E_ε[exp(t·L(θ+ε))].
const (
	// EstimatorSampler draws ε as the practical sampler of Algorithm 3 does: a random start
	// z_j of radius R, then one normalised ascent step, ε_j = z_j + ρ·∇L(θ+z_j)/‖∇L(θ+z_j)‖.
	// This is how the paper's evaluation code measures its Table 3 (two passes per sample).
	EstimatorSampler = "sampler"
	// EstimatorBall draws ε uniformly in the ball of radius TSAMRho (one pass per sample).
	EstimatorBall = "ball"
)

// Estimators lists the TSAM objective's estimators (for flags and messages).
var Estimators = []string{EstimatorSampler, EstimatorBall}

// ObjectiveOptions configures Objectives. Zero values pick the defaults.
type ObjectiveOptions struct {
	// Rho is the radius of SAM's perturbation ball; default 0.05.
	Rho float64
	// Estimator picks how the TSAM objective's ε are drawn: EstimatorSampler (the default)
	// or EstimatorBall.
	Estimator string
	// R is the random-start radius r of EstimatorSampler: z is Gaussian with E‖z‖² = r²,
	// its norm clipped to r, as in Algorithm 3; default 5. With RRelative each parameter
	// tensor v gets its own start of radius R·‖v‖ instead (as tsam train's default, r = 0.1).
	// Measure a trained run with the r it was trained with.
	R         float64
	RRelative bool
	// TSAMRho is the radius of EstimatorBall's ball; default Rho. A random direction in n
	// dimensions raises the loss by only about ρ²·tr(H)/(2n) where an adversarial one gains
	// ρ²·λ_max/2, so in 10^5 dimensions a ball of radius ρ = 0.05 cannot tell the TSAM
	// objective from the ERM loss (and can never exceed the SAM objective).
	TSAMRho float64
	// SAMSteps is the number of projected gradient ascent steps; default 5.
	SAMSteps int
	// SAMStepSize is the length of each normalized ascent step; default Rho, so the first step
	// is SAM's own ε = ρ·g/‖g‖.
	SAMStepSize float64
	// T is the tilt of the TSAM objective, used as given (no default): T = 0 is the mean
	// perturbed loss, large T approaches the max.
	T float64
	// Samples is the number of ε drawn for the TSAM estimate; default 32.
	Samples int
	// Seed fixes the TSAM draws (and the ascent direction at a zero gradient).
	Seed uint64
}

func (o ObjectiveOptions) withDefaults() (ObjectiveOptions, error) {
	if o.Rho == 0 {
		o.Rho = 0.05
	}
	if o.SAMSteps == 0 {
		o.SAMSteps = 5
	}
	if o.Estimator == "" {
		o.Estimator = EstimatorSampler
	}
	if o.R == 0 {
		o.R = 5
	}
	if o.TSAMRho == 0 {
		o.TSAMRho = o.Rho
	}
	if o.SAMStepSize == 0 {
		o.SAMStepSize = o.Rho
	}
	if o.Samples == 0 {
		o.Samples = 32
	}
	bad := func(x float64) bool { return !(x > 0) || math.IsInf(x, 0) }
	switch {
	case bad(o.Rho):
		return o, fmt.Errorf("sharpness: ρ = %v; the perturbation radius must be finite and > 0 (SAM's usual 0.05)", o.Rho)
	case o.Estimator != EstimatorSampler && o.Estimator != EstimatorBall:
		return o, fmt.Errorf("sharpness: unknown TSAM estimator %q; use %s", o.Estimator, strings.Join(Estimators, " or "))
	case o.RRelative && o.R > 1:
		return o, fmt.Errorf("sharpness: relative random-start radius r = %v is more than the weights themselves; use a fraction such as 0.1", o.R)
	case bad(o.R):
		return o, fmt.Errorf("sharpness: random-start radius r = %v; it must be finite and > 0 (the r the run was trained with)", o.R)
	case bad(o.TSAMRho):
		return o, fmt.Errorf("sharpness: TSAM radius %v; it must be finite and > 0", o.TSAMRho)
	case bad(o.SAMStepSize):
		return o, fmt.Errorf("sharpness: SAM step size %v; it must be finite and > 0", o.SAMStepSize)
	case o.SAMSteps < 1:
		return o, fmt.Errorf("sharpness: %d SAM ascent steps; use at least 1", o.SAMSteps)
	case o.Samples < 1:
		return o, fmt.Errorf("sharpness: %d TSAM samples; use at least 1", o.Samples)
	case o.T < 0 || math.IsNaN(o.T) || math.IsInf(o.T, 0):
		return o, fmt.Errorf("sharpness: tilt t = %v; it must be finite and ≥ 0", o.T)
	}
	return o, nil
}

// Objectives holds the values of the three objectives of the paper's Table 3 at θ.
type Objectives struct {
	// ERM is L(θ).
	ERM float64 `json:"erm"`
	// SAM approximates max_{‖ε‖≤ρ} L(θ+ε): the largest loss seen along the ascent, L(θ)
	// included, so SAM ≥ ERM.
	SAM float64 `json:"sam"`
	// SAMPath holds L(θ+ε_k) for k = 0..SAMSteps (ε_0 = 0).
	SAMPath []float64 `json:"sam_path"`
	// TSAM is the estimate (1/t)·log((1/s)·Σ exp(t·L(θ+ε_j))) over the Estimator's draws,
	// computed max-shifted by tilt.Objective.
	TSAM float64 `json:"tsam"`
	// TSAMSE is the standard error of TSAM over the draws (delta method, see tiltedSE).
	TSAMSE float64 `json:"tsam_se"`
	// TSAMLosses holds the s sampled losses L(θ+ε_j).
	TSAMLosses []float64 `json:"tsam_losses"`
	// TSharpness is the t-weighted variance of TSAMLosses (Definition 3.5).
	TSharpness float64 `json:"t_sharpness"`
	Rho        float64 `json:"rho"`
	Estimator  string  `json:"estimator"`
	// R is the random-start radius of EstimatorSampler; TSAMRho the ball of EstimatorBall
	// (each zero under the other estimator).
	R         float64 `json:"r,omitempty"`
	RRelative bool    `json:"r_relative,omitempty"`
	TSAMRho   float64 `json:"tsam_rho,omitempty"`
	T         float64 `json:"t"`
	SAMSteps  int     `json:"sam_steps"`
	Samples   int     `json:"samples"`
}

// Objectives evaluates the ERM, SAM and TSAM objectives at θ on the Evaluator's batches.
//
// SAM's inner max is approximated by projected gradient ascent: ε_{k+1} = Π(ε_k + η·g/‖g‖),
// g = ∇L(θ+ε_k), Π the projection onto the ρ ball, keeping the largest loss. At a zero
// gradient the step takes a seeded random direction instead. TSAM's expectation is estimated
// from Samples draws of the Estimator, with common random numbers across models (the j-th
// random start or ball point depends only on Seed, j and the parameter count).
func (e *Evaluator) Objectives(opts ObjectiveOptions) (Objectives, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Objectives{}, err
	}
	res := Objectives{Rho: opts.Rho, Estimator: opts.Estimator, T: opts.T, SAMSteps: opts.SAMSteps, Samples: opts.Samples}
	if opts.Estimator == EstimatorBall {
		res.TSAMRho = opts.TSAMRho
	} else {
		res.R, res.RRelative = opts.R, opts.RRelative
	}
	if res.SAMPath, err = e.samAscent(opts); err != nil {
		return res, err
	}
	res.ERM = res.SAMPath[0]
	res.SAM = res.SAMPath[0]
	for _, l := range res.SAMPath {
		res.SAM = math.Max(res.SAM, l)
	}
	for j := range opts.Samples {
		l, err := e.tsamSample(opts, j)
		if err != nil {
			return res, fmt.Errorf("sharpness: TSAM sample %d: %w", j, err)
		}
		res.TSAMLosses = append(res.TSAMLosses, l)
	}
	if res.TSAM, err = tilt.Objective(res.TSAMLosses, opts.T); err != nil {
		return res, err
	}
	res.TSAMSE = tiltedSE(res.TSAMLosses, opts.T)
	if _, res.TSharpness, err = tilt.Moments(res.TSAMLosses, opts.T); err != nil {
		return res, err
	}
	return res, nil
}

// tsamSample is the loss at the j-th ε of the estimator.
func (e *Evaluator) tsamSample(opts ObjectiveOptions, j int) (float64, error) {
	if opts.Estimator == EstimatorBall {
		return e.Loss(ballDraw(opts.Seed, j, e.n, opts.TSAMRho))
	}
	var z []float64
	if opts.RRelative {
		var err error
		if z, err = e.relativeStart(opts.Seed, j, opts.R); err != nil {
			return 0, err
		}
	} else {
		z = randomStart(opts.Seed, j, e.n, opts.R)
	}
	_, g, err := e.Gradient(z)
	if err != nil {
		return 0, err
	}
	if gn := norm(g); gn > 0 && !math.IsInf(gn, 0) {
		axpy(z, opts.Rho/gn, g)
	}
	return e.Loss(z)
}

// randomStart is Algorithm 3's j-th random start: z ~ N(0, (r²/n)·I), so that E‖z‖² = r²,
// with its norm clipped to r (the Gaussian random start of package sam).
func randomStart(seed uint64, j, n int, r float64) []float64 {
	z := scaled(gaussianDraw(seed, j, n), r/math.Sqrt(float64(n)))
	if zn := norm(z); zn > r {
		z = scaled(z, r/zn)
	}
	return z
}

// relativeStart is the j-th random start relative to the weights: for each parameter
// tensor v, z_v ~ N(0, (r·‖v‖)²/n_v·I) clipped at r·‖v‖, as package sam's RRelative start.
func (e *Evaluator) relativeStart(seed uint64, j int, r float64) ([]float64, error) {
	norms, err := e.paramNorms()
	if err != nil {
		return nil, err
	}
	z := gaussianDraw(seed, j, e.n)
	for i, p := range e.layout {
		block := z[p.Offset : p.Offset+p.Shape.Size()]
		radius := r * norms[i]
		for k := range block {
			block[k] *= radius / math.Sqrt(float64(len(block)))
		}
		if bn := norm(block); bn > radius {
			for k := range block {
				block[k] *= radius / bn
			}
		}
	}
	return z, nil
}

// paramNorms returns ‖v‖ of each parameter tensor at θ, read once: the Evaluator never
// changes θ (it evaluates at θ+ε and restores).
func (e *Evaluator) paramNorms() ([]float64, error) {
	if e.norms != nil {
		return e.norms, nil
	}
	norms := make([]float64, len(e.params))
	for i, v := range e.params {
		t, err := v.Value()
		if err != nil {
			return nil, err
		}
		theta, err := tensorfloat.Float64s(t)
		if err != nil {
			return nil, fmt.Errorf("sharpness: variable %q: %w", v.ScopeAndName(), err)
		}
		norms[i] = norm(theta)
	}
	e.norms = norms
	return norms, nil
}

// tiltedSE is the delta-method standard error of the tilted estimate L̂_t = (1/t)·log(Ā),
// Ā the mean of A_j = exp(t·L_j) over s draws: SE = sd(A)/(√s·t·Ā), computed with A
// shifted by the largest loss so that no exponential overflows. As t → 0 it tends to the
// standard error of the mean, sd(L)/√s, which is used below t·range(L) = 1e-6. One draw
// has no spread to measure and gives 0.
func tiltedSE(losses []float64, t float64) float64 {
	s := float64(len(losses))
	if len(losses) < 2 {
		return 0
	}
	lo, hi := losses[0], losses[0]
	for _, l := range losses {
		lo, hi = math.Min(lo, l), math.Max(hi, l)
	}
	a := make([]float64, len(losses))
	scale := 1.0
	if t*(hi-lo) < 1e-6 {
		copy(a, losses) // the t → 0 limit: the mean's standard error
	} else {
		for i, l := range losses {
			a[i] = math.Exp(t * (l - hi))
		}
	}
	mean, sd := stat.MeanStdDev(a, nil)
	if t*(hi-lo) >= 1e-6 {
		scale = 1 / (t * mean)
	}
	return sd * scale / math.Sqrt(s)
}

// samAscent returns the losses along projected normalized gradient ascent in the ρ ball.
func (e *Evaluator) samAscent(opts ObjectiveOptions) ([]float64, error) {
	eps := make([]float64, e.n)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5a3))
	var path []float64
	for k := 0; k <= opts.SAMSteps; k++ {
		if k == opts.SAMSteps {
			l, err := e.Loss(eps)
			return append(path, l), err
		}
		l, g, err := e.Gradient(eps)
		if err != nil {
			return nil, fmt.Errorf("sharpness: SAM ascent step %d: %w", k, err)
		}
		path = append(path, l)
		gn := norm(g)
		if gn == 0 || math.IsNaN(gn) {
			for i := range g {
				g[i] = rng.NormFloat64()
			}
			gn = norm(g)
		}
		axpy(eps, opts.SAMStepSize/gn, g)
		if en := norm(eps); en > opts.Rho {
			eps = scaled(eps, opts.Rho/en)
		}
	}
	return path, nil
}
