package sharpness

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// leastSquares moves the linear problem's weights to the exact minimizer w* and returns H and
// the minimal loss from the host.
func leastSquares(t *testing.T, p Problem, rows [][]float64) *mat.SymDense {
	t.Helper()
	d := len(rows[0])
	var ys []float64
	for _, b := range p.Batches {
		y, _ := tensors.CopyFlatData[float64](b.Labels[0])
		ys = append(ys, y...)
	}
	x := mat.NewDense(len(rows), d, nil)
	for i, r := range rows {
		x.SetRow(i, r)
	}
	var w mat.VecDense
	if err := w.SolveVec(x, mat.NewVecDense(len(ys), ys)); err != nil {
		t.Fatal(err)
	}
	v := p.Context.In("linear").GetVariable("w")
	if err := v.SetValue(tensors.FromFlatDataAndDimensions(append([]float64(nil), w.RawVector().Data...), d, 1)); err != nil {
		t.Fatal(err)
	}
	h := mat.NewSymDense(d, nil)
	for _, r := range rows {
		for i := range d {
			for j := i; j < d; j++ {
				h.SetSym(i, j, h.At(i, j)+r[i]*r[j]/float64(len(rows)))
			}
		}
	}
	return h
}

// TestObjectivesAtQuadraticMinimum: at the least-squares solution L(w*+ε) = L* + ½εᵀHε, so
// the SAM objective is L* + ½ρ²λ_max (which projected ascent must reach), every TSAM sample is
// ≥ L*, TSAM lies between the sample mean and max, and the samples equal the host losses.
func TestObjectivesAtQuadraticMinimum(t *testing.T) {
	p, rows := linearProblem(t, 5, 12, 2, 31)
	h := leastSquares(t, p, rows)
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const rho = 0.3
	o, err := e.Objectives(ObjectiveOptions{Rho: rho, SAMSteps: 80, T: 5, Samples: 9, Seed: 4, Estimator: EstimatorBall})
	if err != nil {
		t.Fatal(err)
	}
	lstar := hostLinearLoss(t, p, rows, nil)
	if math.Abs(o.ERM-lstar) > 1e-12*lstar {
		t.Errorf("ERM = %.15g, host %.15g", o.ERM, lstar)
	}
	lmax := exactTop(t, h, 1)[0]
	if want := lstar + 0.5*rho*rho*lmax; math.Abs(o.SAM-want) > 1e-9*want {
		t.Errorf("SAM = %.15g, exact max over the ball %.15g", o.SAM, want)
	}
	mean, hi := 0.0, math.Inf(-1)
	for j, l := range o.TSAMLosses {
		eps := ballDraw(4, j, 5, rho)
		if n := norm(eps); n > rho*(1+1e-12) {
			t.Errorf("sample %d outside the ball: ‖ε‖ = %v", j, n)
		}
		if want := hostLinearLoss(t, p, rows, eps); math.Abs(l-want) > 1e-12*want {
			t.Errorf("TSAM sample %d: %.15g, host %.15g", j, l, want)
		}
		if l < lstar*(1-1e-12) {
			t.Errorf("sample %d below the minimum: %v < %v", j, l, lstar)
		}
		mean += l / float64(len(o.TSAMLosses))
		hi = math.Max(hi, l)
	}
	if !(o.TSAM >= mean && o.TSAM <= hi && o.TSAM >= o.ERM) {
		t.Errorf("want ERM %v ≤ mean %v ≤ TSAM %v ≤ max %v", o.ERM, mean, o.TSAM, hi)
	}
	if o.SAM < hi*(1-1e-9) {
		t.Errorf("SAM %v below a sampled loss %v: the ascent missed the max", o.SAM, hi)
	}
	t.Logf("ERM %.6g  SAM %.6g (exact %.6g)  TSAM(t=5) %.6g  mean %.6g  t-sharpness %.3g", o.ERM, o.SAM, lstar+0.5*rho*rho*lmax, o.TSAM, mean, o.TSharpness)

	// A separate TSAM radius: samples come from the larger ball, SAM is unchanged.
	o2, err := e.Objectives(ObjectiveOptions{Rho: rho, TSAMRho: 3 * rho, SAMSteps: 80, T: 5, Samples: 9, Seed: 4, Estimator: EstimatorBall})
	if err != nil {
		t.Fatal(err)
	}
	if o2.TSAMRho != 3*rho || o2.Rho != rho || o2.SAM != o.SAM {
		t.Errorf("radii %v/%v, SAM %v vs %v", o2.Rho, o2.TSAMRho, o2.SAM, o.SAM)
	}
	for j, l := range o2.TSAMLosses {
		if want := hostLinearLoss(t, p, rows, ballDraw(4, j, 5, 3*rho)); math.Abs(l-want) > 1e-12*want {
			t.Errorf("TSAM sample %d in the 3ρ ball: %.15g, host %.15g", j, l, want)
		}
	}
	if !(o2.TSAM > o.TSAM) {
		t.Errorf("a 3× larger ball should raise TSAM at a minimum: %v vs %v", o2.TSAM, o.TSAM)
	}
}

// TestTSAMObjectiveInT: with the same draws, TSAM is non-decreasing in t, tends to the mean as
// t → 0 and to the max as t grows, and stays finite for huge t·L.
func TestTSAMObjectiveInT(t *testing.T) {
	e, err := New(tanhProblem(t, 3, 5, 6, 1, 12))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	prev := math.Inf(-1)
	var first Objectives
	for i, tt := range []float64{0, 1e-9, 0.5, 2, 10, 1e6} {
		o, err := e.Objectives(ObjectiveOptions{Rho: 0.5, SAMSteps: 1, T: tt, Samples: 6, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = o
		}
		mean, hi := 0.0, math.Inf(-1)
		for _, l := range o.TSAMLosses {
			mean += l / 6
			hi = math.Max(hi, l)
		}
		if math.IsNaN(o.TSAM) || o.TSAM < prev-1e-12 || o.TSAM > hi+1e-12 {
			t.Errorf("t=%v: TSAM %v (previous %v, max %v)", tt, o.TSAM, prev, hi)
		}
		switch tt {
		case 0, 1e-9:
			if math.Abs(o.TSAM-mean) > 1e-9*mean {
				t.Errorf("t=%v: TSAM %.15g, mean %.15g", tt, o.TSAM, mean)
			}
		case 1e6:
			if math.Abs(o.TSAM-hi) > 1e-5 {
				t.Errorf("t=1e6: TSAM %.15g, max %.15g", o.TSAM, hi)
			}
		}
		if o.ERM != first.ERM || o.SAM != first.SAM {
			t.Errorf("ERM/SAM changed with t: %v %v vs %v %v", o.ERM, o.SAM, first.ERM, first.SAM)
		}
		prev = o.TSAM
	}
}

// TestObjectivesBadOptions: clear errors.
func TestObjectivesBadOptions(t *testing.T) {
	p, _ := linearProblem(t, 3, 4, 1, 1)
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, o := range []ObjectiveOptions{{Rho: -1}, {Rho: math.Inf(1)}, {SAMSteps: -1}, {Samples: -3}, {T: -1}, {T: math.NaN()}, {SAMStepSize: -2}, {TSAMRho: -1}, {R: -1}, {R: math.Inf(1)}, {Estimator: "uniform"}} {
		if _, err := e.Objectives(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// hostLinearGrad is ∇L(w+eps) of hostLinearLoss, by central differences (the loss is
// quadratic, so they are exact up to rounding).
func hostLinearGrad(t *testing.T, p Problem, rows [][]float64, eps []float64) []float64 {
	t.Helper()
	g := make([]float64, len(eps))
	for i := range eps {
		up, dn := append([]float64(nil), eps...), append([]float64(nil), eps...)
		up[i] += 1e-4
		dn[i] -= 1e-4
		g[i] = (hostLinearLoss(t, p, rows, up) - hostLinearLoss(t, p, rows, dn)) / 2e-4
	}
	return g
}

// TestSamplerEstimatorFollowsAlgorithm3: each TSAM sample of the default estimator is the
// loss at z_j + ρ·∇L(θ+z_j)/‖∇L(θ+z_j)‖ with z_j the j-th random start (norm ≤ r, E‖z‖² = r²),
// recomputed on the host; the output names the estimator and r, not a ball radius.
func TestSamplerEstimatorFollowsAlgorithm3(t *testing.T) {
	p, rows := linearProblem(t, 6, 20, 2, 8)
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const rho, r = 0.3, 2.0
	o, err := e.Objectives(ObjectiveOptions{Rho: rho, R: r, SAMSteps: 1, T: 3, Samples: 5, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if o.Estimator != EstimatorSampler || o.R != r || o.TSAMRho != 0 || len(o.TSAMLosses) != 5 {
		t.Fatalf("estimator %q, r %v, ball %v, %d losses", o.Estimator, o.R, o.TSAMRho, len(o.TSAMLosses))
	}
	for j, l := range o.TSAMLosses {
		z := randomStart(7, j, 6, r)
		if zn := norm(z); zn > r*(1+1e-12) || zn < r/10 {
			t.Errorf("random start %d has norm %v for r = %v", j, zn, r)
		}
		g := hostLinearGrad(t, p, rows, z)
		eps := append([]float64(nil), z...)
		axpy(eps, rho/norm(g), g)
		if want := hostLinearLoss(t, p, rows, eps); math.Abs(l-want) > 1e-8*want {
			t.Errorf("sample %d: %.12g, host %.12g", j, l, want)
		}
	}
	if o.TSAMSE <= 0 || math.IsNaN(o.TSAMSE) {
		t.Errorf("standard error %v from 5 distinct samples", o.TSAMSE)
	}
}

// TestTiltedSE: the delta-method standard error against a hand computation, its t → 0 limit
// (the standard error of the mean) and its invariance to a shift of every loss.
func TestTiltedSE(t *testing.T) {
	losses := []float64{1, 2, 4}
	// A_j = exp(L_j): mean Ā, sample sd s_A; SE = s_A/(√3·1·Ā).
	a := []float64{math.E, math.Exp(2), math.Exp(4)}
	mean := (a[0] + a[1] + a[2]) / 3
	v := 0.0
	for _, x := range a {
		v += (x - mean) * (x - mean) / 2
	}
	want := math.Sqrt(v) / (math.Sqrt(3) * mean)
	if got := tiltedSE(losses, 1); math.Abs(got-want) > 1e-12 {
		t.Errorf("t = 1: %.15g, want %.15g", got, want)
	}
	shifted := []float64{1001, 1002, 1004}
	if got := tiltedSE(shifted, 1); math.Abs(got-want) > 1e-12 {
		t.Errorf("shifted by 1000: %.15g, want %.15g (overflow?)", got, want)
	}
	// sd of {1,2,4} is √(7/3); SE of the mean √(7/3)/√3.
	sem := math.Sqrt(7.0/3) / math.Sqrt(3)
	for _, tt := range []float64{0, 1e-12} {
		if got := tiltedSE(losses, tt); math.Abs(got-sem) > 1e-9 {
			t.Errorf("t = %v: %.15g, want the mean's SE %.15g", tt, got, sem)
		}
	}
	if got := tiltedSE(losses, 1e-4); math.Abs(got-sem) > 1e-3*sem {
		t.Errorf("t = 1e-4: %.15g, should be near the mean's SE %.15g", got, sem)
	}
	if got := tiltedSE([]float64{3}, 5); got != 0 {
		t.Errorf("one sample: %v", got)
	}
}

// TestRelativeRandomStart: with RRelative the random start of each parameter tensor has norm
// at most r·‖v‖ and near it, and the sample is the loss after the ascent step from there.
func TestRelativeRandomStart(t *testing.T) {
	p, rows := linearProblem(t, 6, 20, 2, 8)
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	w, _ := tensors.CopyFlatData[float64](p.Context.In("linear").GetVariable("w").MustValue())
	const r, rho = 0.2, 0.1
	o, err := e.Objectives(ObjectiveOptions{Rho: rho, R: r, RRelative: true, SAMSteps: 1, T: 1, Samples: 3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !o.RRelative || o.R != r {
		t.Fatalf("output r = %v relative %v", o.R, o.RRelative)
	}
	for j, l := range o.TSAMLosses {
		z, err := e.relativeStart(3, j, r)
		if err != nil {
			t.Fatal(err)
		}
		if n := norm(z); n > r*norm(w)*(1+1e-12) || n < r*norm(w)/10 {
			t.Errorf("start %d: ‖z‖ = %v, r·‖w‖ = %v", j, n, r*norm(w))
		}
		g := hostLinearGrad(t, p, rows, z)
		axpy(z, rho/norm(g), g)
		if want := hostLinearLoss(t, p, rows, z); math.Abs(l-want) > 1e-8*want {
			t.Errorf("sample %d: %.12g, host %.12g", j, l, want)
		}
	}
	if _, err := e.Objectives(ObjectiveOptions{R: 3, RRelative: true}); err == nil {
		t.Error("a relative r = 3 was accepted")
	}
}
