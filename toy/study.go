package toy

import (
	"errors"
	"fmt"
	"math"

	"github.com/tsamgo/tsam/tilt"
)

// Fig1Config sets up the Figure 1 experiment: gradient descent on ERM, SAM and TSAM for each
// tilt in Ts, from Start with learning rate LR.
type Fig1Config struct {
	Sign  float64   // sign of the oscillating term (Fig1Sign)
	Rho   float64   // SAM radius and, for a uniform µ, the TSAM ball radius
	Sigma float64   // if > 0, TSAM uses µ = N(0, σ²) instead of the uniform ball
	Ts    []float64 // TSAM tilts
	GD    GD
	Quad  Quadrature
	// GlobalGrid is the number of grid points of the global minimisation over the domain.
	GlobalGrid int
}

// DefaultFig1 is the paper's setting (the paper's Appendix A, Figures 1, 3 and 4): ρ = 0.2, learning rate 0.005, start θ = 0.5,
// t ∈ {0, 1, 20, 100}; 3000 steps with early stop once a step moves θ by less than 1e-10.
func DefaultFig1() Fig1Config {
	return Fig1Config{
		Sign: Fig1Sign, Rho: 0.2, Ts: []float64{0, 1, 20, 100},
		GD:   GD{Start: 0.5, LR: 0.005, Steps: 3000, Tol: 1e-10},
		Quad: DefaultQuadrature, GlobalGrid: 2301,
	}
}

// objectives returns ERM, SAM and one TSAM objective per tilt.
func (c Fig1Config) objectives() []Objective {
	var m Measure = Uniform{Rho: c.Rho}
	if c.Sigma > 0 {
		m = Gaussian{Sigma: c.Sigma}
	}
	objs := []Objective{NewERM(), NewSAM(c.Rho)}
	for _, t := range c.Ts {
		objs = append(objs, Objective{Kind: TSAM, T: t, Measure: m, Quad: c.Quad})
	}
	return objs
}

// Validate reports a bad setting.
func (c Fig1Config) Validate() error {
	prob, err := Fig1(c.Sign)
	if err != nil {
		return err
	}
	if len(c.Ts) == 0 {
		return errors.New("toy: no TSAM tilts given; pass at least one t ≥ 0")
	}
	if math.IsNaN(c.Sigma) || math.IsInf(c.Sigma, 0) || c.Sigma < 0 {
		return fmt.Errorf("toy: Gaussian σ = %v must be a finite number ≥ 0 (0 selects the uniform ball)", c.Sigma)
	}
	if c.GlobalGrid < 3 {
		return fmt.Errorf("toy: global-minimum grid of %d points; need at least 3", c.GlobalGrid)
	}
	if err := c.GD.Validate(prob); err != nil {
		return err
	}
	for _, o := range c.objectives() {
		if err := o.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Point describes one θ: the loss, its curvature, and the objective there.
type Point struct {
	Theta     float64 `json:"theta"`
	Loss      float64 `json:"loss"`      // L(θ)
	Curvature float64 `json:"curvature"` // L''(θ)
	Objective float64 `json:"objective"` // the run's objective at θ
}

// Fig1Run is the result of gradient descent on one objective.
type Fig1Run struct {
	Objective string  `json:"objective"` // "ERM", "SAM" or "TSAM t=…"
	Kind      string  `json:"kind"`
	T         float64 `json:"t,omitempty"` // tilt (TSAM only)
	Final     Point   `json:"final"`       // where gradient descent ended
	Steps     int     `json:"steps"`
	Converged bool    `json:"converged"` // a step moved θ by less than the tolerance
	Clipped   int     `json:"clipped"`   // steps clipped back into the domain
	// GlobalMin is the objective's global minimiser over the domain (grid + golden section):
	// where a perfect optimiser of this objective would end.
	GlobalMin  Point     `json:"global_min"`
	Trajectory []float64 `json:"-"`
	obj        Objective
}

// Fig3Row gives the global minimisers of the Figure 3 (SAM) and Figure 4 (TSAM) objectives
// for one radius, with one-sided derivatives of each objective at its own minimiser: they
// differ at a kink and agree where the objective is smooth.
type Fig3Row struct {
	Rho            float64 `json:"rho"`
	SAM            Point   `json:"sam"`
	SAMLeftSlope   float64 `json:"sam_left_slope"`
	SAMRightSlope  float64 `json:"sam_right_slope"`
	TSAM           Point   `json:"tsam"`
	TSAMLeftSlope  float64 `json:"tsam_left_slope"`
	TSAMRightSlope float64 `json:"tsam_right_slope"`
}

// Fig3Config sets up Figures 3 and 4.
type Fig3Config struct {
	Rhos   []float64
	T      float64 // TSAM tilt (0.01 in the paper)
	Quad   Quadrature
	Lo, Hi float64 // θ range searched and plotted
	Grid   int     // grid points of the global minimisation
}

// DefaultFig3 is the paper's setting: ρ ∈ {0, 0.2, 0.4, 0.6, 0.8}, t = 0.01, θ ∈ [0, 4].
func DefaultFig3() Fig3Config {
	return Fig3Config{
		Rhos: []float64{0, 0.2, 0.4, 0.6, 0.8}, T: 0.01,
		Quad: DefaultQuadrature, Lo: 0, Hi: 4, Grid: 801,
	}
}

// Validate reports a bad setting.
func (c Fig3Config) Validate() error {
	if len(c.Rhos) == 0 {
		return errors.New("toy: no radii given for Figures 3/4")
	}
	for _, rho := range c.Rhos {
		if err := (Uniform{Rho: rho}).validate(); err != nil {
			return err
		}
	}
	if !(c.Hi > c.Lo) || c.Grid < 3 {
		return fmt.Errorf("toy: Figure 3 range [%v, %v] with %d grid points; need lo < hi and ≥ 3 points", c.Lo, c.Hi, c.Grid)
	}
	return tilt.Validate(c.T, 0)
}

// Report is everything `tsam toy` writes. Build it with Run: the plots need the settings it
// keeps privately, so a Report decoded from summary.json can be printed but not plotted.
type Report struct {
	Fig1Sign  float64   `json:"fig1_sign"`
	Fig1Rho   float64   `json:"fig1_rho"`
	Fig1Sigma float64   `json:"fig1_sigma,omitempty"`
	Fig1LR    float64   `json:"fig1_lr"`
	Fig1Start float64   `json:"fig1_start"`
	Fig1Steps int       `json:"fig1_max_steps"`
	Fig1Tol   float64   `json:"fig1_tol"`
	QuadNodes int       `json:"quad_nodes"`
	Fig1      []Fig1Run `json:"fig1"`
	Fig3T     float64   `json:"fig3_t"`
	Fig3      []Fig3Row `json:"fig3"`

	fig1Cfg Fig1Config
	fig3Cfg Fig3Config
}

// RunFig1 runs gradient descent for every objective of c and finds each objective's global
// minimiser over the domain.
func RunFig1(c Fig1Config) ([]Fig1Run, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	prob, _ := Fig1(c.Sign)
	var runs []Fig1Run
	for _, o := range c.objectives() {
		tr, err := Descend(prob, o, c.GD)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Label(), err)
		}
		final, err := pointAt(prob, o, tr.Final())
		if err != nil {
			return nil, err
		}
		gθ, _, err := GlobalMin(o, prob, prob.Lo, prob.Hi, c.GlobalGrid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Label(), err)
		}
		global, err := pointAt(prob, o, gθ)
		if err != nil {
			return nil, err
		}
		runs = append(runs, Fig1Run{
			Objective: o.Label(), Kind: o.Kind.String(), T: o.T,
			Final: final, Steps: tr.Steps, Converged: tr.Converged, Clipped: tr.Clipped,
			GlobalMin: global, Trajectory: tr.Theta, obj: o,
		})
	}
	return runs, nil
}

func pointAt(prob Problem, o Objective, theta float64) (Point, error) {
	v, err := o.Value(prob, theta)
	if err != nil {
		return Point{}, err
	}
	return Point{Theta: theta, Loss: prob.L(theta), Curvature: prob.D2(theta), Objective: v}, nil
}

// slopeStep is the step of the one-sided difference quotients in Fig3Row.
const slopeStep = 1e-4

// RunFig3 finds, for every radius, the global minimisers of the SAM and TSAM objectives of
// the Figure 3 loss and their one-sided slopes.
func RunFig3(c Fig3Config) ([]Fig3Row, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	prob := Fig3()
	var rows []Fig3Row
	for _, rho := range c.Rhos {
		row := Fig3Row{Rho: rho}
		sam := NewSAM(rho)
		tsam := Objective{Kind: TSAM, T: c.T, Measure: Uniform{Rho: rho}, Quad: c.Quad}
		var err error
		if row.SAM, row.SAMLeftSlope, row.SAMRightSlope, err = minWithSlopes(sam, prob, c); err != nil {
			return nil, err
		}
		if row.TSAM, row.TSAMLeftSlope, row.TSAMRightSlope, err = minWithSlopes(tsam, prob, c); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func minWithSlopes(o Objective, prob Problem, c Fig3Config) (Point, float64, float64, error) {
	theta, _, err := GlobalMin(o, prob, c.Lo, c.Hi, c.Grid)
	if err != nil {
		return Point{}, 0, 0, err
	}
	left, right, err := OneSidedSlopes(o, prob, theta, slopeStep)
	if err != nil {
		return Point{}, 0, 0, err
	}
	p, err := pointAt(prob, o, theta)
	return p, left, right, err
}

// OneSidedSlopes returns the backward and forward difference quotients (f(θ)−f(θ−h))/h and
// (f(θ+h)−f(θ))/h of the objective: at a kink they differ by a finite amount as h → 0, where
// the objective is smooth by O(h).
func OneSidedSlopes(o Objective, prob Problem, theta, h float64) (left, right float64, err error) {
	f0, err := o.Value(prob, theta)
	if err != nil {
		return 0, 0, err
	}
	fl, err := o.Value(prob, theta-h)
	if err != nil {
		return 0, 0, err
	}
	fr, err := o.Value(prob, theta+h)
	if err != nil {
		return 0, 0, err
	}
	return (f0 - fl) / h, (fr - f0) / h, nil
}

// Run computes both studies.
func Run(c1 Fig1Config, c3 Fig3Config) (*Report, error) {
	fig1, err := RunFig1(c1)
	if err != nil {
		return nil, err
	}
	fig3, err := RunFig3(c3)
	if err != nil {
		return nil, err
	}
	return &Report{
		Fig1Sign: c1.Sign, Fig1Rho: c1.Rho, Fig1Sigma: c1.Sigma, Fig1LR: c1.GD.LR,
		Fig1Start: c1.GD.Start, Fig1Steps: c1.GD.Steps, Fig1Tol: c1.GD.Tol, QuadNodes: c1.Quad.Nodes,
		Fig1: fig1, Fig3T: c3.T, Fig3: fig3, fig1Cfg: c1, fig3Cfg: c3,
	}, nil
}
