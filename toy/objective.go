package toy

import (
	"errors"
	"fmt"
	"math"

	"github.com/tsamgo/tsam/tilt"
)

// Kind names an objective.
type Kind int

const (
	// ERM is L(θ) itself.
	ERM Kind = iota
	// SAM is max_{|ε|≤ρ} L(θ+ε).
	SAM
	// TSAM is (1/t)·log E_µ[exp(t·L(θ+ε))] (the mean E_µ[L(θ+ε)] at t = 0).
	TSAM
)

func (k Kind) String() string {
	switch k {
	case ERM:
		return "ERM"
	case SAM:
		return "SAM"
	case TSAM:
		return "TSAM"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Objective is one of ERM, SAM (radius Rho) and TSAM (tilt T, perturbation measure Measure,
// integrated by Quad).
type Objective struct {
	Kind    Kind
	Rho     float64    // SAM radius.
	T       float64    // TSAM tilt, ≥ 0.
	Measure Measure    // TSAM perturbation distribution.
	Quad    Quadrature // TSAM quadrature.
}

// NewERM returns the ERM objective.
func NewERM() Objective { return Objective{Kind: ERM} }

// NewSAM returns the SAM objective of radius rho.
func NewSAM(rho float64) Objective { return Objective{Kind: SAM, Rho: rho} }

// NewTSAM returns the TSAM objective with tilt t under the uniform ball |ε| ≤ rho, integrated
// with DefaultQuadrature.
func NewTSAM(t, rho float64) Objective {
	return Objective{Kind: TSAM, T: t, Measure: Uniform{Rho: rho}, Quad: DefaultQuadrature}
}

// Label is a short name for plots and tables, e.g. "TSAM t=20".
func (o Objective) Label() string {
	if o.Kind == TSAM {
		return fmt.Sprintf("TSAM t=%g", o.T)
	}
	return o.Kind.String()
}

// Validate reports a bad parameter: ρ < 0 or not finite, t < 0 or not finite, a missing
// measure, or a quadrature with no nodes.
func (o Objective) Validate() error {
	switch o.Kind {
	case ERM:
		return nil
	case SAM:
		return Uniform{Rho: o.Rho}.validate()
	case TSAM:
		if err := tilt.Validate(o.T, 0); err != nil {
			return err
		}
		if o.Measure == nil {
			return errors.New("toy: TSAM objective needs a perturbation measure (Uniform or Gaussian)")
		}
		if err := o.Measure.validate(); err != nil {
			return err
		}
		return o.Quad.validate()
	}
	return fmt.Errorf("toy: unknown objective kind %d", int(o.Kind))
}

// Value returns the objective at θ.
func (o Objective) Value(prob Problem, theta float64) (float64, error) {
	v, _, err := o.eval(prob, theta, false)
	return v, err
}

// ValueGrad returns the objective and its derivative at θ. For SAM the derivative is
// L'(θ+ε*) at the maximiser ε* (Danskin); for TSAM it is the tilted average
// E[w_t·L'(θ+ε)] of Lemma 3.2 over the quadrature nodes, which is the exact derivative when L
// is continuous (Figure 1); a jump of L (Figure 3 at θ = 2) adds a term this formula omits.
func (o Objective) ValueGrad(prob Problem, theta float64) (value, grad float64, err error) {
	return o.eval(prob, theta, true)
}

func (o Objective) eval(prob Problem, theta float64, wantGrad bool) (float64, float64, error) {
	if err := o.Validate(); err != nil {
		return 0, 0, err
	}
	if math.IsNaN(theta) || math.IsInf(theta, 0) {
		return 0, 0, fmt.Errorf("toy: θ = %v is not finite", theta)
	}
	switch o.Kind {
	case SAM:
		eps, v := samMax(prob, theta, o.Rho)
		return v, prob.D1(theta + eps), nil
	case TSAM:
		return o.tsam(prob, theta, wantGrad)
	default:
		return prob.L(theta), prob.D1(theta), nil
	}
}

// tsam evaluates the tilted objective by quadrature: tilt.ObjectiveP over the losses at the
// nodes with their probability weights (a max-shifted weighted log-sum-exp), and the gradient
// as the tilt.WeightsP-weighted average of L' at the nodes.
func (o Objective) tsam(prob Problem, theta float64, wantGrad bool) (float64, float64, error) {
	eps, p := o.Quad.rule(o.Measure, breaksAt(prob, theta))
	losses := make([]float64, len(eps))
	for k, e := range eps {
		losses[k] = prob.L(theta + e)
	}
	v, err := tilt.ObjectiveP(losses, p, o.T)
	if err != nil || !wantGrad {
		return v, 0, err
	}
	w, err := tilt.WeightsP(losses, p, o.T, 0)
	if err != nil {
		return 0, 0, err
	}
	g := 0.0
	for k, e := range eps {
		g += w[k] * prob.D1(theta+e)
	}
	return v, g, nil
}

// samGrid is the number of grid points of the SAM maximisation before refinement.
const samGrid = 257

// samMax returns ε* = argmax_{|ε|≤ρ} L(θ+ε) and the maximum. It scans a grid that includes
// both endpoints and the loss's kinks, then refines the best grid point by golden-section
// search between its neighbours; the refined point is kept only if it is higher.
func samMax(prob Problem, theta, rho float64) (eps, value float64) {
	if rho == 0 {
		return 0, prob.L(theta)
	}
	f := func(e float64) float64 { return prob.L(theta + e) }
	cands := make([]float64, 0, samGrid+len(prob.Kinks))
	for i := 0; i < samGrid; i++ {
		cands = append(cands, -rho+2*rho*float64(i)/float64(samGrid-1))
	}
	for _, k := range prob.Kinks {
		if e := k - theta; e > -rho && e < rho {
			cands = append(cands, e)
		}
	}
	best, bestV := cands[0], f(cands[0])
	for _, e := range cands[1:] {
		if v := f(e); v > bestV {
			best, bestV = e, v
		}
	}
	h := 2 * rho / float64(samGrid-1)
	lo, hi := math.Max(-rho, best-h), math.Min(rho, best+h)
	e := goldenMax(f, lo, hi)
	if v := f(e); v > bestV {
		return e, v
	}
	return best, bestV
}

// goldenRatio is 1/φ = (√5−1)/2.
var goldenRatio = (math.Sqrt(5) - 1) / 2

// goldenMax maximises f on [a, b] by golden-section search, to an interval of width about
// 1e-12·(1+|a|). It assumes f is unimodal on [a, b]; callers pass a bracket from a grid.
func goldenMax(f func(float64) float64, a, b float64) float64 {
	c, d := b-goldenRatio*(b-a), a+goldenRatio*(b-a)
	fc, fd := f(c), f(d)
	for i := 0; i < 200 && b-a > 1e-12*(1+math.Abs(a)); i++ {
		if fc > fd {
			b, d, fd = d, c, fc
			c = b - goldenRatio*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + goldenRatio*(b-a)
			fd = f(d)
		}
	}
	return (a + b) / 2
}

// GlobalMin returns the global minimiser of the objective over [lo, hi] and its value: a grid
// of n points (n ≥ 3) and golden-section refinement between the neighbours of the best one.
func GlobalMin(o Objective, prob Problem, lo, hi float64, n int) (theta, value float64, err error) {
	if n < 3 || !(hi > lo) {
		return 0, 0, fmt.Errorf("toy: GlobalMin needs lo < hi and at least 3 grid points (got [%v, %v], n=%d)", lo, hi, n)
	}
	if err := o.Validate(); err != nil {
		return 0, 0, err
	}
	var firstErr error
	f := func(x float64) float64 {
		v, err := o.Value(prob, x)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	h := (hi - lo) / float64(n-1)
	theta, value = lo, f(lo)
	for i := 1; i < n; i++ {
		x := lo + float64(i)*h
		if v := f(x); v < value {
			theta, value = x, v
		}
	}
	neg := func(x float64) float64 { return -f(x) }
	x := goldenMax(neg, math.Max(lo, theta-h), math.Min(hi, theta+h))
	if v := f(x); v < value {
		theta, value = x, v
	}
	return theta, value, firstErr
}
