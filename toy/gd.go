package toy

import (
	"fmt"
	"math"
)

// GD configures gradient descent θ ← clip(θ − LR·∇objective(θ), Lo, Hi) on a Problem.
type GD struct {
	Start float64 // initial θ
	LR    float64 // learning rate, > 0
	Steps int     // maximum number of steps, ≥ 1
	// Tol stops the run early once a step moves θ by less than Tol (0 runs all Steps).
	Tol float64
}

// Validate reports a bad setting.
func (g GD) Validate(prob Problem) error {
	switch {
	case math.IsNaN(g.LR) || math.IsInf(g.LR, 0) || g.LR <= 0:
		return fmt.Errorf("toy: learning rate %v must be a finite number > 0", g.LR)
	case g.Steps < 1:
		return fmt.Errorf("toy: %d gradient steps; need at least 1", g.Steps)
	case math.IsNaN(g.Tol) || g.Tol < 0:
		return fmt.Errorf("toy: stopping tolerance %v must be ≥ 0", g.Tol)
	case math.IsNaN(g.Start) || g.Start < prob.Lo || g.Start > prob.Hi:
		return fmt.Errorf("toy: start θ = %v is outside the domain [%v, %v] of %s", g.Start, prob.Lo, prob.Hi, prob.Name)
	}
	return nil
}

// Trajectory is the path of one gradient-descent run.
type Trajectory struct {
	Theta     []float64 // θ_0 = Start, θ_1, ..., the final point last
	Steps     int       // steps taken
	Converged bool      // stopped because a step moved θ by less than Tol
	Clipped   int       // steps whose update left the domain and was clipped back to it
}

// Final is the last point of the trajectory.
func (tr Trajectory) Final() float64 { return tr.Theta[len(tr.Theta)-1] }

// Descend runs projected gradient descent on the objective. θ is clipped to [prob.Lo,
// prob.Hi] after every step (the count is in Trajectory.Clipped), so a run that is pushed out
// of the loss's domain stops at its edge rather than leaving it.
func Descend(prob Problem, o Objective, g GD) (Trajectory, error) {
	if err := g.Validate(prob); err != nil {
		return Trajectory{}, err
	}
	if err := o.Validate(); err != nil {
		return Trajectory{}, err
	}
	tr := Trajectory{Theta: []float64{g.Start}}
	theta := g.Start
	for tr.Steps < g.Steps {
		_, grad, err := o.ValueGrad(prob, theta)
		if err != nil {
			return tr, err
		}
		next := theta - g.LR*grad
		if next < prob.Lo || next > prob.Hi {
			next = math.Min(prob.Hi, math.Max(prob.Lo, next))
			tr.Clipped++
		}
		tr.Steps++
		tr.Theta = append(tr.Theta, next)
		moved := math.Abs(next - theta)
		theta = next
		if moved < g.Tol {
			tr.Converged = true
			break
		}
	}
	return tr, nil
}
