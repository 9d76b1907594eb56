package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tsamgo/tsam/tilt"
)

// ObjectiveOptions configures Objectives. Zero values pick the defaults.
type ObjectiveOptions struct {
	// Rho is the radius of SAM's perturbation ball; default 0.05.
	Rho float64
	// TSAMRho is the radius of the ball TSAM's ε are drawn from; default Rho. A random
	// direction in n dimensions raises the loss by only about ρ²·tr(H)/(2n) where an adversarial
	// one gains ρ²·λ_max/2, so TSAM needs a far larger radius than SAM to see the
	// neighbourhood (the paper's TSAM runs use radius 20, its SAM runs 0.05–0.1).
	TSAMRho float64
	// SAMSteps is the number of projected gradient ascent steps; default 5.
	SAMSteps int
	// SAMStepSize is the length of each normalized ascent step; default Rho, so the first step
	// is SAM's own ε = ρ·g/‖g‖.
	SAMStepSize float64
	// T is the tilt of the TSAM objective, used as given (no default): T = 0 is the mean
	// perturbed loss, large T approaches the max.
	T float64
	// Samples is the number of ε drawn uniformly in the ball for the TSAM estimate; default 16.
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
	if o.TSAMRho == 0 {
		o.TSAMRho = o.Rho
	}
	if o.SAMStepSize == 0 {
		o.SAMStepSize = o.Rho
	}
	if o.Samples == 0 {
		o.Samples = 16
	}
	bad := func(x float64) bool { return !(x > 0) || math.IsInf(x, 0) }
	switch {
	case bad(o.Rho):
		return o, fmt.Errorf("sharpness: ρ = %v; the perturbation radius must be finite and > 0 (SAM's usual 0.05)", o.Rho)
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
	// TSAM is the estimate (1/t)·log((1/s)·Σ exp(t·L(θ+ε_j))), ε_j uniform in the TSAMRho ball,
	// computed max-shifted by tilt.Objective.
	TSAM float64 `json:"tsam"`
	// TSAMLosses holds the s sampled losses L(θ+ε_j).
	TSAMLosses []float64 `json:"tsam_losses"`
	// TSharpness is the t-weighted variance of TSAMLosses (Definition 3.5).
	TSharpness float64 `json:"t_sharpness"`
	Rho        float64 `json:"rho"`
	TSAMRho    float64 `json:"tsam_rho"`
	T          float64 `json:"t"`
	SAMSteps   int     `json:"sam_steps"`
	Samples    int     `json:"samples"`
}

// Objectives evaluates the ERM, SAM and TSAM objectives at θ on the Evaluator's batches.
//
// SAM's inner max is approximated by projected gradient ascent: ε_{k+1} = Π(ε_k + η·g/‖g‖),
// g = ∇L(θ+ε_k), Π the projection onto the ρ ball, keeping the largest loss. At a zero
// gradient the step takes a seeded random direction instead. TSAM's expectation over µ (uniform
// on the ball) is estimated from Samples draws with common random numbers across models.
func (e *Evaluator) Objectives(opts ObjectiveOptions) (Objectives, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Objectives{}, err
	}
	res := Objectives{Rho: opts.Rho, TSAMRho: opts.TSAMRho, T: opts.T, SAMSteps: opts.SAMSteps, Samples: opts.Samples}
	if res.SAMPath, err = e.samAscent(opts); err != nil {
		return res, err
	}
	res.ERM = res.SAMPath[0]
	res.SAM = res.SAMPath[0]
	for _, l := range res.SAMPath {
		res.SAM = math.Max(res.SAM, l)
	}
	for j := range opts.Samples {
		l, err := e.Loss(ballDraw(opts.Seed, j, e.n, opts.TSAMRho))
		if err != nil {
			return res, fmt.Errorf("sharpness: TSAM sample %d: %w", j, err)
		}
		res.TSAMLosses = append(res.TSAMLosses, l)
	}
	if res.TSAM, err = tilt.Objective(res.TSAMLosses, opts.T); err != nil {
		return res, err
	}
	if _, res.TSharpness, err = tilt.Moments(res.TSAMLosses, opts.T); err != nil {
		return res, err
	}
	return res, nil
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
