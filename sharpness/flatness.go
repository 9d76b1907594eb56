package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tsamgo/tsam/tilt"
)

// PaperDeltas is the perturbation grid of the paper's Fig. 2.
var PaperDeltas = []float64{0.01, 0.02, 0.03, 0.04, 0.05}

// FlatnessOptions configures Flatness. Zero values pick the defaults.
type FlatnessOptions struct {
	// Deltas are the noise scales δ; default PaperDeltas.
	Deltas []float64
	// M is the number of draws per δ; default 20.
	M int
	// Seed fixes the draws.
	Seed uint64
}

// FlatnessPoint is the perturbed-loss statistics at one δ.
type FlatnessPoint struct {
	Delta float64 `json:"delta"`
	// Mean and Variance of L(θ+ε) over the M draws; the variance is the population one (divide
	// by M), the t → 0 t-sharpness of the paper's Definition 3.5.
	Mean     float64 `json:"mean"`
	Variance float64 `json:"variance"`
	// MeanSE is the Monte-Carlo standard error of Mean over the M draws (see
	// MeanStandardError): how far another M draws' mean would typically land from it.
	MeanSE float64 `json:"mean_se"`
	// Losses are the M sampled losses, in draw order.
	Losses []float64 `json:"losses"`
}

// FlatnessResult is the outcome of Flatness.
type FlatnessResult struct {
	// Base is the unperturbed loss L(θ).
	Base   float64         `json:"base"`
	M      int             `json:"m"`
	Seed   uint64          `json:"seed"`
	Points []FlatnessPoint `json:"points"`
}

func (o FlatnessOptions) withDefaults() (FlatnessOptions, error) {
	if o.Deltas == nil {
		o.Deltas = PaperDeltas
	}
	if len(o.Deltas) == 0 {
		return o, fmt.Errorf("sharpness: no δ given; pass at least one noise scale (the paper uses %v)", PaperDeltas)
	}
	for _, d := range o.Deltas {
		if !(d >= 0) || math.IsInf(d, 0) {
			return o, fmt.Errorf("sharpness: δ = %v; noise scales must be finite and ≥ 0", d)
		}
	}
	if o.M == 0 {
		o.M = 20
	}
	if o.M < 1 {
		return o, fmt.Errorf("sharpness: M = %d draws; use at least 1 (2 or more for a variance)", o.M)
	}
	return o, nil
}

// Flatness measures mean and variance of L(θ+ε), ε ~ N(0, δ²I), for each δ over M draws (the
// paper's Fig. 2), with the model in inference mode. Draw j uses the same standard normal
// direction z_j at every δ (ε = δ·z_j, common random numbers), so the curve over δ is smooth
// and models of the same architecture are compared on identical noise. The stored weights are
// never modified.
func (e *Evaluator) Flatness(opts FlatnessOptions) (FlatnessResult, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return FlatnessResult{}, err
	}
	res := FlatnessResult{M: opts.M, Seed: opts.Seed}
	if res.Base, err = e.Loss(nil); err != nil {
		return res, err
	}
	losses := make([][]float64, len(opts.Deltas))
	for j := range opts.M {
		z := gaussianDraw(opts.Seed, j, e.n)
		for i, d := range opts.Deltas {
			l, err := e.Loss(scaled(z, d))
			if err != nil {
				return res, fmt.Errorf("sharpness: flatness at δ = %v, draw %d: %w", d, j, err)
			}
			losses[i] = append(losses[i], l)
		}
	}
	for i, d := range opts.Deltas {
		mean, variance, err := tilt.Moments(losses[i], 0)
		if err != nil {
			return res, err
		}
		res.Points = append(res.Points, FlatnessPoint{Delta: d, Mean: mean, Variance: variance, MeanSE: MeanStandardError(variance, len(losses[i])), Losses: losses[i]})
	}
	return res, nil
}

// MeanStandardError is the standard error of a mean of m independent draws whose population
// variance (divided by m, as FlatnessPoint.Variance is) is variance: the sample standard
// deviation over √m, √(variance/(m−1)). It is 0 when m < 2 (unknown).
func MeanStandardError(variance float64, m int) float64 {
	if m < 2 || !(variance >= 0) {
		return 0
	}
	return math.Sqrt(variance / float64(m-1))
}

// gaussianDraw is the j-th standard normal vector of length n for a seed.
func gaussianDraw(seed uint64, j, n int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(j)))
	z := make([]float64, n)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	return z
}

// ballDraw is the j-th point uniform in the n-dimensional ball of radius rho: a uniform
// direction times rho·U^{1/n}.
func ballDraw(seed uint64, j, n int, rho float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909^uint64(j)))
	z := make([]float64, n)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	r := rho * math.Pow(rng.Float64(), 1/float64(n))
	return scaled(z, r/norm(z))
}
