package toy

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"gonum.org/v1/gonum/integrate/quad"
)

// Measure is the distribution µ of the perturbation ε.
type Measure interface {
	// support returns the interval of ε that quadrature integrates over.
	support() (lo, hi float64)
	// density returns µ's density at ε (up to a constant; quadrature normalizes).
	density(eps float64) float64
	// validate reports a bad parameter.
	validate() error
	String() string
}

// Uniform is the uniform distribution on the one-dimensional ball |ε| ≤ Rho (the paper's Eq. 3's
// default µ). Rho = 0 is a point mass at 0 (the objective is then L itself).
type Uniform struct{ Rho float64 }

func (u Uniform) support() (float64, float64) { return -u.Rho, u.Rho }
func (u Uniform) density(float64) float64     { return 1 }
func (u Uniform) String() string              { return fmt.Sprintf("uniform(|ε|≤%g)", u.Rho) }
func (u Uniform) validate() error {
	if math.IsNaN(u.Rho) || math.IsInf(u.Rho, 0) || u.Rho < 0 {
		return fmt.Errorf("toy: radius ρ = %v must be a finite number ≥ 0", u.Rho)
	}
	return nil
}

// Gaussian is N(0, Sigma²). Quadrature integrates it over ±gaussWidth·σ, where the mass left
// out (about 1e-15) is below float64 resolution of the objective.
type Gaussian struct{ Sigma float64 }

const gaussWidth = 8

func (g Gaussian) support() (float64, float64) { return -gaussWidth * g.Sigma, gaussWidth * g.Sigma }
func (g Gaussian) density(eps float64) float64 {
	z := eps / g.Sigma
	return math.Exp(-z * z / 2)
}
func (g Gaussian) String() string { return fmt.Sprintf("gaussian(σ=%g)", g.Sigma) }
func (g Gaussian) validate() error {
	if math.IsNaN(g.Sigma) || math.IsInf(g.Sigma, 0) || g.Sigma < 0 {
		return fmt.Errorf("toy: Gaussian σ = %v must be a finite number ≥ 0", g.Sigma)
	}
	return nil
}

// Quadrature is composite Gauss–Legendre over µ's support: Nodes points in all, in panels of
// panelOrder points (one panel if Nodes < panelOrder), with extra panel boundaries at the
// loss's kinks so every panel integrates a smooth function. Gauss–Legendre of order 16 on
// panels of width 2ρ/32 integrates the Figure 1 integrand, whose sharpest feature at t = 100
// has width about 0.01, to near machine precision.
type Quadrature struct{ Nodes int }

// DefaultQuadrature is the node count used by the figures: 512 nodes over the ball.
var DefaultQuadrature = Quadrature{Nodes: 512}

const panelOrder = 16

func (q Quadrature) validate() error {
	if q.Nodes < 1 {
		return fmt.Errorf("toy: quadrature needs at least 1 node, got %d", q.Nodes)
	}
	return nil
}

// legendreCache holds Gauss–Legendre nodes and weights on [−1, 1] by order.
var legendreCache sync.Map

func legendre(n int) (x, w []float64) {
	if v, ok := legendreCache.Load(n); ok {
		p := v.([2][]float64)
		return p[0], p[1]
	}
	x, w = make([]float64, n), make([]float64, n)
	quad.Legendre{}.FixedLocations(x, w, -1, 1)
	legendreCache.Store(n, [2][]float64{x, w})
	return x, w
}

// rule returns nodes ε_k and probability weights p_k (summing to 1) of µ, with panel
// boundaries added at the given break points (in ε coordinates). A zero-width support gives
// the single node ε = 0.
func (q Quadrature) rule(m Measure, breaks []float64) (eps, p []float64) {
	lo, hi := m.support()
	if hi <= lo {
		return []float64{0}, []float64{1}
	}
	order, panels := q.Nodes, 1
	if q.Nodes > panelOrder {
		order, panels = panelOrder, (q.Nodes+panelOrder-1)/panelOrder
	}
	h := (hi - lo) / float64(panels)
	cuts := []float64{lo}
	for i := 1; i < panels; i++ {
		cuts = append(cuts, lo+float64(i)*h)
	}
	for _, b := range breaks {
		if b > lo && b < hi {
			cuts = append(cuts, b)
		}
	}
	cuts = append(cuts, hi)
	sort.Float64s(cuts)
	gx, gw := legendre(order)
	eps = make([]float64, 0, len(cuts)*order)
	p = make([]float64, 0, len(cuts)*order)
	sum := 0.0
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if b-a <= 0 {
			continue
		}
		half, mid := (b-a)/2, (a+b)/2
		for k := range gx {
			e := mid + half*gx[k]
			wk := half * gw[k] * m.density(e)
			eps = append(eps, e)
			p = append(p, wk)
			sum += wk
		}
	}
	for k := range p {
		p[k] /= sum
	}
	return eps, p
}

// breaksAt returns the kinks of prob in the ε coordinates of the point θ.
func breaksAt(prob Problem, theta float64) []float64 {
	if len(prob.Kinks) == 0 {
		return nil
	}
	b := make([]float64, len(prob.Kinks))
	for i, k := range prob.Kinks {
		b[i] = k - theta
	}
	return b
}
