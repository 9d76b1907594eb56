package study

import (
	"fmt"
	"math"
	"strings"
)

// Plan-level verdict modes.
const (
	// SmokeVerdict is every section's verdict in a plan with Smoke set: its runs are too
	// short for the paper's claims, so none is judged.
	SmokeVerdict = "no verdict (smoke plan)"
	// pairedAlpha is the family-wise level of a claim's paired comparisons (Holm).
	pairedAlpha = 0.05
	// pairedPower is the power the seeds-needed estimate aims at.
	pairedPower = 0.8
)

// PairedRule states how a paired plan's accuracy claims are decided, for the report.
const PairedRule = "Accuracy claims compare final test accuracy paired by seed (every method trains on the same seeds: initialisation, data order, label noise): " +
	"a paired t-test of the per-seed differences with its 95% interval, the p-values of one claim's comparisons adjusted together by Holm's method, " +
	"a comparison counting when its adjusted p < 0.05. A claim is reproduced when every comparison it needs counts its way, not reproduced when one counts the other way " +
	"(for a no-difference or no-gain claim, when a difference it rules out counts), and inconclusive otherwise, with the seeds a paired test would need " +
	"(power 0.8 at level 0.05/m for m comparisons, the differences keeping their observed mean and spread). A no-difference verdict gives the 95% interval of each paired difference: " +
	"differences outside it were excluded, smaller ones were not. Runtime, flatness, Hessian and objective claims use the rule: "

// Comparison is one paired comparison of a claim: row A against row B.
type Comparison struct {
	A, B string
	// Want is +1 when the claim wants A above B, −1 below, 0 no difference.
	Want   int    `json:"want"`
	Paired Paired `json:"paired"`
	// PHolm is the Holm-adjusted p-value within the claim; Counts says PHolm < 0.05.
	PHolm  float64 `json:"p_holm"`
	Counts bool    `json:"counts"`
	// SeedsNeeded is the paired seeds a test would need to see this difference (0: none).
	SeedsNeeded int `json:"seeds_needed,omitempty"`
}

// judgePaired decides the accuracy claims of a paired plan's section; ok is false for the
// kinds it does not judge (runtime and sharpness), which keep judge's rule.
func judgePaired(s Section, rows []RowResult) (verdict, reason string, comps []Comparison, ok bool) {
	byName := map[string]RowResult{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	var pairs [][2]RowResult
	want := 1
	switch s.Kind {
	case KindBest:
		subj, found := byName[s.Subject]
		if !found || subj.TestAcc.N == 0 {
			return NotRun, "the claim's row " + s.Subject + " has no finished run", nil, true
		}
		for _, r := range rows {
			if r.Name != s.Subject {
				pairs = append(pairs, [2]RowResult{subj, r})
			}
		}
	case KindBeatsRef, KindSomeBeatsRef, KindNoGain, KindNoDifference:
		for _, r := range rows[1:] {
			pairs = append(pairs, [2]RowResult{r, rows[0]})
		}
		if s.Kind == KindNoGain || s.Kind == KindNoDifference {
			want = 0
		}
	default:
		return "", "", nil, false
	}
	comps = pairedFamily(pairs, want)
	verdict, reason = pairedVerdict(s.Kind, comps)
	return verdict, reason, comps, true
}

// pairedFamily runs the paired tests of one claim and adjusts them together (Holm).
func pairedFamily(pairs [][2]RowResult, want int) []Comparison {
	var comps []Comparison
	var ps []float64
	for _, pr := range pairs {
		c := Comparison{A: pr[0].Label, B: pr[1].Label, Want: want, Paired: pairedTest(pr[0].TestAccBySeed, pr[1].TestAccBySeed)}
		comps = append(comps, c)
		ps = append(ps, c.Paired.P)
	}
	adj := holm(ps)
	for i := range comps {
		c := &comps[i]
		c.PHolm = adj[i]
		c.Counts = c.Paired.N >= 2 && c.PHolm < pairedAlpha
		if !c.Counts && c.Paired.Mean != 0 {
			c.SeedsNeeded = seedsNeeded(c.Paired.Mean, c.Paired.SD, pairedAlpha/float64(len(comps)), pairedPower)
		}
	}
	return comps
}

// pairedVerdict turns a claim's comparisons into its verdict.
func pairedVerdict(kind string, comps []Comparison) (string, string) {
	var as, against, open, thin int
	for _, c := range comps {
		switch {
		case c.Paired.N < 2:
			thin++
		case c.Counts && (c.Want == 0 || (c.Paired.Mean > 0) != (c.Want > 0)):
			against++
		case c.Counts:
			as++
		default:
			open++
		}
	}
	if kind == KindNoGain {
		// Only a gain of a later row over the reference goes against "no gain".
		against, open = 0, 0
		for _, c := range comps {
			if c.Paired.N >= 2 && c.Counts && c.Paired.Mean > 0 {
				against++
			} else if c.Paired.N >= 2 {
				open++
			}
		}
	}
	reason := fmt.Sprintf("%d paired comparison(s): %s", len(comps), describeComparisons(comps))
	switch {
	case as+against+open == 0:
		return NotRun, "no two rows share two finished seeds; " + reason
	case thin > 0 && against == 0:
		return Inconclusive, fmt.Sprintf("%d comparison(s) share fewer than 2 seeds; %s", thin, reason)
	case kind == KindSomeBeatsRef && as > 0:
		return Reproduced, reason
	case kind == KindSomeBeatsRef && against == len(comps):
		return NotReproduced, reason
	case kind == KindSomeBeatsRef:
		return Inconclusive, reason
	case against > 0:
		return NotReproduced, reason
	case kind == KindNoGain || kind == KindNoDifference:
		return Reproduced, "no difference counts; " + reason
	case open > 0:
		return Inconclusive, reason
	}
	return Reproduced, reason
}

// describeComparisons prints each comparison: the paired difference in points with its
// 95% interval, the Holm-adjusted p and, when it does not count, the seeds it would need.
func describeComparisons(comps []Comparison) string {
	parts := make([]string, len(comps))
	for i, c := range comps {
		parts[i] = fmt.Sprintf("%s − %s %s", c.A, c.B, fmtPaired(c))
	}
	return strings.Join(parts, "; ")
}

// fmtPaired is one comparison's numbers in accuracy points.
func fmtPaired(c Comparison) string {
	p := c.Paired
	if p.N < 2 {
		return fmt.Sprintf("%+.2f pts (n=%d, no interval)", 100*p.Mean, p.N)
	}
	s := fmt.Sprintf("%+.2f pts [%+.2f, %+.2f] (n=%d, Holm p=%.3g)", 100*p.Mean, 100*p.Lo, 100*p.Hi, p.N, c.PHolm)
	if !c.Counts && c.SeedsNeeded > 0 {
		s += fmt.Sprintf(", ~%d seeds to see it", c.SeedsNeeded)
	}
	if math.IsInf(p.Lo, 0) {
		s = fmt.Sprintf("%+.2f pts (n=%d)", 100*p.Mean, p.N)
	}
	return s
}
