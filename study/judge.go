package study

import (
	"fmt"
	"math"
	"strings"
)

// judge decides a section's verdict from its rows (see VerdictRule and the Kind* docs).
func judge(s Section, rows []RowResult) (verdict, reason string, subs []Subclaim) {
	present := map[string]RowResult{}
	for _, r := range rows {
		if r.TestAcc.N > 0 {
			present[r.Name] = r
		}
	}
	if len(present) < 2 {
		return NotRun, "fewer than two rows have finished runs", nil
	}
	switch s.Kind {
	case KindBest:
		v, reason, _ := judgeBest(s, rows, present)
		return withGreater(s, rows, v, reason)
	case KindBeatsRef, KindSomeBeatsRef:
		return judgeAgainstRef(s, rows)
	case KindNoGain, KindNoDifference:
		return judgeNoDiff(s, rows)
	case KindRuntime:
		return judgeRuntime(s, rows)
	case KindFlatness:
		return judgeFlatness(rows)
	case KindHessian:
		return judgeHessian(rows)
	case KindObjectives:
		return judgeObjectives(rows)
	}
	return NotRun, "unknown section kind " + s.Kind, nil
}

// withGreater adds the section's Greater claims as subclaims next to the main verdict.
func withGreater(s Section, rows []RowResult, v, reason string) (string, string, []Subclaim) {
	if len(s.Greater) == 0 {
		return v, reason, nil
	}
	byName := map[string]RowResult{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	subs := []Subclaim{{Claim: "(main)", Verdict: v, Reason: reason}}
	for _, g := range s.Greater {
		a, b := byName[g[0]], byName[g[1]]
		var t tally
		if a.TestAcc.N > 0 && b.TestAcc.N > 0 {
			t.want(a.Label+" above "+b.Label, a.TestAcc, b.TestAcc, 1)
		}
		gv, gr := t.verdict()
		subs = append(subs, Subclaim{Claim: a.Label + " > " + b.Label, Verdict: gv, Reason: gr})
	}
	return overall(subs), "see the claims below", subs
}

func judgeBest(s Section, rows []RowResult, present map[string]RowResult) (string, string, []Subclaim) {
	subj, ok := present[s.Subject]
	if !ok {
		return NotRun, "the claim's row " + s.Subject + " has no finished run", nil
	}
	var t tally
	for _, r := range rows {
		if r.Name != s.Subject && r.TestAcc.N > 0 {
			t.want(fmt.Sprintf("%s vs %s", subj.Label, r.Label), subj.TestAcc, r.TestAcc, 1)
		}
	}
	v, reason := t.verdict()
	return v, reason, nil
}

func judgeAgainstRef(s Section, rows []RowResult) (string, string, []Subclaim) {
	ref := rows[0]
	if ref.TestAcc.N == 0 {
		return NotRun, "the reference row " + ref.Label + " has no finished run", nil
	}
	var t tally
	for _, r := range rows[1:] {
		if r.TestAcc.N > 0 {
			t.want(fmt.Sprintf("%s vs %s", r.Label, ref.Label), r.TestAcc, ref.TestAcc, 1)
		}
	}
	if s.Kind == KindBeatsRef {
		v, reason := t.verdict()
		return v, reason, nil
	}
	// Some row beating the reference is enough; all rows losing refutes.
	reason := fmt.Sprintf("%d of %d row(s) beat %s by a counting difference, %d fall below it", t.wins, t.wins+t.losses+t.ties, ref.Label, t.losses)
	switch {
	case t.wins > 0:
		return Reproduced, reason, nil
	case t.losses == t.wins+t.losses+t.ties && t.losses > 0:
		return NotReproduced, reason, nil
	}
	return Inconclusive, reason, nil
}

func judgeNoDiff(s Section, rows []RowResult) (string, string, []Subclaim) {
	ref := rows[0]
	if ref.TestAcc.N == 0 {
		return NotRun, "the reference row " + ref.Label + " has no finished run", nil
	}
	var diffs, intervals []string
	compared, thin := 0, 0
	for _, r := range rows[1:] {
		if r.TestAcc.N == 0 {
			continue
		}
		if r.TestAcc.N < 2 || ref.TestAcc.N < 2 {
			thin++ // a difference cannot count, so equality cannot be claimed either
			continue
		}
		compared++
		d, lo, hi := welchInterval(r.TestAcc, ref.TestAcc)
		intervals = append(intervals, fmt.Sprintf("%s − %s %+.2f pts [%+.2f, %+.2f]", r.Label, ref.Label, 100*d, 100*lo, 100*hi))
		c := compare(r.TestAcc, ref.TestAcc)
		if c > 0 || (c < 0 && s.Kind == KindNoDifference) {
			diffs = append(diffs, fmt.Sprintf("%s %s %s", r.Label, map[int]string{1: ">", -1: "<"}[c], ref.Label))
		}
	}
	v, reason := noDiffVerdict(diffs, compared)
	if len(intervals) > 0 {
		// What the test could have seen: differences outside these were excluded.
		reason += "; 95% intervals of the differences (Welch): " + strings.Join(intervals, "; ")
	}
	if thin > 0 && v != NotReproduced {
		return Inconclusive, fmt.Sprintf("%d row(s) or the reference have fewer than 2 seeds; %s", thin, reason), nil
	}
	return v, reason, nil
}

// judgeRuntime checks ERM < SAM < Subject (TSAM) in wall time per run.
func judgeRuntime(s Section, rows []RowResult) (string, string, []Subclaim) {
	byName := map[string]RowResult{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	subj, ok := byName[s.Subject]
	if !ok || len(rows) < 2 {
		return NotRun, "the runtime section needs its first two rows and its Subject", nil
	}
	if subj.WallSeconds.N == 0 || rows[0].WallSeconds.N == 0 || rows[1].WallSeconds.N == 0 {
		return NotRun, fmt.Sprintf("the claim compares %s, %s and %s, and not all of them have finished runs", rows[0].Label, rows[1].Label, subj.Label), nil
	}
	var t tally
	t.want(rows[1].Label+" slower than "+rows[0].Label, rows[1].WallSeconds, rows[0].WallSeconds, 1)
	t.want(subj.Label+" slower than "+rows[1].Label, subj.WallSeconds, rows[1].WallSeconds, 1)
	v, reason := t.verdict()
	return v, reason, nil
}

// sharpRows returns the ERM, SAM and TSAM rows of a sharpness section (in that order).
func sharpRows(rows []RowResult) (erm, sm, ts RowResult, ok bool) {
	if len(rows) != 3 {
		return erm, sm, ts, false
	}
	return rows[0], rows[1], rows[2], true
}

func judgeFlatness(rows []RowResult) (string, string, []Subclaim) {
	erm, sm, ts, ok := sharpRows(rows)
	if !ok || len(ts.Flatness) == 0 {
		return NotRun, "no flatness measurements", nil
	}
	var t tally
	for _, other := range []RowResult{erm, sm} {
		for _, p := range ts.Flatness {
			q, found := flatAt(other, p.Delta)
			if !found {
				continue
			}
			t.want(fmt.Sprintf("mean at δ=%g: %s below %s", p.Delta, ts.Label, other.Label), p.Mean, q.Mean, -1)
			t.want(fmt.Sprintf("variance at δ=%g: %s below %s", p.Delta, ts.Label, other.Label), p.Variance, q.Variance, -1)
		}
	}
	v, reason := t.verdict()
	return v, reason, nil
}

func flatAt(r RowResult, delta float64) (FlatPoint, bool) {
	for _, p := range r.Flatness {
		if p.Delta == delta {
			return p, true
		}
	}
	return FlatPoint{}, false
}

func judgeHessian(rows []RowResult) (string, string, []Subclaim) {
	erm, sm, ts, ok := sharpRows(rows)
	if !ok || len(ts.Eigen) == 0 || len(sm.Eigen) == 0 || len(erm.Eigen) == 0 {
		return NotRun, "no Hessian measurements", nil
	}
	var t tally
	t.want("λ1: "+ts.Label+" below "+sm.Label, ts.Eigen[0], sm.Eigen[0], -1)
	t.want("λ1: "+sm.Label+" below "+erm.Label, sm.Eigen[0], erm.Eigen[0], -1)
	v, reason := t.verdict()
	return v, reason, nil
}

// judgeObjectives checks the three claims of Table 3, each with its own verdict.
func judgeObjectives(rows []RowResult) (string, string, []Subclaim) {
	erm, sm, ts, ok := sharpRows(rows)
	if !ok || len(erm.TrainObj) == 0 || len(sm.TrainObj) == 0 || len(ts.TrainObj) == 0 {
		return NotRun, "no objective measurements", nil
	}
	trained := []RowResult{erm, sm, ts}
	objNames := []string{"ERM", "SAM", "TSAM"}
	var diag tally
	for col := range 3 {
		for i, r := range trained {
			if i != col {
				diag.want(fmt.Sprintf("training %s objective: %s below %s", objNames[col], trained[col].Label, r.Label), trained[col].TrainObj[col], r.TrainObj[col], -1)
			}
		}
	}
	var gen tally
	for _, r := range []RowResult{sm, ts} {
		gen.want("training ERM loss: "+r.Label+" above "+erm.Label, r.TrainObj[0], erm.TrainObj[0], 1)
		if len(r.TestObj) > 0 && len(erm.TestObj) > 0 {
			gen.want("test ERM loss: "+r.Label+" below "+erm.Label, r.TestObj[0], erm.TestObj[0], -1)
		}
	}
	var best tally
	for col := range 3 {
		for _, r := range []RowResult{erm, sm} {
			if len(ts.TestObj) > 0 && len(r.TestObj) > 0 {
				best.want(fmt.Sprintf("test %s objective: %s below %s", objNames[col], ts.Label, r.Label), ts.TestObj[col], r.TestObj[col], -1)
			}
		}
	}
	var subs []Subclaim
	for i, t := range []*tally{&diag, &gen, &best} {
		v, reason := t.verdict()
		subs = append(subs, Subclaim{Claim: fmt.Sprintf("(%d)", i+1), Verdict: v, Reason: reason})
	}
	return overall(subs), "see the three claims below", subs
}

// overall combines sub-verdicts: any not reproduced wins, then inconclusive or not run.
func overall(subs []Subclaim) string {
	var vs []string
	for _, s := range subs {
		vs = append(vs, s.Verdict)
	}
	joined := strings.Join(vs, "|")
	switch {
	case len(subs) > 0 && strings.Count(joined, NotRun) == len(subs) && !strings.Contains(joined, NotReproduced):
		return NotRun
	case strings.Contains(joined, NotReproduced):
		return NotReproduced
	case strings.Contains(joined, Inconclusive), strings.Contains(joined, NotRun):
		return Inconclusive
	}
	return Reproduced
}

// welchInterval is the difference of means a − b with its 95% confidence interval from
// Welch's t (unequal variances, Welch–Satterthwaite degrees of freedom); both need n ≥ 2.
func welchInterval(a, b Stat) (d, lo, hi float64) {
	d = a.Mean - b.Mean
	va, vb := a.SD*a.SD/float64(a.N), b.SD*b.SD/float64(b.N)
	se := math.Sqrt(va + vb)
	if se == 0 {
		return d, d, d
	}
	df := (va + vb) * (va + vb) / (va*va/float64(a.N-1) + vb*vb/float64(b.N-1))
	half := tQuantile(0.975, df) * se
	return d, d - half, d + half
}
