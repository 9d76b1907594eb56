package sharpness

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestFlatnessMatchesHostComputation: every sampled loss equals the float64 host computation
// at the same ε, the statistics are the mean and population variance of those losses, and the
// weights are bit-for-bit unchanged afterwards.
func TestFlatnessMatchesHostComputation(t *testing.T) {
	p, rows := linearProblem(t, 6, 10, 2, 21)
	before, _ := tensors.CopyFlatData[float64](p.Context.In("linear").GetVariable("w").MustValue())
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const m = 7
	res, err := e.Flatness(FlatnessOptions{Deltas: []float64{0, 0.05, 0.5}, M: m, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := hostLinearLoss(t, p, rows, nil); math.Abs(res.Base-want) > 1e-12*want {
		t.Errorf("Base = %.15g, host %.15g", res.Base, want)
	}
	for _, pt := range res.Points {
		if len(pt.Losses) != m {
			t.Fatalf("δ=%v: %d losses, want %d", pt.Delta, len(pt.Losses), m)
		}
		host := make([]float64, m)
		mean := 0.0
		for j, l := range pt.Losses {
			host[j] = hostLinearLoss(t, p, rows, scaled(gaussianDraw(3, j, e.NumParams()), pt.Delta))
			if math.Abs(l-host[j]) > 1e-12*host[j] {
				t.Errorf("δ=%v draw %d: loss %.15g, host %.15g", pt.Delta, j, l, host[j])
			}
			mean += host[j] / m
		}
		variance := 0.0
		for _, h := range host {
			variance += (h - mean) * (h - mean) / m
		}
		if math.Abs(pt.Mean-mean) > 1e-12*mean || math.Abs(pt.Variance-variance) > 1e-9*variance+1e-20*mean*mean {
			t.Errorf("δ=%v: mean %.15g var %.15g, host %.15g %.15g", pt.Delta, pt.Mean, pt.Variance, mean, variance)
		}
		// The mean's Monte-Carlo standard error: the sample standard deviation over √M.
		if se := math.Sqrt(variance * m / (m - 1) / m); math.Abs(pt.MeanSE-se) > 1e-9*se+1e-20 {
			t.Errorf("δ=%v: mean's standard error %.15g, host %.15g", pt.Delta, pt.MeanSE, se)
		}
	}
	if res.Points[0].Variance > 1e-20*res.Base*res.Base || math.Abs(res.Points[0].Mean-res.Base) > 1e-14*res.Base {
		t.Errorf("δ=0 must give the unperturbed loss with no variance: %+v", res.Points[0])
	}
	if !(res.Points[2].Variance > res.Points[1].Variance) {
		t.Errorf("variance should grow with δ: %v then %v", res.Points[1].Variance, res.Points[2].Variance)
	}
	after, _ := tensors.CopyFlatData[float64](p.Context.In("linear").GetVariable("w").MustValue())
	if !slices.Equal(before, after) {
		t.Errorf("weights changed: %v -> %v", before, after)
	}
}

// TestFlatnessBadOptions: clear errors.
func TestFlatnessBadOptions(t *testing.T) {
	p, _ := linearProblem(t, 3, 4, 1, 1)
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, o := range []FlatnessOptions{{Deltas: []float64{}}, {Deltas: []float64{-0.1}}, {Deltas: []float64{math.NaN()}}, {M: -2}} {
		if _, err := e.Flatness(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestMeanStandardError: √(population variance/(m−1)), and 0 (unknown) for fewer than 2 draws.
func TestMeanStandardError(t *testing.T) {
	// Draws 1, 3: population variance 1, sample variance 2, standard error √(2/2) = 1.
	if got := MeanStandardError(1, 2); got != 1 {
		t.Errorf("MeanStandardError(1, 2) = %g, want 1", got)
	}
	if got := MeanStandardError(4, 5); math.Abs(got-1) > 1e-15 {
		t.Errorf("MeanStandardError(4, 5) = %g, want 1", got)
	}
	if got := MeanStandardError(3, 1); got != 0 {
		t.Errorf("one draw: %g, want 0", got)
	}
}
