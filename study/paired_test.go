package study

import (
	"encoding/json"
	"math"
	"testing"
)

func TestPairedTestAgainstHandComputation(t *testing.T) {
	// Differences 1, 2, 3, 4, 5 (a − b): mean 3, sd √2.5, se √0.5, t = 3/√0.5 = 4.2426,
	// df 4; two-sided p = 0.01324 (Student's t), 95% CI 3 ± 2.7764451·√0.5.
	a := map[int64]float64{1: 11, 2: 12, 3: 13, 4: 14, 5: 15, 6: 99}
	b := map[int64]float64{1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 7: -99}
	p := pairedTest(a, b)
	if p.N != 5 {
		t.Fatalf("N = %d, want 5 (only shared seeds)", p.N)
	}
	close := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.8g, want %.8g", name, got, want)
		}
	}
	close("mean", p.Mean, 3, 1e-12)
	close("sd", p.SD, math.Sqrt(2.5), 1e-12)
	close("se", p.SE, math.Sqrt(0.5), 1e-12)
	close("t", p.T, 3/math.Sqrt(0.5), 1e-12)
	close("p", p.P, 0.013236, 2e-6)
	close("ci lo", p.Lo, 3-2.7764451*math.Sqrt(0.5), 1e-6)
	close("ci hi", p.Hi, 3+2.7764451*math.Sqrt(0.5), 1e-6)
	// Swapping the rows flips the sign and keeps p.
	q := pairedTest(b, a)
	close("swapped mean", q.Mean, -3, 1e-12)
	close("swapped p", q.P, p.P, 1e-15)
}

func TestPairedTestEdgeCases(t *testing.T) {
	same := map[int64]float64{1: 0.5, 2: 0.6, 3: 0.7}
	if p := pairedTest(same, same); p.P != 1 || p.Mean != 0 || p.Lo != 0 || p.Hi != 0 {
		t.Errorf("identical rows: %+v, want p = 1 and a zero interval", p)
	}
	shifted := map[int64]float64{1: 1.5, 2: 1.6, 3: 1.7}
	if p := pairedTest(shifted, same); p.P != 0 || !(p.T > 0) {
		t.Errorf("a constant non-zero difference: %+v, want p = 0", p)
	}
	if p := pairedTest(map[int64]float64{1: 2}, map[int64]float64{1: 1}); p.N != 1 || p.P != 1 || !math.IsInf(p.Hi, 1) {
		t.Errorf("one seed: %+v, want no test (p = 1, unbounded interval)", p)
	}
	if p := pairedTest(map[int64]float64{1: 2}, map[int64]float64{2: 1}); p.N != 0 || p.P != 1 {
		t.Errorf("no shared seed: %+v", p)
	}
}

func TestHolmAdjustment(t *testing.T) {
	// Holm (1979): sorted p 0.01, 0.02, 0.03, 0.5 with m = 4 → 0.04, 0.06, 0.06 (running
	// max of 0.06), 0.5; the output keeps the input order.
	got := holm([]float64{0.03, 0.5, 0.01, 0.02})
	want := []float64{0.06, 0.5, 0.04, 0.06}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("holm = %v, want %v", got, want)
		}
	}
	if got := holm([]float64{0.4, 0.9}); got[0] != 0.8 || got[1] != 0.9 {
		t.Errorf("holm caps and keeps order: %v", got)
	}
}

func TestSeedsNeeded(t *testing.T) {
	// An effect of one standard deviation needs about 10 pairs at α = 0.05, power 0.8
	// (the normal approximation gives 7.85; the t correction adds two).
	if n := seedsNeeded(1, 1, 0.05, 0.8); n < 9 || n > 11 {
		t.Errorf("seedsNeeded(d = sd) = %d, want about 10", n)
	}
	small, large := seedsNeeded(0.5, 1, 0.05, 0.8), seedsNeeded(2, 1, 0.05, 0.8)
	if !(small > 30 && large < 6) {
		t.Errorf("seedsNeeded should grow as the effect shrinks: d=0.5 → %d, d=2 → %d", small, large)
	}
	if n := seedsNeeded(0, 1, 0.05, 0.8); n != 0 {
		t.Errorf("no difference: %d, want 0", n)
	}
}

// TestPairedJSONWithoutInterval: a comparison with one seed (an infinite interval) or with
// identical differences (an infinite t) still encodes, as null, so a partial report can
// always be written.
func TestPairedJSONWithoutInterval(t *testing.T) {
	one := pairedTest(map[int64]float64{1: 2}, map[int64]float64{1: 1})
	same := pairedTest(map[int64]float64{1: 2, 2: 3}, map[int64]float64{1: 1, 2: 2})
	if !math.IsInf(same.T, 1) {
		t.Fatalf("premise: identical differences give t = %g, want +Inf", same.T)
	}
	b, err := json.Marshal([]Paired{one, same})
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back[0]["ci_lo"] != nil || back[0]["ci_hi"] != nil || back[1]["t"] != nil || back[1]["mean_diff"] != 1.0 || back[1]["ci_lo"] != 1.0 {
		t.Errorf("encoded %s", b)
	}
}
