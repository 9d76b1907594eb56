package study

import (
	"encoding/json"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Paired compares two rows of a table seed by seed. The study trains every method on the
// same seeds (the same initialisation, data order, label noise and validation split), so
// the variation that seeds share cancels in the per-seed difference d_i = a_i − b_i, and
// the paired t-test on the d_i is the test that uses it.
type Paired struct {
	// N is the number of seeds both rows have.
	N int `json:"n"`
	// Mean is the mean difference a − b; SD the sample standard deviation of the differences
	// and SE = SD/√N their standard error.
	Mean float64 `json:"mean_diff"`
	SD   float64 `json:"sd"`
	SE   float64 `json:"se"`
	// T is Mean/SE and P its two-sided p-value under Student's t with N−1 degrees of freedom
	// (P = 1 when N < 2; P = 0 when every difference is the same non-zero number).
	T float64 `json:"t"`
	P float64 `json:"p"`
	// Lo and Hi bound the 95% confidence interval of the mean difference (−∞ and +∞ with
	// fewer than 2 seeds; null in JSON).
	Lo float64 `json:"ci_lo"`
	Hi float64 `json:"ci_hi"`
}

// MarshalJSON writes T, Lo and Hi as null where they are infinite (T when every difference
// is the same non-zero number, the interval with fewer than 2 seeds): JSON has no infinity,
// and results.json must be written whatever the runs so far.
func (p Paired) MarshalJSON() ([]byte, error) {
	type plain Paired // without this method
	finite := func(v float64) *float64 {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		T  *float64 `json:"t"`
		Lo *float64 `json:"ci_lo"`
		Hi *float64 `json:"ci_hi"`
	}{plain(p), finite(p.T), finite(p.Lo), finite(p.Hi)})
}

// pairedTest runs the paired t-test of a against b over the seeds both have.
func pairedTest(a, b map[int64]float64) Paired {
	var d []float64
	for seed, x := range a {
		if y, ok := b[seed]; ok {
			d = append(d, x-y)
		}
	}
	sort.Float64s(d) // a fixed summation order: the same inputs give the same bits
	p := Paired{N: len(d), P: 1, Lo: math.Inf(-1), Hi: math.Inf(1)}
	if p.N == 0 {
		return p
	}
	for _, x := range d {
		p.Mean += x / float64(p.N)
	}
	if p.N < 2 {
		return p
	}
	var ss float64
	for _, x := range d {
		ss += (x - p.Mean) * (x - p.Mean)
	}
	p.SD = math.Sqrt(ss / float64(p.N-1))
	p.SE = p.SD / math.Sqrt(float64(p.N))
	df := float64(p.N - 1)
	half := tQuantile(0.975, df) * p.SE
	p.Lo, p.Hi = p.Mean-half, p.Mean+half
	switch {
	case p.SE > 0:
		p.T = p.Mean / p.SE
		p.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(p.T))
	case p.Mean != 0:
		p.T, p.P = math.Copysign(math.Inf(1), p.Mean), 0
	default:
		p.P = 1
	}
	return p
}

// tQuantile is the q-quantile of Student's t with df degrees of freedom.
func tQuantile(q, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(q)
}

// holm returns Holm's step-down adjusted p-values of the comparisons of one claim: the
// family-wise error over all of them is held at the level the adjusted values are compared
// with. Sorted ascending, the k-th smallest p (0-based) is multiplied by m−k, the running
// maximum is taken so the order is kept, and values are capped at 1.
func holm(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return ps[idx[i]] < ps[idx[j]] })
	out := make([]float64, m)
	running := 0.0
	for k, i := range idx {
		adj := math.Min(1, float64(m-k)*ps[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// seedsNeeded estimates how many paired seeds a two-sided paired t-test at level alpha would
// need to detect a true mean difference of the observed size with probability power, if the
// differences keep the observed standard deviation: the smallest n with
// n ≥ ((t_{1−α/2,n−1} + t_{power,n−1})·sd/|mean|)², the usual t-refined normal
// approximation. It returns 0 when the difference is 0 or sd is unknown (fewer than 2 seeds),
// and caps the answer at 10,000.
func seedsNeeded(mean, sd, alpha, power float64) int {
	if mean == 0 || !(sd > 0) || math.IsInf(sd, 0) {
		return 0
	}
	ratio := sd / math.Abs(mean)
	for n := 2; n < seedsNeededCap; n++ {
		df := float64(n - 1)
		need := math.Pow((tQuantile(1-alpha/2, df)+tQuantile(power, df))*ratio, 2)
		if float64(n) >= need {
			return n
		}
	}
	return seedsNeededCap
}

// seedsNeededCap is the most seeds seedsNeeded reports: "more than any study could run".
const seedsNeededCap = 10000
