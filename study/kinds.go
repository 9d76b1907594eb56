package study

import (
	"fmt"
	"math"
	"strings"
)

// Section kinds: how a section's rows are compared and what its claim means.
const (
	// KindBest: the Subject row has the highest test accuracy of all rows (Table 1, Fig. 5).
	KindBest = "best"
	// KindBeatsRef: every row after the first has higher test accuracy than the first (Table 2).
	KindBeatsRef = "beats-ref"
	// KindSomeBeatsRef: at least one row after the first beats the first (Fig. 7).
	KindSomeBeatsRef = "some-beats-ref"
	// KindNoGain: no row after the first is better than the first (Table 4).
	KindNoGain = "no-gain"
	// KindNoDifference: no row differs from the first either way (Fig. 8).
	KindNoDifference = "no-difference"
	// KindRuntime: wall time and gradient evaluations per run (Table 5); the claim is the
	// ordering ERM < SAM < TSAM of the first two rows and the Subject.
	KindRuntime = "runtime"
	// KindFlatness: rows ERM, SAM, TSAM; TSAM has the lowest mean and variance of the
	// perturbed loss at every δ (Fig. 2).
	KindFlatness = "flatness"
	// KindHessian: rows ERM, SAM, TSAM; top eigenvalue TSAM < SAM < ERM.
	KindHessian = "hessian"
	// KindObjectives: rows ERM, SAM, TSAM; the three claims of Table 3.
	KindObjectives = "objectives"
)

// Kinds lists the section kinds.
var Kinds = []string{KindBest, KindBeatsRef, KindSomeBeatsRef, KindNoGain, KindNoDifference, KindRuntime, KindFlatness, KindHessian, KindObjectives}

// Verdicts.
const (
	Reproduced    = "reproduced"
	NotReproduced = "not reproduced"
	Inconclusive  = "inconclusive at this scale"
	NotRun        = "not run"
)

// VerdictRule states how verdicts are decided, for the report.
const VerdictRule = "A difference between two rows counts when |mean₁ − mean₂| exceeds twice its standard error " +
	"√(sd₁²/n₁ + sd₂²/n₂) over seeds (sample standard deviations; rows with fewer than 2 seeds never differ). " +
	"A claim is reproduced when every comparison it makes goes its way and counts, not reproduced when one comparison " +
	"counts the other way (or, for a no-difference claim, when any difference counts), and inconclusive otherwise."

// Stat summarises one quantity over seeds.
type Stat struct {
	Mean   float64   `json:"mean"`
	SD     float64   `json:"sd"` // sample standard deviation (n−1); 0 for n < 2
	N      int       `json:"n"`
	Values []float64 `json:"values"`
	// Seeds are the runs' seeds in the order of Values, where known: paired tests match
	// two rows' values by them.
	Seeds []int64 `json:"seeds,omitempty"`
}

// newSeedStat is newStat with each value's seed recorded (seeds is as long as vs).
func newSeedStat(vs []float64, seeds []int64) Stat {
	s := newStat(vs)
	s.Seeds = append([]int64(nil), seeds...)
	return s
}

// SE is the standard error of the mean, SD/√N (0 for N < 2: unknown).
func (s Stat) SE() float64 {
	if s.N < 2 {
		return 0
	}
	return s.SD / math.Sqrt(float64(s.N))
}

// bySeed maps each seed to its value (empty when the seeds are not recorded).
func (s Stat) bySeed() map[int64]float64 {
	m := make(map[int64]float64, len(s.Seeds))
	for i, seed := range s.Seeds {
		if i < len(s.Values) {
			m[seed] = s.Values[i]
		}
	}
	return m
}

// newStat computes mean and sample standard deviation of vs.
func newStat(vs []float64) Stat {
	s := Stat{N: len(vs), Values: append([]float64(nil), vs...)}
	if s.N == 0 {
		return s
	}
	for _, v := range vs {
		s.Mean += v
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		ss := 0.0
		for _, v := range vs {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(s.N-1))
	}
	return s
}

// compare returns +1 when a is larger than b by more than twice the standard error of the
// difference, −1 when smaller, 0 when the difference does not count (see VerdictRule).
func compare(a, b Stat) int {
	if a.N < 2 || b.N < 2 {
		return 0
	}
	d := a.Mean - b.Mean
	se := math.Sqrt(a.SD*a.SD/float64(a.N) + b.SD*b.SD/float64(b.N))
	switch {
	case d > 2*se && d != 0:
		return 1
	case d < -2*se && d != 0:
		return -1
	}
	return 0
}

// tally collects comparisons that a claim wants to go one way.
type tally struct {
	wins, losses, ties int
	notes              []string
}

// want records that a should exceed b (sign +1) or fall below it (sign −1).
func (t *tally) want(what string, a, b Stat, sign int) {
	c := compare(a, b) * sign
	switch c {
	case 1:
		t.wins++
	case -1:
		t.losses++
		t.notes = append(t.notes, "against: "+what)
	default:
		t.ties++
		t.notes = append(t.notes, "no counting difference: "+what)
	}
}

// verdict turns the tally into a verdict.
func (t *tally) verdict() (string, string) {
	reason := fmt.Sprintf("%d comparison(s) as claimed, %d against, %d without a counting difference", t.wins, t.losses, t.ties)
	if len(t.notes) > 0 {
		reason += " (" + strings.Join(limit(t.notes, 6), "; ") + ")"
	}
	switch {
	case t.wins+t.losses+t.ties == 0:
		return NotRun, "no comparison could be made"
	case t.losses > 0:
		return NotReproduced, reason
	case t.ties > 0:
		return Inconclusive, reason
	}
	return Reproduced, reason
}

// noDiffVerdict decides a claim that rows do not differ (want = no counting difference).
func noDiffVerdict(diffs []string, compared int) (string, string) {
	if compared == 0 {
		return NotRun, "no comparison could be made"
	}
	if len(diffs) > 0 {
		return NotReproduced, "counting difference(s): " + strings.Join(limit(diffs, 6), "; ")
	}
	return Reproduced, fmt.Sprintf("none of %d comparison(s) shows a counting difference (with few seeds this is weak evidence of equality)", compared)
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string(nil), s[:n]...), fmt.Sprintf("%d more", len(s)-n))
}
