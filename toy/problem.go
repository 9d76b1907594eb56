package toy

import (
	"fmt"
	"math"
)

// Problem is a one-dimensional loss with its first two derivatives.
type Problem struct {
	Name string
	// L is the loss; D1 and D2 its first and second derivatives (where they exist; at a kink
	// D1 returns one of the one-sided values).
	L, D1, D2 func(theta float64) float64
	// Kinks lists the points where L or L' is not continuous. Quadrature splits its panels
	// there so that each panel integrates a smooth function, and the SAM maximisation
	// evaluates them as candidates.
	Kinks []float64
	// Lo and Hi bound the domain that gradient descent is kept in (θ is clipped to it).
	Lo, Hi float64
}

// Fig1Sign is the sign of the oscillating term of the Figure 1 loss under which the paper's
// described behaviour appears (see the package documentation and docs/TOY.md).
const Fig1Sign = -1.0

const fig1Freq = 4 * math.Pi

// Fig1 returns the Figure 1 loss L(θ) = sign·2·sin(4πθ)/(2θ) + 0.005·(θ−1)² on (0.2, 2.5).
// sign must be +1 or −1: the extracted text lost any leading minus, and Fig1Sign is the sign
// this project uses. The function sin(4πθ)/θ is analytic (its value at θ = 0 is 4π); near 0 a
// Taylor series avoids the 0/0 so perturbed points θ+ε ≤ 0 are safe.
func Fig1(sign float64) (Problem, error) {
	if sign != 1 && sign != -1 {
		return Problem{}, fmt.Errorf("toy: Figure 1 sign %v must be +1 or -1", sign)
	}
	return Problem{
		Name: fmt.Sprintf("fig1(sign=%+g)", sign),
		L: func(x float64) float64 {
			return sign*sinc0(x) + 0.005*(x-1)*(x-1)
		},
		D1: func(x float64) float64 {
			return sign*sinc1(x) + 0.01*(x-1)
		},
		D2: func(x float64) float64 {
			return sign*sinc2(x) + 0.01
		},
		Lo: 0.2, Hi: 2.5,
	}, nil
}

// sinc0, sinc1 and sinc2 are f(x) = sin(ax)/x with a = 4π and its first two derivatives;
// below |x| < 1e-3 they use the Taylor series of f = a − a³x²/6 + a⁵x⁴/120 − a⁷x⁶/5040, whose
// truncation error there is below 1e-14 relative.
func sinc0(x float64) float64 {
	const a = fig1Freq
	if math.Abs(x) < 1e-3 {
		x2 := x * x
		return a - a*a*a*x2/6 + math.Pow(a, 5)*x2*x2/120 - math.Pow(a, 7)*x2*x2*x2/5040
	}
	return math.Sin(a*x) / x
}

func sinc1(x float64) float64 {
	const a = fig1Freq
	if math.Abs(x) < 1e-3 {
		return -a*a*a*x/3 + math.Pow(a, 5)*x*x*x/30 - math.Pow(a, 7)*math.Pow(x, 5)/840
	}
	return a*math.Cos(a*x)/x - math.Sin(a*x)/(x*x)
}

func sinc2(x float64) float64 {
	const a = fig1Freq
	if math.Abs(x) < 1e-3 {
		return -a*a*a/3 + math.Pow(a, 5)*x*x/10 - math.Pow(a, 7)*math.Pow(x, 4)/168
	}
	s, c := math.Sin(a*x), math.Cos(a*x)
	return -a*a*s/x - 2*a*c/(x*x) + 2*s/(x*x*x)
}

// Fig3 returns the Figure 3/4 loss L(θ) = |θ−1| − 0.01 for θ ≤ 2 and (θ−3)² otherwise: a sharp
// minimum at θ = 1 (L = −0.01) and a flat one at θ = 3 (L = 0). L has a kink at 1 and a jump of
// 0.01 at 2 (0.99 from the left, 1 from the right), both listed in Kinks.
func Fig3() Problem {
	return Problem{
		Name: "fig3",
		L: func(x float64) float64 {
			if x <= 2 {
				return math.Abs(x-1) - 0.01
			}
			return (x - 3) * (x - 3)
		},
		D1: func(x float64) float64 {
			switch {
			case x > 2:
				return 2 * (x - 3)
			case x >= 1:
				return 1
			default:
				return -1
			}
		},
		D2: func(x float64) float64 {
			if x > 2 {
				return 2
			}
			return 0
		},
		Kinks: []float64{1, 2},
		Lo:    -1, Hi: 5,
	}
}
