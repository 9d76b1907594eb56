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
	"differences outside it were excluded, smaller ones were not. Flatness (Fig. 2: the mean panel and the variance panel, each one claim over its δ and rows), Hessian (λ1) and objective (Table 3's three claims) " +
	"claims are decided the same way on the per-seed differences of the measured quantity, in its own units. Runtime claims use the rule: "

// Comparison is one paired comparison of a claim: row A against row B.
type Comparison struct {
	A, B string
	// Claim names the claim of a section with several (e.g. Table 3's "(1)"), Quantity what
	// is compared when it is not final test accuracy (then in its own units, not points).
	Claim    string `json:"claim,omitempty"`
	Quantity string `json:"quantity,omitempty"`
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
// kinds it does not judge (runtime, which keeps judge's rule, and the sharpness kinds,
// which judgePairedSharpness decides).
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
	for _, pr := range pairs {
		comps = append(comps, Comparison{A: pr[0].Label, B: pr[1].Label, Want: want, Paired: pairedTest(pr[0].TestAccBySeed, pr[1].TestAccBySeed)})
	}
	return adjustFamily(comps)
}

// adjustFamily adjusts the p-values of one claim's comparisons together (Holm) and, for
// those that do not count, estimates the seeds they would need.
func adjustFamily(comps []Comparison) []Comparison {
	ps := make([]float64, len(comps))
	for i, c := range comps {
		ps[i] = c.Paired.P
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
		if c.Quantity != "" {
			parts[i] = c.Quantity + ": " + parts[i]
		}
	}
	return strings.Join(parts, "; ")
}

// fmtPaired is one comparison's numbers: accuracy in points, other quantities in their
// own units.
func fmtPaired(c Comparison) string {
	p := c.Paired
	num := func(v float64) string { return fmtDiff(c, v) }
	unit := " pts"
	if c.Quantity != "" {
		unit = ""
	}
	if p.N < 2 {
		return fmt.Sprintf("%s%s (n=%d, no interval)", num(p.Mean), unit, p.N)
	}
	s := fmt.Sprintf("%s%s [%s, %s] (n=%d, Holm p=%.3g)", num(p.Mean), unit, num(p.Lo), num(p.Hi), p.N, c.PHolm)
	if !c.Counts && c.SeedsNeeded > 0 {
		s += ", ~" + fmtSeedsNeeded(c.SeedsNeeded) + " seeds to see it"
	}
	if math.IsInf(p.Lo, 0) {
		s = fmt.Sprintf("%s%s (n=%d)", num(p.Mean), unit, p.N)
	}
	return s
}

// fmtSeedsNeeded prints seedsNeeded's answer, its cap as "> 10000" (no practical number).
func fmtSeedsNeeded(n int) string {
	if n >= seedsNeededCap {
		return fmt.Sprintf("> %d", seedsNeededCap)
	}
	return fmt.Sprint(n)
}

// fmtDiff prints a difference of the comparison's quantity: accuracy in points with two
// decimals, anything else with four significant digits.
func fmtDiff(c Comparison, v float64) string {
	if c.Quantity == "" {
		return fmt.Sprintf("%+.2f", 100*v)
	}
	return fmt.Sprintf("%+.4g", v)
}

// sharpnessFamily is one claim about a sharpness measurement: each comparison wants its
// first row's quantity above (+1) or below (−1) the second's, paired by seed.
type sharpnessFamily struct {
	claim string
	comps []Comparison
}

// want adds the comparison of quantity what between rows a and b (values a, b by seed).
func (f *sharpnessFamily) want(what string, a, b RowResult, av, bv Stat, sign int) {
	f.comps = append(f.comps, Comparison{A: a.Label, B: b.Label, Claim: f.claim, Quantity: what, Want: sign, Paired: pairedTest(av.bySeed(), bv.bySeed())})
}

// judgePairedSharpness decides a paired plan's flatness, Hessian and objective claims like
// its accuracy claims: per-seed differences of the measured quantity, a paired t-test with
// its 95% interval, Holm within each claim, the seeds an open comparison would need. Fig. 2
// is two claims (the mean panel and the variance panel), the Hessian one (λ1: TSAM < SAM <
// ERM), Table 3 three. ok is false for the other kinds.
func judgePairedSharpness(s Section, rows []RowResult) (verdict, reason string, subs []Subclaim, comps []Comparison, ok bool) {
	var fams []*sharpnessFamily
	switch s.Kind {
	case KindFlatness:
		fams = flatnessFamilies(rows)
	case KindHessian:
		fams = hessianFamilies(rows)
	case KindObjectives:
		fams = objectiveFamilies(rows)
	default:
		return "", "", nil, nil, false
	}
	if fams == nil {
		return NotRun, "the section needs its ERM, SAM and TSAM rows", nil, nil, true
	}
	for _, f := range fams {
		if len(f.comps) == 0 {
			subs = append(subs, Subclaim{Claim: f.claim, Verdict: NotRun, Reason: "no " + s.Kind + " measurements yet"})
			continue
		}
		fc := adjustFamily(f.comps)
		comps = append(comps, fc...)
		v, r := pairedVerdict(KindBeatsRef, fc)
		subs = append(subs, Subclaim{Claim: f.claim, Verdict: v, Reason: r})
	}
	if len(subs) == 1 {
		return subs[0].Verdict, subs[0].Reason, nil, comps, true
	}
	return overall(subs), "see the claims below", subs, comps, true
}

// flatnessFamilies: at every δ TSAM's mean (one claim) and variance (the other) of L(θ*+ε)
// are below ERM's and SAM's.
func flatnessFamilies(rows []RowResult) []*sharpnessFamily {
	erm, sm, ts, ok := sharpRows(rows)
	if !ok {
		return nil
	}
	mean, vari := &sharpnessFamily{claim: "mean"}, &sharpnessFamily{claim: "variance"}
	for _, other := range []RowResult{erm, sm} {
		for _, p := range ts.Flatness {
			q, _ := flatAt(other, p.Delta)
			mean.want(fmt.Sprintf("mean of L(θ*+ε) at δ=%g", p.Delta), ts, other, p.Mean, q.Mean, -1)
			vari.want(fmt.Sprintf("variance of L(θ*+ε) at δ=%g", p.Delta), ts, other, p.Variance, q.Variance, -1)
		}
	}
	return []*sharpnessFamily{mean, vari}
}

// hessianFamilies: λ1 of TSAM below SAM's, and SAM's below ERM's.
func hessianFamilies(rows []RowResult) []*sharpnessFamily {
	erm, sm, ts, ok := sharpRows(rows)
	if !ok {
		return nil
	}
	top := func(r RowResult) Stat {
		if len(r.Eigen) == 0 {
			return Stat{}
		}
		return r.Eigen[0]
	}
	f := &sharpnessFamily{claim: "λ1"}
	f.want("λ1", ts, sm, top(ts), top(sm), -1)
	f.want("λ1", sm, erm, top(sm), top(erm), -1)
	return []*sharpnessFamily{f}
}

// objectiveFamilies are Table 3's three claims: (1) each objective's training loss is
// lowest for the model trained on it; (2) SAM's and TSAM's training ERM loss is above
// ERM's and their test ERM loss below; (3) TSAM's test loss is lowest under every objective.
func objectiveFamilies(rows []RowResult) []*sharpnessFamily {
	erm, sm, ts, ok := sharpRows(rows)
	if !ok {
		return nil
	}
	obj := func(objs []Stat, i int) Stat {
		if i < len(objs) {
			return objs[i]
		}
		return Stat{}
	}
	names := []string{"ERM", "SAM", "TSAM"}
	trained := []RowResult{erm, sm, ts}
	diag, gen, best := &sharpnessFamily{claim: "(1)"}, &sharpnessFamily{claim: "(2)"}, &sharpnessFamily{claim: "(3)"}
	for col, own := range trained {
		for i, r := range trained {
			if i != col {
				diag.want("training "+names[col]+" objective", own, r, obj(own.TrainObj, col), obj(r.TrainObj, col), -1)
			}
		}
	}
	for _, r := range []RowResult{sm, ts} {
		gen.want("training ERM loss", r, erm, obj(r.TrainObj, 0), obj(erm.TrainObj, 0), 1)
		gen.want("test ERM loss", r, erm, obj(r.TestObj, 0), obj(erm.TestObj, 0), -1)
	}
	for col := range 3 {
		for _, r := range []RowResult{erm, sm} {
			best.want("test "+names[col]+" objective", ts, r, obj(ts.TestObj, col), obj(r.TestObj, col), -1)
		}
	}
	return []*sharpnessFamily{diag, gen, best}
}
