package sam

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/mat"
)

// TestHMCSamplesTheTiltedDensity: on the quadratic loss of the linear problem with µ Gaussian
// the target exp(δ·L(θ+ε))·µ(ε) is Gaussian, with precision P = I/σ_µ² − δ·H and mean
// P⁻¹·δ·∇L(θ), computed here on the host. With a leapfrog trajectory of a quarter period
// (HMCBeta chosen for it) one transition from µ lands on the target; the accepted ε of many
// steps must have the target's mean (µ's is 0) and spread. Before the sampler included
// log µ and scaled σ, β to the dimension, the chains drifted off (mean and spread wrong).
func TestHMCSamplesTheTiltedDensity(t *testing.T) {
	p := newLinProblem()
	cfg := linConfig(TSAM)
	cfg.Sampler, cfg.S, cfg.T, cfg.Delta = SamplerHMC, 8, 20, 10
	cfg.Mu, cfg.MuSigma, cfg.HMCSteps, cfg.HMCSigma = MuGaussian, 0.05, 10, 1
	cfg.LearningRate = 1e-12 // θ stays put: every step samples the same density
	th := p.theta0()
	d := float64(len(th))
	cfg.HMCBeta = math.Pi / 2 * cfg.MuSigma * math.Sqrt(d) / (float64(cfg.HMCSteps) * cfg.Rho)
	mean, cov := tiltedGaussian(p, th, cfg.EffectiveDelta(), cfg.MuSigma)

	samples, accept := hmcSamples(t, p, cfg, 30)
	n := float64(len(samples))
	got := make([]float64, len(th))
	for _, e := range samples {
		got = axpy(1/n, e, got)
	}
	for i := range th {
		se := math.Sqrt(cov.At(i, i) / n)
		if math.Abs(got[i]-mean[i]) > 4*se {
			t.Errorf("ε_%d: sample mean %.5f, target mean %.5f (± %.5f); µ's mean is 0", i, got[i], mean[i], se)
		}
	}
	if norm(sub(got, mean)) > norm(mean)/2 {
		t.Errorf("sample mean %v is not nearer the target's %v than µ's 0", got, mean)
	}
	varGot, varWant := 0.0, 0.0
	for i := range th {
		varWant += cov.At(i, i)
		for _, e := range samples {
			varGot += (e[i] - got[i]) * (e[i] - got[i]) / (n - 1)
		}
	}
	if math.Abs(varGot/varWant-1) > 0.25 {
		t.Errorf("total variance %.6f, target %.6f", varGot, varWant)
	}
	if accept < 0.9 {
		t.Errorf("acceptance %.3f on a Gaussian target with a fine leapfrog step", accept)
	}
	t.Logf("%d samples, acceptance %.3f, mean %.4f (target %.4f), variance %.6f (target %.6f)", len(samples), accept, got, mean, varGot, varWant)
}

// tiltedGaussian returns the mean and covariance of exp(δ·L(θ+ε))·N(ε; 0, σ_µ²I) for the
// linear problem's quadratic loss L(θ+ε) = L(θ) + ∇L·ε + ½εᵀHε, H = [X 1]ᵀ[X 1]/n.
func tiltedGaussian(p *linProblem, th []float64, delta, muSigma float64) ([]float64, *mat.SymDense) {
	k := len(th)
	prec := mat.NewSymDense(k, nil)
	for i := range k {
		prec.SetSym(i, i, 1/(muSigma*muSigma))
	}
	row := func(x []float64) []float64 { return append(append([]float64{}, x...), 1) }
	for _, x := range p.X {
		r := row(x)
		for i := range k {
			for j := i; j < k; j++ {
				prec.SetSym(i, j, prec.At(i, j)-delta*r[i]*r[j]/float64(len(p.X)))
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(prec) {
		panic("tilted precision is not positive definite: lower δ or σ_µ")
	}
	cov := mat.NewSymDense(k, nil)
	if err := chol.InverseTo(cov); err != nil {
		panic(err)
	}
	var m mat.VecDense
	m.MulVec(cov, mat.NewVecDense(k, scaled(delta, p.grad(th))))
	return m.RawVector().Data, cov
}

// hmcSamples runs steps train steps of cfg and returns every chain's accepted ε (its last
// leapfrog point when the stats' loss is the loss there, else its start) and the mean
// acceptance rate. The probes' variables are set at graph building, once, and hold each
// step's values after it runs.
func hmcSamples(t *testing.T, p *linProblem, cfg Config, steps int) ([][]float64, float64) {
	t.Helper()
	opt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(5))
	pr := &probes{}
	trainer := NewTrainer(backendForTest(t), ctx, p.modelFn(pr), p.lossFn, opt, nil, nil)
	x, y := tensors.FromValue(p.X), tensors.FromValue(p.y)
	var out [][]float64
	accept := 0.0
	for range steps {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			t.Fatal(err)
		}
		calls := pr.thetas(t, ctx)
		st, err := ReadStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		accept += st.HMCAccept / float64(steps)
		per := cfg.HMCSteps + 1
		for j := range cfg.S {
			start, end := calls[1+j*per], calls[j*per+per]
			chosen := start
			if math.Abs(st.Losses[j]-p.loss(end)) < math.Abs(st.Losses[j]-p.loss(start)) {
				chosen = end
			}
			out = append(out, sub(chosen, calls[0]))
		}
	}
	return out, accept
}
