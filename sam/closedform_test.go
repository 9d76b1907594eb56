package sam

import (
	"math"
	"testing"

	"github.com/tsamgo/tsam/tilt"
)

const lr = 0.1

// checkBudget asserts the step built as many gradient passes as GradEvalsPerStep promises.
func checkBudget(t *testing.T, cfg Config, r stepResult) {
	t.Helper()
	if r.stats.GradEvals != cfg.GradEvalsPerStep() || r.stats.Forwards != cfg.ForwardOnlyPerStep() {
		t.Errorf("step built %d gradient and %d forward-only passes, config promises %d and %d",
			r.stats.GradEvals, r.stats.Forwards, cfg.GradEvalsPerStep(), cfg.ForwardOnlyPerStep())
	}
}

func TestERMIsTheBaseOptimizer(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(ERM)
	r := runLinStep(t, p, cfg, 1)
	assertClose(t, "ERM gradient", r.impliedGrad(lr), p.grad(r.theta0), 1e-9)
	assertClose(t, "loss_clean", []float64{r.stats.LossClean}, []float64{p.loss(r.theta0)}, 1e-12)
	checkBudget(t, cfg, r)
}

func samEpsHost(p *linProblem, theta []float64, rho float64) []float64 {
	g := p.grad(theta)
	return scaled(rho/norm(g), g)
}

func TestSAMUpdateMatchesHandComputation(t *testing.T) {
	for _, p := range []*linProblem{newLinProblem(), newLogisticProblem()} {
		testSAMUpdate(t, p)
	}
}

func testSAMUpdate(t *testing.T, p *linProblem) {
	for _, m := range []Method{SAM, ESAM1} {
		cfg := linConfig(m)
		r := runLinStep(t, p, cfg, 1)
		th := r.theta0
		eps := samEpsHost(p, th, cfg.Rho)
		assertClose(t, string(m)+" perturbed point", r.calls[1], axpy(1, eps, th), 1e-9)
		assertClose(t, string(m)+" gradient", r.impliedGrad(lr), p.grad(axpy(1, eps, th)), 1e-9)
		assertClose(t, "losses", r.stats.Losses, []float64{p.loss(axpy(1, eps, th))}, 1e-9)
		assertClose(t, "weights", r.stats.Weights, []float64{1}, 0)
		checkBudget(t, cfg, r)
	}
}

func TestASAMEpsilon(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(ASAM)
	cfg.ASAMEta = 0.01
	r := runLinStep(t, p, cfg, 1)
	th := r.theta0
	g := p.grad(th)
	tw := make([]float64, len(th))
	tg := make([]float64, len(th))
	for i := range th {
		tw[i] = math.Abs(th[i]) + cfg.ASAMEta
		if i == len(th)-1 { // the bias b is not scaled (the reference code scales weights only)
			tw[i] = 1
		}
		tg[i] = tw[i] * g[i]
	}
	n := norm(tg)
	eps := make([]float64, len(th))
	for i := range eps {
		eps[i] = cfg.Rho * tw[i] * tw[i] * g[i] / n
	}
	assertClose(t, "ASAM perturbed point", r.calls[1], axpy(1, eps, th), 1e-9)
	assertClose(t, "ASAM gradient", r.impliedGrad(lr), p.grad(axpy(1, eps, th)), 1e-9)
}

func TestPGNMixesPlainAndSAMGradients(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(PGN)
	cfg.PGNLambda = 0.7
	r := runLinStep(t, p, cfg, 1)
	th := r.theta0
	gSAM := p.grad(axpy(1, samEpsHost(p, th, cfg.Rho), th))
	want := axpy(0.3, p.grad(th), scaled(0.7, gSAM))
	assertClose(t, "PGN gradient", r.impliedGrad(lr), want, 1e-9)
	checkBudget(t, cfg, r)
}

func TestESAM2KeepsTheLargestLoss(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(ESAM2)
	cfg.ESAM2Scales = []float64{0.5, 3, 1}
	r := runLinStep(t, p, cfg, 1)
	th := r.theta0
	unit := samEpsHost(p, th, 1)
	losses := make([]float64, 3)
	best := 0
	for k, c := range cfg.ESAM2Scales {
		losses[k] = p.loss(axpy(c*cfg.Rho, unit, th))
		if losses[k] > losses[best] {
			best = k
		}
	}
	if best != 1 {
		t.Fatalf("test problem should pick the largest step, picked %d (losses %v)", best, losses)
	}
	assertClose(t, "ESAM2 trial losses", r.stats.Losses, losses, 1e-9)
	assertClose(t, "ESAM2 weights", r.stats.Weights, []float64{0, 1, 0}, 0)
	want := p.grad(axpy(cfg.ESAM2Scales[best]*cfg.Rho, unit, th))
	assertClose(t, "ESAM2 gradient", r.impliedGrad(lr), want, 1e-9)
	checkBudget(t, cfg, r)
}

func TestRSAMAscendsFromARandomPoint(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(RSAM)
	cfg.RSAMGamma, cfg.RSAMLambda = 0.2, 0.5
	r := runLinStep(t, p, cfg, 3)
	th := r.theta0
	z := sub(r.calls[1], th)
	if norm(z) == 0 {
		t.Fatal("RSAM drew no noise")
	}
	d := axpy(cfg.RSAMLambda, p.grad(r.calls[1]), z)
	eps := scaled(cfg.Rho/norm(d), d)
	assertClose(t, "RSAM perturbed point", r.calls[2], axpy(1, eps, th), 1e-9)
	assertClose(t, "RSAM gradient", r.impliedGrad(lr), p.grad(r.calls[2]), 1e-9)
	checkBudget(t, cfg, r)
}

// checkTSAMPractical verifies a practical-sampler step from its recorded calls: ε_j =
// z_j + ρ·∇L(θ+z_j)/‖·‖, weights softmax((t−δ)·L(θ+ε_j)) and the aggregated gradient.
func checkTSAMPractical(t *testing.T, p *linProblem, cfg Config, r stepResult) []float64 {
	t.Helper()
	th := r.theta0
	if len(r.calls) != 1+2*cfg.S {
		t.Fatalf("%d model calls, want 1 + 2s = %d", len(r.calls), 1+2*cfg.S)
	}
	losses := make([]float64, cfg.S)
	points := make([][]float64, cfg.S)
	for j := range cfg.S {
		start, point := r.calls[1+2*j], r.calls[2+2*j]
		z := sub(start, th)
		if nz := norm(z); nz > cfg.R*(1+1e-9) || nz == 0 {
			t.Fatalf("random start %d has norm %g, want in (0, r = %g]", j, nz, cfg.R)
		}
		g := p.grad(start)
		assertClose(t, "ε_j", point, axpy(cfg.Rho/norm(g), g, start), 1e-9)
		points[j], losses[j] = point, p.loss(point)
	}
	w, err := tilt.Weights(losses, cfg.T, cfg.EffectiveDelta())
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "losses", r.stats.Losses, losses, 1e-9)
	assertClose(t, "tilted weights", r.stats.Weights, w, 1e-9)
	want := make([]float64, len(th))
	ess := 0.0
	for j := range cfg.S {
		want = axpy(w[j], p.grad(points[j]), want)
		ess += w[j] * w[j]
	}
	assertClose(t, "TSAM gradient", r.impliedGrad(lr), want, 1e-9)
	assertClose(t, "ESS", []float64{r.stats.ESS}, []float64{1 / ess}, 1e-9)
	checkBudget(t, cfg, r)
	return w
}

func TestTSAMPracticalSamplerAggregate(t *testing.T) {
	for _, p := range []*linProblem{newLinProblem(), newLogisticProblem()} {
		testTSAMPractical(t, p)
	}
}

func testTSAMPractical(t *testing.T, p *linProblem) {
	for _, noise := range []string{NoiseGaussian, NoiseSphere, NoiseUniform} {
		cfg := linConfig(TSAM)
		cfg.S, cfg.T, cfg.R, cfg.Noise = 4, 5, 0.5, noise
		r := runLinStep(t, p, cfg, 7)
		checkTSAMPractical(t, p, cfg, r)
		for j := range cfg.S {
			z := sub(r.calls[1+2*j], r.theta0)
			if nz := norm(z); noise == NoiseSphere && math.Abs(nz-cfg.R) > 1e-9 {
				t.Errorf("sphere random start has norm %g, want r = %g", nz, cfg.R)
			}
			a := cfg.R * math.Sqrt(3/float64(len(z)))
			for _, zi := range z {
				if noise == NoiseUniform && math.Abs(zi) > a*(1+1e-9) {
					t.Errorf("uniform random start coordinate %g outside ±%g", zi, a)
				}
			}
		}
	}
}

func TestTSAMTiltLimits(t *testing.T) {
	p := newLinProblem()
	base := linConfig(TSAM)
	base.S, base.R = 4, 0.8

	// t = 0: the plain mean of the sample gradients.
	cfg := base
	cfg.T = 0
	w := checkTSAMPractical(t, p, cfg, runLinStep(t, p, cfg, 11))
	assertClose(t, "t=0 weights", w, []float64{0.25, 0.25, 0.25, 0.25}, 1e-12)

	// δ = t: equal weights whatever t.
	cfg = base
	cfg.T, cfg.Delta = 50, 50
	w = checkTSAMPractical(t, p, cfg, runLinStep(t, p, cfg, 11))
	assertClose(t, "δ=t weights", w, []float64{0.25, 0.25, 0.25, 0.25}, 1e-12)

	// Very large t: all weight on the largest-loss sample, finite.
	cfg = base
	cfg.T, cfg.Delta = 1e4, 0
	r := runLinStep(t, p, cfg, 11)
	w = checkTSAMPractical(t, p, cfg, r)
	top := 0
	for j := range r.stats.Losses {
		if r.stats.Losses[j] > r.stats.Losses[top] {
			top = j
		}
	}
	if w[top] < 1-1e-9 {
		t.Errorf("t = 1e4: weight of the largest loss is %g, want 1 (weights %v)", w[top], w)
	}
}

func TestTSAMWithOneSampleNoDeltaNoRandomStartIsSAM(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.S, cfg.Delta, cfg.R = 1, 0, 0
	tsam := runLinStep(t, p, cfg, 1)
	sam := runLinStep(t, p, linConfig(SAM), 1)
	assertClose(t, "TSAM(s=1, δ=0, r=0) vs SAM", tsam.theta1, sam.theta1, 1e-12)
	checkBudget(t, cfg, tsam)
}

func TestTSAMNaiveSamplerDrawsFromMu(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.Sampler, cfg.S, cfg.T, cfg.Naive = SamplerNaive, 5, 3, NaiveMu
	r := runLinStep(t, p, cfg, 5)
	th := r.theta0
	losses := make([]float64, cfg.S)
	for j := range cfg.S {
		if n := norm(sub(r.calls[1+j], th)); n > cfg.Rho*(1+1e-9) {
			t.Fatalf("naive ε_%d has norm %g > ρ = %g", j, n, cfg.Rho)
		}
		losses[j] = p.loss(r.calls[1+j])
	}
	w := softmax(cfg.T, losses) // naive sampling tilts by t, not t−δ
	want := make([]float64, len(th))
	for j := range cfg.S {
		want = axpy(w[j], p.grad(r.calls[1+j]), want)
	}
	assertClose(t, "naive weights", r.stats.Weights, w, 1e-9)
	assertClose(t, "naive gradient", r.impliedGrad(lr), want, 1e-9)
	checkBudget(t, cfg, r)
}

// hmcHost recomputes one N = 1 leapfrog chain from its two recorded points with µ Gaussian
// (no projection): the half-step momentum is p_½ = σ²·(ε_1 − ε_0)/β, and
// p_0 = p_½ − (β/2)·f(ε_0), p_1 = p_½ + (β/2)·f(ε_1) with the force f(ε) = δ·∇L(θ+ε) − ε/σ_µ²;
// σ and β are the dimension-scaled ones of hmcScales.
func hmcHost(p *linProblem, cfg Config, th, e0, e1 []float64) (logRatio float64) {
	delta := cfg.EffectiveDelta()
	d := math.Sqrt(float64(len(th)))
	sigma := cfg.HMCSigma * cfg.Rho / d
	beta := cfg.HMCBeta * cfg.Rho * sigma / d
	sigma2, mu2 := sigma*sigma, cfg.MuSigma*cfg.MuSigma
	eps0, eps1 := sub(e0, th), sub(e1, th)
	force := func(e, eps []float64) []float64 { return axpy(-1/mu2, eps, scaled(delta, p.grad(e))) }
	half := scaled(sigma2/beta, sub(eps1, eps0))
	p0 := axpy(-beta/2, force(e0, eps0), half)
	p1 := axpy(beta/2, force(e1, eps1), half)
	k0, k1, n0, n1 := norm(p0), norm(p1), norm(eps0), norm(eps1)
	return delta*(p.loss(e1)-p.loss(e0)) - (k1*k1-k0*k0)/(2*sigma2) - (n1*n1-n0*n0)/(2*mu2)
}

func TestHMCAcceptanceRatio(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.Sampler, cfg.S, cfg.T, cfg.Mu, cfg.MuSigma = SamplerHMC, 3, 2, MuGaussian, 0.05
	cfg.HMCSigma, cfg.HMCBeta = 0.5, 0.05
	r := runLinStep(t, p, cfg, 9)
	if len(r.calls) != 1+2*cfg.S {
		t.Fatalf("%d model calls, want %d", len(r.calls), 1+2*cfg.S)
	}
	for j := range cfg.S {
		e0, e1 := r.calls[1+2*j], r.calls[2+2*j]
		want := hmcHost(p, cfg, r.theta0, e0, e1)
		assertClose(t, "log Metropolis ratio", r.stats.HMCLogRatio[j:j+1], []float64{want}, 1e-7)
		// The kept sample is ε_1 or ε_0; it must be ε_1 whenever the ratio is ≥ 1.
		l0, l1 := p.loss(e0), p.loss(e1)
		got := r.stats.Losses[j]
		switch {
		case math.Abs(got-l1) < 1e-9*(1+math.Abs(l1)):
		case math.Abs(got-l0) < 1e-9*(1+math.Abs(l0)):
			if want >= 0 {
				t.Errorf("chain %d rejected with log ratio %g ≥ 0", j, want)
			}
		default:
			t.Errorf("chain %d kept loss %g, neither L(ε_0) = %g nor L(ε_1) = %g", j, got, l0, l1)
		}
	}
	checkBudget(t, cfg, r)
}

func TestHMCRejectionRestoresTheStart(t *testing.T) {
	// On a concave loss a long Euler step loses far more potential than the momentum
	// gains: the log ratio is hugely negative and every proposal is rejected.
	p := newLinProblem()
	p.concave = true
	cfg := linConfig(TSAM)
	cfg.Sampler, cfg.S, cfg.T, cfg.Mu, cfg.MuSigma = SamplerHMC, 2, 10, MuGaussian, 0.05
	cfg.HMCSigma, cfg.HMCBeta, cfg.Delta = 0.1, 2, -1
	r := runLinStep(t, p, cfg, 4)
	if r.stats.HMCAccept != 0 {
		t.Fatalf("acceptance rate %g, want 0 (log ratios %v)", r.stats.HMCAccept, r.stats.HMCLogRatio)
	}
	starts := [][]float64{r.calls[1], r.calls[3]}
	losses := []float64{p.loss(starts[0]), p.loss(starts[1])}
	assertClose(t, "losses after rejection", r.stats.Losses, losses, 1e-9)
	w := softmax(cfg.T-cfg.EffectiveDelta(), losses)
	want := axpy(w[0], p.grad(starts[0]), scaled(w[1], p.grad(starts[1])))
	assertClose(t, "gradient after rejection", r.impliedGrad(lr), want, 1e-9)
	for j := range cfg.S {
		if lr := r.stats.HMCLogRatio[j]; lr > -10 {
			t.Errorf("chain %d: log ratio %g, expected ≪ 0 on this concave problem", j, lr)
		}
	}
}

func TestSGDMomentumAndWeightDecay(t *testing.T) {
	// Two ERM steps: m1 = g0 + wd·θ0; θ1 = θ0 − lr·m1; m2 = μ·m1 + g1 + wd·θ1; θ2 = θ1 − lr·m2.
	// Checked through the single-step helper twice would reset momentum, so run it inline.
	p := newLinProblem()
	cfg := linConfig(ERM)
	cfg.Momentum, cfg.WeightDecay = 0.9, 0.01
	th0 := p.theta0()
	m1 := axpy(cfg.WeightDecay, th0, p.grad(th0))
	th1 := axpy(-lr, m1, th0)
	m2 := axpy(cfg.Momentum, m1, axpy(cfg.WeightDecay, th1, p.grad(th1)))
	th2 := axpy(-lr, m2, th1)
	got := runLinSteps(t, p, cfg, 2)
	assertClose(t, "θ after two SGD steps", got, th2, 1e-9)
}

func TestHMCKeepsThePerturbationInTheBall(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.Sampler, cfg.S, cfg.HMCSteps, cfg.Mu = SamplerHMC, 3, 3, MuBall
	cfg.HMCSigma, cfg.HMCBeta = 0.2, 0.5 // steps far longer than ρ: only the projection keeps ε inside
	r := runLinStep(t, p, cfg, 2)
	if len(r.calls) != 1+cfg.S*(cfg.HMCSteps+1) {
		t.Fatalf("%d model calls, want %d", len(r.calls), 1+cfg.S*(cfg.HMCSteps+1))
	}
	onSphere := 0
	for k, c := range r.calls[1:] {
		n := norm(sub(c, r.theta0))
		if n > cfg.Rho*(1+1e-9) {
			t.Fatalf("pass %d at ‖ε‖ = %g > ρ = %g", k, n, cfg.Rho)
		}
		if n > cfg.Rho*(1-1e-9) {
			onSphere++
		}
	}
	if onSphere == 0 {
		t.Error("no HMC step reached the ball's boundary: the test does not exercise the projection")
	}
	checkBudget(t, cfg, r)
}

// TestTSAMNaiveSamplerDrawsAtTheRandomStartRadius: by default the naive samples are the
// practical sampler's random starts, of norm ≤ r and far outside the ρ ball; the weights
// stay softmax(t·L).
func TestTSAMNaiveSamplerDrawsAtTheRandomStartRadius(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.Sampler, cfg.S, cfg.T, cfg.R = SamplerNaive, 4, 3, 2
	if cfg.Naive != NaiveStart {
		t.Fatalf("default Naive = %q, want %q", cfg.Naive, NaiveStart)
	}
	r := runLinStep(t, p, cfg, 3)
	losses := make([]float64, cfg.S)
	for j := range cfg.S {
		n := norm(sub(r.calls[1+j], r.theta0))
		if n > cfg.R*(1+1e-9) || n < 4*cfg.Rho {
			t.Errorf("naive ε_%d has norm %g; want it at the random-start radius r = %g (ρ = %g)", j, n, cfg.R, cfg.Rho)
		}
		losses[j] = p.loss(r.calls[1+j])
	}
	assertClose(t, "naive weights", r.stats.Weights, softmax(cfg.T, losses), 1e-9)
	checkBudget(t, cfg, r)
}

// TestRelativeRandomStart: with RRelative each variable's random start has norm ≤ r·‖θ_v‖
// and near it (Gaussian, clipped), exactly r·‖θ_v‖ for the sphere; a variable at zero gets
// none. The update is still Algorithm 3's from those starts.
func TestRelativeRandomStart(t *testing.T) {
	for _, noise := range []string{NoiseGaussian, NoiseSphere, NoiseUniform} {
		p := newLinProblem()
		cfg := linConfig(TSAM)
		cfg.S, cfg.R, cfg.RRelative, cfg.Noise = 3, 0.2, true, noise
		r := runLinStep(t, p, cfg, 6)
		th := r.theta0
		wNorm, bNorm := norm(th[:3]), math.Abs(th[3])
		for j := range cfg.S {
			z := sub(r.calls[1+2*j], th)
			zw, zb := norm(z[:3]), math.Abs(z[3])
			if zw > cfg.R*wNorm*(1+1e-9) || zb > cfg.R*bNorm*(1+1e-9) {
				t.Errorf("%s start %d: ‖z_w‖ = %g (limit %g), |z_b| = %g (limit %g)", noise, j, zw, cfg.R*wNorm, zb, cfg.R*bNorm)
			}
			if noise == NoiseSphere && (math.Abs(zw-cfg.R*wNorm) > 1e-9 || math.Abs(zb-cfg.R*bNorm) > 1e-9) {
				t.Errorf("sphere start %d: ‖z_w‖ = %g, |z_b| = %g; want %g and %g", j, zw, zb, cfg.R*wNorm, cfg.R*bNorm)
			}
			if zw < cfg.R*wNorm/20 {
				t.Errorf("%s start %d: ‖z_w‖ = %g, far below r·‖w‖ = %g", noise, j, zw, cfg.R*wNorm)
			}
		}
		checkBudget(t, cfg, r)
	}
	cfg := DefaultConfig(TSAM)
	cfg.R = 5
	if err := cfg.Validate(); err == nil {
		t.Error("a relative R = 5 (five times the weights) was accepted")
	}
}
