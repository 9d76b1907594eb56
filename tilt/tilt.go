// Package tilt is the mathematics of the tilted (TSAM) objective in float64, with no GoMLX
// dependency (the paper's Eq. 3).
//
// Given losses L_1..L_n of perturbed parameters θ+ε_i, drawn from µ (or quadrature nodes of µ
// with probability weights p_i), the package computes
//
//   - the TSAM objective estimate  L_t = (1/t)·log Σ p_i·exp(t·L_i)  (Objective, ObjectiveP),
//     whose t → 0 limit is the mean Σ p_i·L_i (handled exactly, and continuously: the estimate is
//     evaluated as m + log1p(Σ p_i·expm1(t·(L_i−m)))/t with m = max L_i, so t = 1e-12 agrees
//     with t = 0 to rounding);
//   - tilted weights softmax((t−δ)·L_i), max-shifted (Weights, WeightsP): the weights of the
//     gradient aggregation of Algorithm 1, and for δ = 0 the w_t of Lemma 3.2, so that
//     dL_t/dθ = Σ w_i·dL_i/dθ;
//   - the t-weighted mean and variance of Definition 3.4 (Moments, MomentsP); the t-weighted
//     variance of L(θ+ε) is the t-sharpness of θ (Definition 3.5);
//   - log-sum-exp (LogSumExp, WeightedLogSumExp), the effective sample size of a weight
//     vector (ESS), and schedules of t over training (Schedule).
//
// Every exponential of a loss goes through a max shift, so t·L up to 1e6 and losses that differ
// by 1e4 give finite weights that sum to 1. Anything a user can pass (t, δ, losses) is
// validated and reported as an error; the package does not panic on bad input.
package tilt

import (
	"errors"
	"fmt"
	"math"
)

// ErrEmpty is returned when an estimate is asked of zero losses.
var ErrEmpty = errors.New("tilt: no losses given (need at least one)")

// Validate reports whether a tilt t and sampler tilt δ are usable: both finite, t ≥ 0 and
// 0 ≤ δ ≤ t. Callers that take t and δ from users (flags, configs) can check them up front
// with the same messages the estimators return.
func Validate(t, delta float64) error {
	if err := checkT(t); err != nil {
		return err
	}
	return checkDelta(t, delta)
}

// checkT validates a tilt t: finite and ≥ 0.
func checkT(t float64) error {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return fmt.Errorf("tilt: t = %v is not a finite number; use a tilt 0 ≤ t < ∞", t)
	}
	if t < 0 {
		return fmt.Errorf("tilt: t = %v is negative; the tilt must be ≥ 0 (t = 0 is the plain mean)", t)
	}
	return nil
}

// checkDelta validates the sampler tilt δ against t: 0 ≤ δ ≤ t (the paper's Algorithm 1).
func checkDelta(t, delta float64) error {
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		return fmt.Errorf("tilt: δ = %v is not a finite number; use 0 ≤ δ ≤ t", delta)
	}
	if delta < 0 {
		return fmt.Errorf("tilt: δ = %v is negative; use 0 ≤ δ ≤ t (the paper uses δ = t/2)", delta)
	}
	if delta > t {
		return fmt.Errorf("tilt: δ = %v exceeds t = %v; use 0 ≤ δ ≤ t (the paper uses δ = t/2)", delta, t)
	}
	return nil
}

// checkValues validates a vector of losses (or other values): non-empty and all finite.
func checkValues(name string, x []float64) error {
	if len(x) == 0 {
		return ErrEmpty
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("tilt: %s[%d] = %v is not finite; check the loss computation (a diverged run?)", name, i, v)
		}
	}
	return nil
}

// normalizedProbs validates probability weights p for n values (nil means uniform 1/n) and
// returns them divided by their sum.
func normalizedProbs(p []float64, n int) ([]float64, error) {
	out := make([]float64, n)
	if p == nil {
		for i := range out {
			out[i] = 1 / float64(n)
		}
		return out, nil
	}
	if len(p) != n {
		return nil, fmt.Errorf("tilt: %d probability weights for %d values; pass one weight per value (or nil for uniform)", len(p), n)
	}
	sum := 0.0
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("tilt: probability weight p[%d] = %v; weights must be finite and ≥ 0", i, v)
		}
		sum += v
	}
	if sum <= 0 {
		return nil, errors.New("tilt: probability weights sum to 0; at least one must be positive")
	}
	for i, v := range p {
		out[i] = v / sum
	}
	return out, nil
}

// maxOf returns the largest element of a non-empty slice.
func maxOf(x []float64) float64 {
	m := x[0]
	for _, v := range x[1:] {
		m = math.Max(m, v)
	}
	return m
}

// LogSumExp returns log Σ exp(x_i), computed as m + log Σ exp(x_i − m) with m = max x_i so
// that no term overflows. It returns -Inf for an empty slice (the log of an empty sum) and
// propagates NaN; +Inf elements give +Inf.
func LogSumExp(x []float64) float64 {
	if len(x) == 0 {
		return math.Inf(-1)
	}
	m := maxOf(x)
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// WeightedLogSumExp returns log Σ p_i·exp(x_i) for non-negative weights p (for example
// quadrature weights), max-shifted over the terms with p_i > 0. It returns an error when the
// lengths differ, a weight is negative or not finite, or a value with positive weight is not
// finite.
func WeightedLogSumExp(x, p []float64) (float64, error) {
	if len(x) != len(p) {
		return 0, fmt.Errorf("tilt: %d values but %d weights; pass one weight per value", len(x), len(p))
	}
	m := math.Inf(-1)
	for i, v := range x {
		if math.IsNaN(p[i]) || math.IsInf(p[i], 0) || p[i] < 0 {
			return 0, fmt.Errorf("tilt: weight p[%d] = %v; weights must be finite and ≥ 0", i, p[i])
		}
		if p[i] == 0 {
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("tilt: value x[%d] = %v is not finite", i, v)
		}
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return 0, errors.New("tilt: all weights are 0; at least one must be positive")
	}
	s := 0.0
	for i, v := range x {
		if p[i] > 0 {
			s += p[i] * math.Exp(v-m)
		}
	}
	return m + math.Log(s), nil
}

// Objective returns the TSAM objective estimate (1/t)·log((1/n)·Σ exp(t·L_i)) of equally
// likely samples; t = 0 gives the mean exactly. It errors on t < 0, non-finite t or losses,
// and no losses.
func Objective(losses []float64, t float64) (float64, error) {
	return ObjectiveP(losses, nil, t)
}

// ObjectiveP is Objective with probability weights p (nil = uniform; normalized internally),
// for quadrature over µ: (1/t)·log Σ p_i·exp(t·L_i), and Σ p_i·L_i at t = 0.
func ObjectiveP(losses, p []float64, t float64) (float64, error) {
	if err := checkT(t); err != nil {
		return 0, err
	}
	if err := checkValues("loss", losses); err != nil {
		return 0, err
	}
	q, err := normalizedProbs(p, len(losses))
	if err != nil {
		return 0, err
	}
	if t == 0 {
		mean := 0.0
		for i, l := range losses {
			mean += q[i] * l
		}
		return mean, nil
	}
	return tiltedLogMeanExp(losses, q, t), nil
}

// tiltedLogMeanExp computes (1/t)·log Σ q_i·exp(t·L_i) for normalized q and t > 0, shifted by
// m = max L so nothing overflows. For small t·spread it uses log1p(Σ q·expm1(·)), which keeps
// full relative accuracy as t → 0 (the plain log form cancels catastrophically there); when
// the sum is far below 1 it switches to the plain log, which is then exact enough.
func tiltedLogMeanExp(losses, q []float64, t float64) float64 {
	m := maxOf(losses)
	s := 0.0 // Σ q_i·(exp(t(L_i−m)) − 1) ∈ (−1, 0]
	for i, l := range losses {
		s += q[i] * math.Expm1(t*(l-m))
	}
	if s > -0.5 {
		return m + math.Log1p(s)/t
	}
	sum := 0.0
	for i, l := range losses {
		sum += q[i] * math.Exp(t*(l-m))
	}
	return m + math.Log(sum)/t
}

// Weights returns the tilted weights softmax((t−δ)·L_i) of equally likely samples: the
// weights Algorithm 1 gives the gradients of s samples drawn with tilt δ. δ = 0 gives w_t of
// Lemma 3.2; δ = t gives equal weights. The weights are finite and sum to 1. It errors on
// t < 0, δ < 0, δ > t, non-finite inputs, and no losses.
func Weights(losses []float64, t, delta float64) ([]float64, error) {
	return WeightsP(losses, nil, t, delta)
}

// WeightsP is Weights with probability weights p of the samples (nil = uniform), for
// quadrature: w_i = p_i·exp((t−δ)·L_i) / Σ_j p_j·exp((t−δ)·L_j).
func WeightsP(losses, p []float64, t, delta float64) ([]float64, error) {
	if err := checkT(t); err != nil {
		return nil, err
	}
	if err := checkDelta(t, delta); err != nil {
		return nil, err
	}
	if err := checkValues("loss", losses); err != nil {
		return nil, err
	}
	q, err := normalizedProbs(p, len(losses))
	if err != nil {
		return nil, err
	}
	return softmaxP(losses, q, t-delta), nil
}

// softmaxP returns q_i·exp(a·x_i) / Σ q_j·exp(a·x_j), max-shifted over the terms with q > 0.
func softmaxP(x, q []float64, a float64) []float64 {
	m := math.Inf(-1)
	for i, v := range x {
		if q[i] > 0 {
			m = math.Max(m, a*v)
		}
	}
	w := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		if q[i] > 0 {
			w[i] = q[i] * math.Exp(a*v-m)
			sum += w[i]
		}
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// Moments returns the t-weighted mean E[e^{tX}X]/E[e^{tX}] and the t-weighted variance
// E[e^{tX}X²]/E[e^{tX}] − mean² (Definition 3.4) of equally likely values x. With x the losses
// L(θ+ε_i), the variance is the t-sharpness of θ (Definition 3.5). t = 0 gives the plain mean
// and (population) variance. The variance is computed in two passes and is never negative.
func Moments(x []float64, t float64) (mean, variance float64, err error) {
	return MomentsP(x, nil, t)
}

// MomentsP is Moments with probability weights p (nil = uniform), for quadrature over µ.
func MomentsP(x, p []float64, t float64) (mean, variance float64, err error) {
	if err := checkT(t); err != nil {
		return 0, 0, err
	}
	if err := checkValues("value", x); err != nil {
		return 0, 0, err
	}
	q, err := normalizedProbs(p, len(x))
	if err != nil {
		return 0, 0, err
	}
	w := softmaxP(x, q, t)
	for i, v := range x {
		mean += w[i] * v
	}
	for i, v := range x {
		d := v - mean
		variance += w[i] * d * d
	}
	return mean, variance, nil
}

// ESS returns the effective sample size (Σw)²/Σw² of non-negative weights, which is 1/Σw²
// for weights that sum to 1: n for equal weights, 1 when one weight carries everything. It
// returns 0 for an empty or all-zero vector and NaN when a weight is negative or not finite.
func ESS(w []float64) float64 {
	m := 0.0
	for _, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return math.NaN()
		}
		m = math.Max(m, v)
	}
	if m == 0 {
		return 0
	}
	// Scaling by the largest weight keeps tiny weights from underflowing in the squares.
	sum, sq := 0.0, 0.0
	for _, v := range w {
		sum += v / m
		sq += (v / m) * (v / m)
	}
	return sum * sum / sq
}
