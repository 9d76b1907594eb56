package tilt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sampleLosses returns n reproducible losses in [0, 3).
func sampleLosses(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n)
	for i := range x {
		x[i] = 3 * r.Float64()
	}
	return x
}

func mustObjective(t *testing.T, losses []float64, tilt float64) float64 {
	t.Helper()
	v, err := Objective(losses, tilt)
	if err != nil {
		t.Fatalf("Objective(t=%v): %v", tilt, err)
	}
	return v
}

// naiveObjective is the textbook (1/t)·log mean exp(t·L), valid for moderate t·L.
func naiveObjective(losses []float64, t float64) float64 {
	s := 0.0
	for _, l := range losses {
		s += math.Exp(t * l)
	}
	return math.Log(s/float64(len(losses))) / t
}

func TestObjectiveMatchesNaiveFormula(t *testing.T) {
	losses := sampleLosses(7, 1)
	for _, tt := range []float64{0.01, 0.5, 1, 3, 10} {
		got, want := mustObjective(t, losses, tt), naiveObjective(losses, tt)
		if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("t=%v: Objective=%.17g, naive=%.17g", tt, got, want)
		}
	}
}

func TestObjectiveNonDecreasingInT(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		losses := sampleLosses(20, seed)
		prev := mustObjective(t, losses, 0)
		for tt := 0.001; tt < 1e4; tt *= 1.3 {
			v := mustObjective(t, losses, tt)
			if v < prev-1e-13 {
				t.Fatalf("seed %d: L_t decreased from %.17g to %.17g at t=%v", seed, prev, v, tt)
			}
			prev = v
		}
	}
}

func TestObjectiveAtZeroIsMeanAndContinuous(t *testing.T) {
	losses := []float64{0.3, 1.7, 2.2, 0.05, 5}
	mean := (0.3 + 1.7 + 2.2 + 0.05 + 5) / 5
	if got := mustObjective(t, losses, 0); math.Abs(got-mean) > 1e-15 {
		t.Fatalf("t=0: got %.17g, want mean %.17g", got, mean)
	}
	at0 := mustObjective(t, losses, 0)
	tiny := mustObjective(t, losses, 1e-12)
	// The difference should be the first-order term (t/2)·var ≈ 1e-12, not rounding noise
	// amplified by 1/t (which the plain log form would give).
	if d := math.Abs(tiny - at0); d > 1e-11 {
		t.Fatalf("t=1e-12 gives %.17g, t=0 gives %.17g: jump %g", tiny, at0, d)
	}
}

func TestObjectiveLargeTApproachesMax(t *testing.T) {
	losses := sampleLosses(10, 3)
	m := maxOf(losses)
	for _, tt := range []float64{1e2, 1e4, 1e6} {
		v := mustObjective(t, losses, tt)
		// L_t ∈ [max + log(1/n)/t, max].
		if v > m+1e-12 || v < m+math.Log(0.1)/tt-1e-12 {
			t.Errorf("t=%v: L_t=%.17g not within [max+log(1/n)/t, max=%.17g]", tt, v, m)
		}
	}
	if v := mustObjective(t, losses, 1e6); math.Abs(v-m) > 1e-5 {
		t.Errorf("t=1e6: L_t=%v, max=%v", v, m)
	}
}

func TestSmallTExpansionIsSecondOrder(t *testing.T) {
	losses := sampleLosses(50, 4)
	mean, variance, err := Moments(losses, 0)
	if err != nil {
		t.Fatal(err)
	}
	errAt := func(tt float64) float64 {
		return math.Abs(mustObjective(t, losses, tt) - (mean + tt/2*variance))
	}
	for _, tt := range []float64{0.1, 0.05, 0.025} {
		ratio := errAt(tt) / errAt(tt/2)
		if ratio < 3.5 || ratio > 4.5 {
			t.Errorf("t=%v: error ratio err(t)/err(t/2)=%.3f, want ≈4 (O(t²) remainder)", tt, ratio)
		}
	}
}

// TestGradientIsTiltedAverage checks Lemma 3.2 on a finite sample: with smooth losses
// L_i(θ) = a_i·sin(θ) + b_i·θ², dL_t/dθ = Σ w_i·L_i'(θ) with w = softmax(t·L).
func TestGradientIsTiltedAverage(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	n := 8
	a, b := make([]float64, n), make([]float64, n)
	for i := range a {
		a[i], b[i] = 2*r.Float64()-1, r.Float64()
	}
	lossesAt := func(theta float64) []float64 {
		l := make([]float64, n)
		for i := range l {
			l[i] = a[i]*math.Sin(theta) + b[i]*theta*theta
		}
		return l
	}
	for _, tt := range []float64{0, 0.5, 5, 50} {
		for _, theta := range []float64{-1.2, 0.3, 2} {
			w, err := Weights(lossesAt(theta), tt, 0)
			if err != nil {
				t.Fatal(err)
			}
			grad := 0.0
			for i := range w {
				grad += w[i] * (a[i]*math.Cos(theta) + 2*b[i]*theta)
			}
			h := 1e-5
			fd := (mustObjective(t, lossesAt(theta+h), tt) - mustObjective(t, lossesAt(theta-h), tt)) / (2 * h)
			if math.Abs(fd-grad) > 1e-6*math.Max(1, math.Abs(grad)) {
				t.Errorf("t=%v θ=%v: tilted average %.10g, finite difference %.10g", tt, theta, grad, fd)
			}
		}
	}
}

func checkWeights(t *testing.T, w []float64) {
	t.Helper()
	sum := 0.0
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Fatalf("weight %d = %v", i, v)
		}
		sum += v
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Fatalf("weights sum to %.17g, want 1", sum)
	}
}

func TestWeightsStableForHugeTiltedLosses(t *testing.T) {
	// t·L up to 1e6.
	w, err := Weights([]float64{0, 0.5, 1, 1 - 1e-5}, 1e6, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkWeights(t, w)
	if w[2] < w[3] || w[2] < 0.99 {
		t.Errorf("largest loss should dominate: %v", w)
	}
	// Losses that differ by 1e4 at t = 1.
	w, err = Weights([]float64{-5e3, 5e3, 0}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkWeights(t, w)
	if w[1] != 1 {
		t.Errorf("w=%v, want all weight on the 5e3 loss", w)
	}
	if v := mustObjective(t, []float64{-5e3, 5e3}, 1); math.Abs(v-(5e3+math.Log(0.5))) > 1e-9 {
		t.Errorf("objective %v, want 5e3+log(1/2)", v)
	}
	if v := mustObjective(t, []float64{1e6, 0}, 1); math.IsInf(v, 0) || math.IsNaN(v) {
		t.Errorf("objective overflowed: %v", v)
	}
}

func TestWeightsDeltaEqualTIsUniform(t *testing.T) {
	w, err := Weights(sampleLosses(5, 6), 7, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range w {
		if math.Abs(v-0.2) > 1e-15 {
			t.Errorf("w[%d]=%v, want 0.2", i, v)
		}
	}
}

func TestWeightsUseTMinusDelta(t *testing.T) {
	losses := sampleLosses(6, 7)
	w1, _ := Weights(losses, 5, 2)
	w2, _ := Weights(losses, 3, 0)
	for i := range w1 {
		if math.Abs(w1[i]-w2[i]) > 1e-15 {
			t.Fatalf("softmax((5−2)L) ≠ softmax(3L): %v vs %v", w1, w2)
		}
	}
	// Larger losses get larger weights.
	for i := range losses {
		for j := range losses {
			if losses[i] > losses[j] && w1[i] <= w1[j] {
				t.Fatalf("loss %v got weight %v ≤ weight %v of loss %v", losses[i], w1[i], w1[j], losses[j])
			}
		}
	}
}

func TestMomentsVarianceNonNegativeAndMatchesDefinition(t *testing.T) {
	x := sampleLosses(30, 8)
	for _, tt := range []float64{0, 0.3, 2, 40, 1e5} {
		mean, variance, err := Moments(x, tt)
		if err != nil {
			t.Fatal(err)
		}
		if variance < 0 {
			t.Fatalf("t=%v: variance %v < 0", tt, variance)
		}
		if tt > 50 {
			continue
		}
		// Definition 3.4 directly: E[e^{tX}X²]/E[e^{tX}] − mean².
		z, m1, m2 := 0.0, 0.0, 0.0
		for _, v := range x {
			e := math.Exp(tt * v)
			z += e
			m1 += e * v
			m2 += e * v * v
		}
		m1, m2 = m1/z, m2/z
		if math.Abs(mean-m1) > 1e-12 || math.Abs(variance-(m2-m1*m1)) > 1e-10 {
			t.Errorf("t=%v: got (%v, %v), definition gives (%v, %v)", tt, mean, variance, m1, m2-m1*m1)
		}
	}
	// Constant values: variance exactly 0 at any t.
	if _, v, _ := Moments([]float64{2, 2, 2}, 1e6); v != 0 {
		t.Errorf("variance of constants = %v", v)
	}
}

func TestObjectivePWithQuadratureWeights(t *testing.T) {
	// Duplicate a value instead of weighting it 2: both must agree.
	l := []float64{0.1, 0.9, 2.5}
	p := []float64{1, 2, 1}
	dup := []float64{0.1, 0.9, 0.9, 2.5}
	for _, tt := range []float64{0, 0.7, 30} {
		a, err := ObjectiveP(l, p, tt)
		if err != nil {
			t.Fatal(err)
		}
		b := mustObjective(t, dup, tt)
		if math.Abs(a-b) > 1e-14 {
			t.Errorf("t=%v: weighted %v vs duplicated %v", tt, a, b)
		}
	}
}

func TestLogSumExp(t *testing.T) {
	if v := LogSumExp([]float64{1000, 1000}); math.Abs(v-(1000+math.Ln2)) > 1e-12 {
		t.Errorf("LogSumExp overflow: %v", v)
	}
	if v := LogSumExp([]float64{math.Log(2), math.Log(3)}); math.Abs(v-math.Log(5)) > 1e-15 {
		t.Errorf("LogSumExp = %v, want log 5", v)
	}
	if v := LogSumExp(nil); !math.IsInf(v, -1) {
		t.Errorf("LogSumExp(nil) = %v", v)
	}
	v, err := WeightedLogSumExp([]float64{-1e4, 1e4}, []float64{0.5, 0.5})
	if err != nil || math.Abs(v-(1e4+math.Log(0.5))) > 1e-9 {
		t.Errorf("WeightedLogSumExp = %v, %v", v, err)
	}
	if _, err := WeightedLogSumExp([]float64{1}, []float64{-1}); err == nil {
		t.Error("negative weight accepted")
	}
}

func TestESS(t *testing.T) {
	if v := ESS([]float64{0.25, 0.25, 0.25, 0.25}); math.Abs(v-4) > 1e-14 {
		t.Errorf("ESS(equal 4) = %v", v)
	}
	if v := ESS([]float64{1, 0, 0}); v != 1 {
		t.Errorf("ESS(one-hot) = %v", v)
	}
	if v := ESS([]float64{0.5, 0.3, 0.2}); math.Abs(v-1/(0.25+0.09+0.04)) > 1e-12 {
		t.Errorf("ESS = %v, want 1/Σw²", v)
	}
	if v := ESS([]float64{1e-200, 1e-200}); math.Abs(v-2) > 1e-12 {
		t.Errorf("ESS of tiny weights = %v", v)
	}
	if v := ESS([]float64{0.5, -0.5}); !math.IsNaN(v) {
		t.Errorf("ESS of negative weight = %v, want NaN", v)
	}
}

func TestValidation(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	ok := []float64{1, 2}
	cases := []struct {
		name string
		err  error
	}{
		{"t<0", second(Objective(ok, -1))},
		{"t NaN", second(Objective(ok, nan))},
		{"t Inf", second(Objective(ok, inf))},
		{"loss NaN", second(Objective([]float64{1, nan}, 1))},
		{"loss Inf", second(Objective([]float64{inf}, 1))},
		{"empty", second(Objective(nil, 1))},
		{"δ<0", second(Weights(ok, 1, -0.1))},
		{"δ>t", second(Weights(ok, 1, 2))},
		{"δ NaN", second(Weights(ok, 1, nan))},
		{"p length", second(ObjectiveP(ok, []float64{1}, 1))},
		{"p negative", second(ObjectiveP(ok, []float64{1, -1}, 1))},
		{"p zero", second(ObjectiveP(ok, []float64{0, 0}, 1))},
		{"moments t<0", third(Moments(ok, -2))},
		{"Validate δ>t", Validate(1, 1.5)},
		{"Validate t<0", Validate(-1, 0)},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := Validate(2, 1); err != nil {
		t.Errorf("Validate(2, 1): %v", err)
	}
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }
