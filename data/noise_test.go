package data

import (
	"math"
	"slices"
	"testing"
)

func TestSymmetricNoise(t *testing.T) {
	const n, k, p = 50000, 10, 0.2
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % k)
	}
	orig := slices.Clone(labels)
	noisy, rep, err := SymmetricNoise(labels, k, p, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(labels, orig) {
		t.Fatal("input labels were modified")
	}
	changed := 0
	moves := make([][]int, k)
	for i := range moves {
		moves[i] = make([]int, k)
	}
	for i := range noisy {
		if noisy[i] < 0 || noisy[i] >= k {
			t.Fatalf("label %d out of range", noisy[i])
		}
		if noisy[i] != labels[i] {
			changed++
		}
		moves[labels[i]][noisy[i]]++
	}
	// Every chosen label changed class: the realised rate counts real changes.
	if changed != rep.Changed || math.Abs(rep.Rate-p) > 0.01 || float64(changed)/n != rep.Rate {
		t.Fatalf("changed %d, report %+v", changed, rep)
	}
	// Replacements are uniform over the other classes: each off-diagonal cell expects
	// n·p/(k(k−1)) ≈ 111; allow 5 standard deviations.
	want := float64(n) * p / float64(k*(k-1))
	for a := range k {
		for b := range k {
			if a != b && math.Abs(float64(moves[a][b])-want) > 5*math.Sqrt(want) {
				t.Fatalf("moves %d→%d = %d, want about %.0f", a, b, moves[a][b], want)
			}
		}
	}
	again, _, _ := SymmetricNoise(labels, k, p, 7)
	other, _, _ := SymmetricNoise(labels, k, p, 8)
	if !slices.Equal(noisy, again) || slices.Equal(noisy, other) {
		t.Fatal("noise is not a function of the seed")
	}
}

func TestSymmetricNoiseErrors(t *testing.T) {
	_, _, err := SymmetricNoise([]int32{0, 1}, 2, 1.5, 0)
	wantErr(t, err, "rate 1.5")
	_, _, err = SymmetricNoise([]int32{0, 3}, 2, 0.5, 0)
	wantErr(t, err, "label 3")
	y, rep, err := SymmetricNoise([]int32{0, 1, 1}, 2, 1, 0)
	if err != nil || rep.Rate != 1 || !slices.Equal(y, []int32{1, 0, 0}) {
		t.Fatalf("p=1 on two classes must flip every label: %v %+v %v", y, rep, err)
	}
}

func TestSplitValidation(t *testing.T) {
	m := rampImages(100, 1, 1, 1, 100)
	tr, va, err := m.SplitValidation(0.1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 90 || va.N != 10 {
		t.Fatalf("sizes %d %d", tr.N, va.N)
	}
	seen := map[int32]bool{}
	for _, s := range []*Images{tr, va} {
		for i, y := range s.Y {
			// rampImages: image i has label i, and its pixel is i/251.
			if s.X[i] != float32(y)/251 || seen[y] {
				t.Fatalf("image/label mismatch or duplicate at label %d", y)
			}
			seen[y] = true
		}
	}
	tr2, _, _ := m.SplitValidation(0.1, 3)
	if !slices.Equal(tr.Y, tr2.Y) {
		t.Fatal("same seed, different split")
	}
	_, _, err = m.SplitValidation(0, 3)
	wantErr(t, err, "ramp", "validation")
}
