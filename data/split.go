package data

import (
	"fmt"
	"math/rand/v2"
)

// splitIndices shuffles 0..n-1 from seed and cuts off the last valCount as validation.
func splitIndices(n, valCount int, seed uint64) (train, val []int, err error) {
	if valCount <= 0 || valCount >= n {
		return nil, nil, fmt.Errorf("validation size %d: must lie in [1,%d) for %d examples", valCount, n, n)
	}
	perm := rand.New(rand.NewPCG(seed, 0x73706c6974)).Perm(n) // "split"
	return perm[:n-valCount], perm[n-valCount:], nil
}

// valCountOf turns a fraction in (0,1) into a count of n.
func valCountOf(n int, fraction float64) int {
	return int(fraction*float64(n) + 0.5)
}

// ValidationIndices is the seeded choice SplitValidation makes for n examples: the indices
// of the training part and of the validation part (round(fraction·n) of them), so a caller
// can copy only the examples it keeps.
func ValidationIndices(n int, fraction float64, seed uint64) (train, val []int, err error) {
	tr, va, err := splitIndices(n, valCountOf(n, fraction), seed)
	if err != nil {
		return nil, nil, fmt.Errorf("validation fraction %v: %w", fraction, err)
	}
	return tr, va, nil
}

// SplitValidation splits m at random (from seed) into a training part and a validation
// part holding round(fraction·N) images. Both are copies; labels keep their class.
func (m *Images) SplitValidation(fraction float64, seed uint64) (train, val *Images, err error) {
	tr, va, err := ValidationIndices(m.N, fraction, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	return m.Subset(m.Name+"/train-part", tr), m.Subset(m.Name+"/validation", va), nil
}

// SplitValidation splits t at random (from seed) into training and validation parts.
func (t *Text) SplitValidation(fraction float64, seed uint64) (train, val *Text, err error) {
	tr, va, err := splitIndices(t.N(), valCountOf(t.N(), fraction), seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: validation fraction %v: %w", t.Name, fraction, err)
	}
	return t.Subset(t.Name+"/train-part", tr), t.Subset(t.Name+"/validation", va), nil
}
