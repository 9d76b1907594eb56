package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// NoiseReport says what SymmetricNoise did.
type NoiseReport struct {
	// Changed is the number of labels replaced; each replaced label differs from the original.
	Changed int
	// Rate is the realised noise rate Changed/N.
	Rate float64
}

// SymmetricNoise returns a copy of labels in which round(p·N) labels, chosen uniformly
// without replacement, are each replaced by a class drawn uniformly from the numClasses−1
// classes other than the true one (so no chosen label keeps its class). The same seed
// gives the same result. The original slice is not modified.
func SymmetricNoise(labels []int32, numClasses int, p float64, seed uint64) ([]int32, NoiseReport, error) {
	if !(p >= 0 && p <= 1) {
		return nil, NoiseReport{}, fmt.Errorf("label noise rate %v: must lie in [0,1]", p)
	}
	if numClasses < 2 && p > 0 {
		return nil, NoiseReport{}, fmt.Errorf("label noise needs at least 2 classes, have %d", numClasses)
	}
	for i, y := range labels {
		if y < 0 || int(y) >= numClasses {
			return nil, NoiseReport{}, fmt.Errorf("label %d of example %d is outside [0,%d)", y, i, numClasses)
		}
	}
	out := append([]int32(nil), labels...)
	k := int(math.Round(p * float64(len(labels))))
	rng := rand.New(rand.NewPCG(seed, 0x6c6162656c6e6f69)) // second word: "labelnoi"
	for _, i := range rng.Perm(len(labels))[:k] {
		// Draw from the other numClasses−1 classes: skip over the true one.
		r := int32(rng.IntN(numClasses - 1))
		if r >= out[i] {
			r++
		}
		out[i] = r
	}
	rep := NoiseReport{Changed: k}
	if len(labels) > 0 {
		rep.Rate = float64(k) / float64(len(labels))
	}
	return out, rep, nil
}

// WithLabelNoise returns a copy of m (sharing X) whose labels carry symmetric noise at rate
// p from seed, and the realised rate.
func (m *Images) WithLabelNoise(p float64, seed uint64) (*Images, NoiseReport, error) {
	y, rep, err := SymmetricNoise(m.Y, m.NumClasses, p, seed)
	if err != nil {
		return nil, rep, fmt.Errorf("%s: %w", m.Name, err)
	}
	out := *m
	out.Name = fmt.Sprintf("%s+noise%g", m.Name, p)
	out.Y = y
	return &out, rep, nil
}

// WithLabelNoise returns a copy of t (sharing the sentences) with symmetric label noise.
func (t *Text) WithLabelNoise(p float64, seed uint64) (*Text, NoiseReport, error) {
	y, rep, err := SymmetricNoise(t.Y, t.NumClasses, p, seed)
	if err != nil {
		return nil, rep, fmt.Errorf("%s: %w", t.Name, err)
	}
	out := *t
	out.Name = fmt.Sprintf("%s+noise%g", t.Name, p)
	out.Y = y
	return &out, rep, nil
}
