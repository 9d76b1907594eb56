package sam

// The random draws of a step: Gaussian noise in one Box–Muller program, the practical
// sampler's random start (absolute or relative to the weights) and µ.

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// gaussian returns N(0, std²·I) noise shaped like the parameters, from the context RNG.
// All parameters share one draw: normalPair makes ⌈size/2⌉ pairs for the whole parameter
// vector, and each variable takes its slice of [cos half; sin half]. One RNG call and one
// Box–Muller program per sample, instead of one per variable: a ResNet has dozens of small
// variables, where the per-op cost dominated.
func (s *step) gaussian(std float64) vec {
	dtype := s.vars[0].Shape().DType
	m := (s.size + 1) / 2
	cosHalf, sinHalf := normalPair(s.ctx, s.g, dtype, m, std)
	out := make(vec, len(s.vars))
	off := 0
	for i, v := range s.vars {
		n := v.Shape().Size()
		var flat *Node
		switch {
		case off+n <= m:
			flat = Slice(cosHalf, AxisRange(), AxisRange(off, off+n))
		case off >= m:
			flat = Slice(sinHalf, AxisRange(), AxisRange(off-m, off-m+n))
		default: // The one variable that straddles the two halves.
			flat = Concatenate([]*Node{Slice(cosHalf, AxisRange(), AxisRange(off, m)), Slice(sinHalf, AxisRange(), AxisRange(0, off+n-m))}, 1)
		}
		z := Reshape(flat, v.Shape().Dimensions...)
		if v.Shape().DType != dtype {
			z = ConvertDType(z, v.Shape().DType)
		}
		out[i] = z
		off += n
	}
	return out
}

// normal draws N(0, std²) values shaped like shape (see normalPair).
func (s *step) normal(shape shapes.Shape, std float64) *Node {
	n := shape.Size()
	m := (n + 1) / 2
	cosHalf, sinHalf := normalPair(s.ctx, s.g, shape.DType, m, std)
	z := Concatenate([]*Node{cosHalf, sinHalf}, 1)
	if 2*m != n {
		z = Slice(z, AxisRange(), AxisRange(0, n))
	}
	return Reshape(z, shape.Dimensions...)
}

// normalPair draws 2m independent N(0, std²) values as two [1, m] tensors, by the
// Box–Muller transform using both of its outputs: ρ·cos φ and ρ·sin φ of one pair of uniforms
// (u, w), ρ = std·√(−2·log(1−u)), φ = π·v, v = 2w−1. graph.RandomNormal keeps only the
// cosine, spending two uniforms, a log, a square root and a cosine per value.
//
// The graph is shaped for the backend's elementwise fusion, which merges a node into its
// consumer only when it has one consumer: every intermediate that would have two (ρ, v) is
// built twice, as separate nodes, so that each output is one tree over the uniforms and
// s = v², the only tensor materialised in between. The backend then runs the draw as four
// passes (uniforms, s, cosine half, sine half) instead of about ten; ρ's log and square root
// are computed twice, which costs less than the passes saved. The sine and cosine are
// polynomials in s (cosPi, sinPi): the Go math.Cos/math.Sin behind simplego's ops cost
// ~30 ns per value.
func normalPair(ctx *context.Context, g *Graph, dtype dtypeT, m int, std float64) (cosHalf, sinHalf *Node) {
	u := ctx.RandomUniform(g, shapes.Make(dtype, 2, m))
	radius := func() *Node { // 1−u lies in (0, 1]: its log is finite.
		return Sqrt(MulScalar(Log(OneMinus(SliceAxis(u, 0, AxisElem(0)))), -2*std*std))
	}
	v := func() *Node { // Uniform on [−1, 1): φ = π·v covers a full period.
		return AddScalar(MulScalar(SliceAxis(u, 0, AxisElem(1)), 2), -1)
	}
	s := Square(v())
	return Mul(radius(), cosPi(s)), Mul(radius(), sinPi(v(), s))
}

// cosPi returns cos(π·v) given s = v², v in [−1, 1], and sinPi returns sin(π·v) given v and s:
// their Taylor series in s to s¹⁰ (truncation error below 6e-10 on the whole period, finer
// than float32's resolution), by Horner's rule, multiplies and adds only.
func cosPi(s *Node) *Node { return horner(s, piTaylorCoefs(0)) }

func sinPi(v, s *Node) *Node { return Mul(v, horner(s, piTaylorCoefs(1))) }

// horner evaluates Σ_k c_k·s^k with coefs highest power first.
func horner(s *Node, coefs []float64) *Node {
	p := AddScalar(MulScalar(s, coefs[0]), coefs[1])
	for _, c := range coefs[2:] {
		p = AddScalar(Mul(p, s), c)
	}
	return p
}

// piTaylorCoefs returns the coefficients of Σ_{k=0}^{10} (−1)^k·π^(2k+first)/(2k+first)!·s^k,
// highest power first: cos(π·v) for first = 0, sin(π·v)/v for first = 1, with s = v².
func piTaylorCoefs(first int) []float64 {
	const terms = 11
	out := make([]float64, terms)
	for k := range terms {
		n := 2*k + first
		c := 1.0
		for i := 1; i <= n; i++ {
			c *= math.Pi / float64(i)
		}
		if k%2 == 1 {
			c = -c
		}
		out[terms-1-k] = c
	}
	return out
}

// randomStart draws the practical sampler's z: Gaussian or uniform with E‖z‖² = r², its
// norm clipped to r; or uniform on the sphere of radius r. With RRelative, each variable's
// part is drawn that way with radius r·‖θ_v‖ (relativeStart).
func (s *step) randomStart(r float64) vec {
	if s.cfg.RRelative {
		return s.relativeStart(r)
	}
	switch s.cfg.Noise {
	case NoiseSphere:
		return s.gaussian(1).withNorm(s.scalar(r), s.dtype)
	case NoiseUniform:
		a := r * math.Sqrt(3/float64(s.size))
		out := make(vec, len(s.vars))
		for i, v := range s.vars {
			out[i] = AddScalar(MulScalar(s.ctx.RandomUniform(s.g, v.Shape()), 2*a), -a)
		}
		return out.projectBall(r, s.dtype)
	}
	return s.gaussian(r/math.Sqrt(float64(s.size))).projectBall(r, s.dtype)
}

// relativeStart draws each variable's z_v with norm ≈ r·‖θ_v‖: a Gaussian with
// E‖z_v‖² = r²·‖θ_v‖² clipped at r·‖θ_v‖, uniform on that sphere, or uniform in the cube with
// the same second moment, clipped.
func (s *step) relativeStart(r float64) vec {
	unit := s.gaussian(1)
	out := make(vec, len(s.vars))
	for i, v := range s.vars {
		n := float64(v.Shape().Size())
		radius := MulScalar(vec{s.theta[i]}.norm(s.dtype), r)
		var z *Node
		switch s.cfg.Noise {
		case NoiseSphere:
			z = vec{unit[i]}.withNorm(radius, s.dtype)[0]
		case NoiseUniform:
			u := AddScalar(MulScalar(s.ctx.RandomUniform(s.g, v.Shape()), 2), -1) // U(−1, 1): E u² = 1/3
			z = Mul(u, ConvertDType(MulScalar(radius, math.Sqrt(3/n)), v.Shape().DType))
		default:
			z = Mul(unit[i], ConvertDType(MulScalar(radius, 1/math.Sqrt(n)), v.Shape().DType))
		}
		// Clip to the radius: z·min(1, radius/‖z‖).
		zn := vec{z}.norm(s.dtype)
		factor := Min(s.scalar(1), Div(radius, AddScalar(zn, 1e-30)))
		out[i] = Mul(z, ConvertDType(factor, v.Shape().DType))
	}
	return out
}

// sampleMu draws ε ~ µ: uniform in the ball ‖ε‖ ≤ ρ (a uniform direction times ρ·U^{1/d}),
// or N(0, MuSigma²·I).
func (s *step) sampleMu() vec {
	if s.cfg.Mu == MuGaussian {
		return s.gaussian(s.cfg.MuSigma)
	}
	u := s.ctx.RandomUniform(s.g, shapes.Make(s.dtype))
	radius := MulScalar(Pow(u, s.scalar(1/float64(s.size))), s.cfg.Rho)
	return s.gaussian(1).withNorm(radius, s.dtype)
}
