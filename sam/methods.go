package sam

import (
	"errors"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"math"
)

// gradient builds the method's gradient (handed to the base optimizer) and its statistics.
func (s *step) gradient() vec {
	switch s.cfg.Method {
	case ERM:
		s.setStats([]*Node{s.loss}, nil)
		return s.clean()
	case SAM, ESAM1:
		return s.ascentThenGrad(s.samEps())
	case ASAM:
		return s.ascentThenGrad(s.asamEps())
	case PGN:
		g1 := s.ascentThenGrad(s.samEps())
		lambda := s.cfg.PGNLambda
		return s.clean().scale(s.scalar(1 - lambda)).add(g1.scale(s.scalar(lambda)))
	case ESAM2:
		return s.esam2()
	case RSAM:
		return s.rsam()
	case TSAM:
		switch s.cfg.Sampler {
		case SamplerHMC:
			return s.tsamHMC()
		case SamplerNaive:
			return s.tsamNaive()
		default:
			return s.tsamPractical()
		}
	}
	panic(errors.New("sam: unknown method " + string(s.cfg.Method)))
}

// samEps is SAM's ε = ρ·g/‖g‖ with g = ∇L(θ).
func (s *step) samEps() vec {
	return s.clean().withNorm(s.scalar(s.cfg.Rho), s.dtype)
}

// asamEps is ASAM's ε = ρ·T²g/‖Tg‖ (Kwon et al. 2021, Eq. 7 with p = 2) with T = |θ| + η
// elementwise on weights and T = 1 on biases and batch-norm offsets: the reference code
// scales only parameters named "weight" (PyTorch's name for dense and convolution kernels and
// batch-norm scales), see isBias.
func (s *step) asamEps() vec {
	scale := make(vec, len(s.theta))
	for i, th := range s.theta {
		if isBias(s.vars[i]) {
			scale[i] = OnesLike(th)
			continue
		}
		scale[i] = AddScalar(Abs(th), s.cfg.ASAMEta)
	}
	tg := scale.mul(s.clean())
	n := AddScalar(tg.norm(s.dtype), 1e-12)
	return scale.mul(tg).scale(MulScalar(Inverse(n), s.cfg.Rho))
}

// isBias reports whether v is an additive offset rather than a weight: GoMLX's layers name
// them "biases" (dense, convolution) and "offset" (batch and layer norm); "bias" and "b" are
// accepted for hand-written models.
func isBias(v *context.Variable) bool {
	switch v.Name() {
	case "biases", "bias", "b", "offset":
		return true
	}
	return false
}

// ascentThenGrad evaluates the loss and gradient at θ+ε, records them as the step's single
// sample and returns the gradient.
func (s *step) ascentThenGrad(eps vec) vec {
	l, grad := s.eval(eps, true)
	s.setStats([]*Node{l}, nil)
	return grad
}

// esam2 tries ε_k = c_k·ρ·g/‖g‖ for each scale c_k (forward passes only), keeps the one with
// the largest loss (the first on ties) and returns the gradient there.
func (s *step) esam2() vec {
	dir := s.clean().withNorm(s.scalar(1), s.dtype)
	losses := make([]*Node, len(s.cfg.ESAM2Scales))
	for k, c := range s.cfg.ESAM2Scales {
		losses[k], _ = s.eval(dir.scale(s.scalar(c*s.cfg.Rho)), false)
	}
	oneHot := OneHot(ArgMax(Stack(losses, 0), 0), len(losses), s.dtype)
	scales := make([]float64, len(s.cfg.ESAM2Scales))
	for k, c := range s.cfg.ESAM2Scales {
		scales[k] = c * s.cfg.Rho
	}
	chosen := ReduceAllSum(Mul(oneHot, ConvertDType(Const(s.g, scales), s.dtype)))
	_, grad := s.eval(dir.scale(chosen), true)
	weights := make([]*Node, len(losses))
	for k := range weights {
		weights[k] = Reshape(SliceAxis(oneHot, 0, AxisElem(k)))
	}
	s.setStats(losses, weights)
	return grad
}

// rsam is Random SAM (Liu et al. 2022b): z ~ N(0, γ²I); g_z = ∇L(θ+z);
// ε = ρ·(z + λ·g_z)/‖z + λ·g_z‖; the update uses ∇L(θ+ε).
func (s *step) rsam() vec {
	z := s.gaussian(s.cfg.RSAMGamma)
	_, gz := s.eval(z, true)
	d := z.add(gz.scale(s.scalar(s.cfg.RSAMLambda)))
	return s.ascentThenGrad(d.withNorm(s.scalar(s.cfg.Rho), s.dtype))
}

// tsamPractical is Algorithm 1 with Algorithm 3's sampler: for each j, a random start z_j
// (radius R), ε_j = z_j + ρ·∇L(θ+z_j)/‖∇L(θ+z_j)‖, then g = Σ_j softmax((t−δ)·L(θ+ε_j))·∇L(θ+ε_j).
// Without a random start (R = 0) all s samples coincide (same ε, same dropout masks), so the
// pass is built once: the same estimate at the cost of SAM.
func (s *step) tsamPractical() vec {
	n := s.cfg.S
	if s.cfg.R == 0 {
		n = 1
	}
	losses := make([]*Node, n)
	grads := make([]vec, n)
	for j := range n {
		// Work with absolute points: θ+ε_j = (θ+z_j) + ρ·ĝ_j saves forming ε_j itself.
		start, gz := s.theta, vec(nil)
		if s.cfg.R > 0 {
			start = s.theta.add(s.randomStart(s.cfg.R))
			_, gz = s.evalAt(start, true)
		} else {
			gz = s.clean()
		}
		point := start.add(gz.withNorm(s.scalar(s.cfg.Rho), s.dtype))
		losses[j], grads[j] = s.evalAt(point, true)
	}
	if n < s.cfg.S {
		for j := n; j < s.cfg.S; j++ {
			losses = append(losses, losses[0])
			grads = append(grads, grads[0])
		}
	}
	return s.tilted(losses, grads, 1-s.cfg.deltaRatio())
}

// tsamNaive draws ε_j at the random-start radius R (Naive = NaiveStart, the paper's public
// code) or from µ (NaiveMu) and weights the gradients by softmax(t·L(θ+ε_j)) (Appendix C.2).
func (s *step) tsamNaive() vec {
	losses := make([]*Node, s.cfg.S)
	grads := make([]vec, s.cfg.S)
	for j := range s.cfg.S {
		eps := s.randomStartOrMu()
		losses[j], grads[j] = s.eval(eps, true)
	}
	return s.tilted(losses, grads, 1)
}

// randomStartOrMu is the naive sampler's ε: a random start of radius R, or a draw of µ.
func (s *step) randomStartOrMu() vec {
	if s.cfg.Naive == NaiveMu {
		return s.sampleMu()
	}
	return s.randomStart(s.cfg.R)
}

// tilted aggregates Σ_j softmax(a·t·L_j)·G_j and records the statistics.
func (s *step) tilted(losses []*Node, grads []vec, tiltFactor float64) vec {
	s.tilt = s.tiltValue()
	w := softmaxWeights(losses, MulScalar(s.tilt, tiltFactor))
	s.setStats(losses, w)
	return weightedSum(w, grads)
}

// tsamHMC draws each ε_j by HMC (Eq. 8) targeting the density ∝ exp(δ·L(θ+ε))·µ(ε), with
// the momentum scale and step length scaled to the dimension (hmcScales), and weights the
// gradients by softmax((t−δ)·L(θ+ε_j)). See hmcSample for one chain.
func (s *step) tsamHMC() vec {
	t := s.tiltValue()
	delta := MulScalar(t, s.cfg.deltaRatio())
	losses := make([]*Node, s.cfg.S)
	grads := make([]vec, s.cfg.S)
	accepts := make([]*Node, s.cfg.S)
	s.logRatios = make([]*Node, s.cfg.S)
	s.epsCos = make([]*Node, s.cfg.S)
	for j := range s.cfg.S {
		losses[j], grads[j], accepts[j], s.logRatios[j], s.epsCos[j] = s.hmcSample(delta)
	}
	s.accept = ReduceAllMean(Stack(accepts, 0))
	return s.tilted(losses, grads, 1-s.cfg.deltaRatio())
}

// hmcScales returns the momentum scale σ and step length β of the HMC sampler in the
// dimension d of the parameters: σ = HMCSigma·ρ/√d, so that ‖p_0‖ ≈ HMCSigma·ρ, and
// β = HMCBeta·ρ·σ/√d, so that one step ε ← ε + β·p/σ² moves ε by about HMCBeta·ρ. With the
// paper's σ = 1 in d = 10^5 dimensions ‖p_0‖ is ≈ 300 and the first step leaves the ρ ball
// a thousand times over (docs/OPTIMIZERS.md).
func (s *step) hmcScales() (sigma, beta float64) {
	d := math.Sqrt(float64(s.size))
	sigma = s.cfg.HMCSigma * s.cfg.Rho / d
	return sigma, s.cfg.HMCBeta * s.cfg.Rho * sigma / d
}

// hmcSample runs one HMC chain: ε_0 ~ µ, p_0 ~ N(0, σ²I), then N leapfrog steps of the
// Hamiltonian H(ε, p) = U(ε) + ‖p‖²/2σ² with potential U(ε) = −δ·L(θ+ε) − log µ(ε):
// p ← p − (β/2)·∇U(ε); ε ← ε + β·p/σ²; p ← p − (β/2)·∇U(ε). For µ Gaussian, −log µ(ε) =
// ‖ε‖²/2σ_µ² + const and its gradient ε/σ_µ² joins the force; for µ the ball, log µ is
// constant inside it and ε is projected back onto the ball when a step leaves it (Eq. 8's
// "keep ε in the ball"). The proposal is accepted with probability min(1, exp(H_0 − H_N))
// (log compared with log u, no exponential taken), else the chain returns to ε_0. Leapfrog
// needs ∇L at ε_0..ε_N: N+1 gradient evaluations, the last one the gradient of the update.
// It returns the loss and gradient at the accepted point, 1 (accepted) or 0, the log of
// the Metropolis ratio and the cosine between the accepted ε and ∇L(θ+ε_0).
func (s *step) hmcSample(delta *Node) (loss *Node, grad vec, accepted, logRatio, cos *Node) {
	sigma, beta := s.hmcScales()
	eps0 := s.sampleMu() // inside the ball by construction when µ is the ball
	p0 := s.gaussian(sigma)
	loss0, grad0 := s.eval(eps0, true)
	force := func(eps vec, g vec) vec { // −∇U(ε) = δ·∇L(θ+ε) + ∇log µ(ε)
		f := g.scale(delta)
		if s.cfg.Mu == MuGaussian {
			f = f.add(eps.scale(s.scalar(-1 / (s.cfg.MuSigma * s.cfg.MuSigma))))
		}
		return f
	}
	half := s.scalar(beta / 2)
	eps, p := eps0, p0
	lossN, gradN := loss0, grad0
	for range s.cfg.HMCSteps {
		p = p.add(force(eps, gradN).scale(half))
		eps = eps.add(p.scale(s.scalar(beta / (sigma * sigma))))
		if s.cfg.Mu == MuBall {
			eps = eps.projectBall(s.cfg.Rho, s.dtype)
		}
		lossN, gradN = s.eval(eps, true)
		p = p.add(force(eps, gradN).scale(half))
	}
	logRatio = hmcLogRatio(delta, loss0, lossN, p0, p, sigma, s.dtype)
	if s.cfg.Mu == MuGaussian {
		prior := DivScalar(Sub(eps.sqNorm(s.dtype), eps0.sqNorm(s.dtype)), 2*s.cfg.MuSigma*s.cfg.MuSigma)
		logRatio = Sub(logRatio, prior)
	}
	u := s.ctx.RandomUniform(s.g, shapes.Make(s.dtype))
	ok := LessThan(Log(u), logRatio)
	cos = Where(ok, eps.cosine(grad0, s.dtype), eps0.cosine(grad0, s.dtype))
	return Where(ok, lossN, loss0), where(ok, gradN, grad0), ConvertDType(ok, s.dtype), logRatio, cos
}

// hmcLogRatio is log of the Metropolis ratio, δ(L_N − L_0) − (‖p_N‖² − ‖p_0‖²)/2σ², with the
// kinetic difference summed as Σ(p_N − p_0)(p_N + p_0) so that the two large norms are not
// subtracted in floating point.
func hmcLogRatio(delta, loss0, lossN *Node, p0, pN vec, sigma float64, dtype dtypeT) *Node {
	diff := make(vec, len(p0))
	for i := range p0 {
		diff[i] = Mul(Sub(pN[i], p0[i]), Add(pN[i], p0[i]))
	}
	var kinetic *Node
	for _, d := range diff {
		k := ConvertDType(ReduceAllSum(d), dtype)
		if kinetic == nil {
			kinetic = k
		} else {
			kinetic = Add(kinetic, k)
		}
	}
	return Sub(Mul(delta, Sub(lossN, loss0)), DivScalar(kinetic, 2*sigma*sigma))
}
