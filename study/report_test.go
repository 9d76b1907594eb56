package study

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sharpness"
)

// seeds1 is newSeedStat over seeds 1, 2, ... in order.
func seeds1(vs ...float64) Stat {
	seeds := make([]int64, len(vs))
	for i := range seeds {
		seeds[i] = int64(i + 1)
	}
	return newSeedStat(vs, seeds)
}

// shift returns vs + d with a small seed-dependent wobble, so a difference is consistent
// across seeds but not identical (a paired t-test then has a finite t).
func shift(vs []float64, d float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v + d + 0.001*float64(i%2)
	}
	return out
}

// flatRow is a sharpness row with the given per-seed flatness mean and variance at δ = 0.01
// and 0.02 (the same at both, the variance scaled by δ).
func flatRow(label string, mean, variance []float64) RowResult {
	r := RowResult{Name: label, Label: label, TestAcc: seeds1(0.5, 0.5, 0.5, 0.5)}
	for _, d := range []float64{0.01, 0.02} {
		v := make([]float64, len(variance))
		for i, x := range variance {
			v[i] = x * d * 100
		}
		r.Flatness = append(r.Flatness, FlatPoint{Delta: d, Mean: seeds1(mean...), Variance: seeds1(v...), MeanMCSE: seeds1(0.012, 0.014, 0.013, 0.011)})
	}
	return r
}

// TestPairedFlatness: Fig. 2's two claims are decided paired by seed, Holm within each
// claim: a consistent TSAM advantage reproduces, a consistent disadvantage in the variance
// refutes that claim alone.
func TestPairedFlatness(t *testing.T) {
	ermMean, ermVar := []float64{1.0, 1.5, 0.7, 1.2}, []float64{0.05, 0.09, 0.04, 0.07}
	rows := []RowResult{
		flatRow("ERM", ermMean, ermVar),
		flatRow("SAM", shift(ermMean, -0.2), shift(ermVar, -0.01)),
		flatRow("TSAM", shift(ermMean, -0.3), shift(ermVar, -0.02)),
	}
	s := Section{Kind: KindFlatness}
	if v, _, _ := judge(s, rows); v != Inconclusive {
		t.Fatalf("unpaired rule: %q, want inconclusive (the test's premise: the spread across seeds hides the gain)", v)
	}
	v, reason, subs, comps, ok := judgePairedSharpness(s, rows)
	if !ok || v != Reproduced || len(subs) != 2 || len(comps) != 8 {
		t.Fatalf("consistent gain: %q (%s), %d subclaims, %d comparisons", v, reason, len(subs), len(comps))
	}
	var raw []float64
	for _, c := range comps[:4] {
		if c.Claim != "mean" || c.Want != -1 || !strings.HasPrefix(c.Quantity, "mean of L") || c.Paired.N != 4 || c.Paired.Hi >= 0 {
			t.Errorf("mean comparison %+v: want TSAM below on 4 seeds, interval below 0", c)
		}
		raw = append(raw, c.Paired.P)
	}
	for i, want := range holm(raw) {
		if comps[i].PHolm != want {
			t.Errorf("comparison %d: Holm p %g, want %g (adjusted within the mean claim only)", i, comps[i].PHolm, want)
		}
	}
	if !strings.Contains(subs[0].Reason, "δ=0.01: TSAM − ERM -0.2995 [") {
		t.Errorf("mean claim's reason %q: want the difference in the loss's own units", subs[0].Reason)
	}
	rows[2] = flatRow("TSAM", shift(ermMean, -0.3), shift(ermVar, 0.01))
	v, _, subs, _, _ = judgePairedSharpness(s, rows)
	if v != NotReproduced || subs[0].Verdict != Reproduced || subs[1].Verdict != NotReproduced {
		t.Errorf("TSAM's variance higher: %q, subclaims %+v", v, subs)
	}
}

// TestPairedHessian: λ1 TSAM < SAM < ERM on every seed reproduces; differences that change
// sign across 3 seeds are inconclusive, saying how many seeds would be needed.
func TestPairedHessian(t *testing.T) {
	row := func(label string, l1 ...float64) RowResult {
		return RowResult{Name: label, Label: label, Eigen: []Stat{seeds1(l1...), seeds1(1, 1, 1)}}
	}
	s := Section{Kind: KindHessian}
	v, reason, subs, comps, _ := judgePairedSharpness(s, []RowResult{row("ERM", 300, 350, 320), row("SAM", 200, 251, 220), row("TSAM", 140, 190, 161)})
	if v != Reproduced || subs != nil || len(comps) != 2 || !comps[0].Counts || !comps[1].Counts {
		t.Fatalf("ordered: %q (%s), comparisons %+v", v, reason, comps)
	}
	v, reason, _, comps, _ = judgePairedSharpness(s, []RowResult{row("ERM", 300, 350, 320), row("SAM", 310, 330, 300), row("TSAM", 140, 190, 161)})
	if v != Inconclusive || comps[1].Counts || comps[1].SeedsNeeded <= 3 || !strings.Contains(reason, "seeds to see it") {
		t.Errorf("SAM vs ERM mixed: %q (%s), comparison %+v", v, reason, comps[1])
	}
	if v, _, _, _, _ := judgePairedSharpness(s, []RowResult{row("ERM"), row("SAM"), row("TSAM")}); v != NotRun {
		t.Errorf("no measurements: %q", v)
	}
}

// objRow is a Table 3 row: training and test ERM, SAM, TSAM objectives on 3 seeds, each
// the given value with a small per-seed wobble.
func objRow(label string, train, test [3]float64) RowResult {
	r := RowResult{Name: label, Label: label}
	for i := range 3 {
		r.TrainObj = append(r.TrainObj, seeds1(shift([]float64{train[i], train[i], train[i]}, 0)...))
		r.TestObj = append(r.TestObj, seeds1(shift([]float64{test[i], test[i] + 0.002, test[i]}, 0)...))
	}
	r.TrainTSAMSE, r.TestTSAMSE = seeds1(0.01, 0.02, 0.03), seeds1(0.02, 0.02, 0.02)
	return r
}

// TestPairedObjectives: the paper's Table 3 numbers reproduce its three claims paired by
// seed; an ERM model with the lowest test ERM loss refutes claim (2) (and (3)) only.
func TestPairedObjectives(t *testing.T) {
	erm := objRow("ERM", [3]float64{0.1283, 1.35, 3.48}, [3]float64{0.9302, 2.05, 3.54})
	sm := objRow("SAM", [3]float64{0.1489, 0.22, 0.60}, [3]float64{0.7414, 0.91, 1.34})
	ts := objRow("TSAM", [3]float64{0.1763, 0.27, 0.46}, [3]float64{0.7163, 0.90, 1.08})
	s := Section{Kind: KindObjectives}
	v, reason, subs, comps, _ := judgePairedSharpness(s, []RowResult{erm, sm, ts})
	if v != Reproduced || len(subs) != 3 || len(comps) != 6+4+6 {
		t.Fatalf("the paper's Table 3: %q (%s), subclaims %+v, %d comparisons", v, reason, subs, len(comps))
	}
	erm = objRow("ERM", [3]float64{0.1283, 1.35, 3.48}, [3]float64{0.6, 2.05, 3.54})
	_, _, subs, _, _ = judgePairedSharpness(s, []RowResult{erm, sm, ts})
	if subs[0].Verdict != Reproduced || subs[1].Verdict != NotReproduced || subs[2].Verdict != NotReproduced {
		t.Errorf("ERM with the lowest test ERM loss: subclaims %+v", subs)
	}
}

// TestSharpnessTablesShowStandardErrors: Fig. 2's and Table 3's tables give each mean ± its
// standard error over seeds and the Monte-Carlo standard error of the runs' estimates, and
// the comparisons table prints the loss differences in the loss's units, not points.
func TestSharpnessTablesShowStandardErrors(t *testing.T) {
	ermMean := []float64{1.0, 1.3, 0.8, 1.1}
	rows := []RowResult{flatRow("ERM", ermMean, ermMean), flatRow("SAM", shift(ermMean, -0.2), ermMean), flatRow("TSAM", shift(ermMean, -0.3), ermMean)}
	sr := SectionResult{ID: "fig2", Kind: KindFlatness, Rows: rows}
	decide(&Plan{Paired: true}, Section{Kind: KindFlatness}, &sr)
	var b strings.Builder
	writeSection(&b, sr, "")
	out := b.String()
	se := rows[0].Flatness[0].Mean.SD / 2 // sd/√4
	for _, want := range []string{fmt.Sprintf("| ERM | 0.01 | 1.05 ± %.4g (n=4) | 0.013 |", se), "| mean | mean of L(θ*+ε) at δ=0.01 | TSAM − ERM | below | 4 | -0.2995 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("flatness section lacks %q:\n%s", want, out)
		}
	}
	obj := SectionResult{ID: "table3", Kind: KindObjectives, Rows: []RowResult{
		objRow("ERM", [3]float64{0.1283, 1.35, 3.48}, [3]float64{0.9302, 2.05, 3.54}),
		objRow("SAM", [3]float64{0.1489, 0.22, 0.60}, [3]float64{0.7414, 0.91, 1.34}),
		objRow("TSAM", [3]float64{0.1763, 0.27, 0.46}, [3]float64{0.7163, 0.90, 1.08})}}
	b.Reset()
	objectivesTable(&b, obj)
	if want := "3.4803 ± 0.0003 (n=3); MC 0.02"; !strings.Contains(b.String(), want) {
		t.Errorf("objectives table lacks %q:\n%s", want, b.String())
	}
}

// TestNoDifferenceGivesInterval: every no-difference kind states how large a difference the
// test could have seen: the paired plan's 95% interval of each paired difference, and the
// unpaired rule's Welch interval.
func TestNoDifferenceGivesInterval(t *testing.T) {
	rows := []RowResult{seedRow("fix", 0.60, 0.62, 0.61), seedRow("up", 0.61, 0.61, 0.612)}
	for _, kind := range []string{KindNoDifference, KindNoGain} {
		v, reason, _, _ := judgePaired(Section{Kind: kind}, rows)
		if v != Reproduced || !strings.Contains(reason, "up − fix +0.07 pts [") {
			t.Errorf("paired %s: %q (%s)", kind, v, reason)
		}
		v, reason, _ = judge(Section{Kind: kind}, rows)
		if v != Reproduced || !strings.Contains(reason, "95% intervals of the differences (Welch): up − fix +0.07 pts [") {
			t.Errorf("unpaired %s: %q (%s)", kind, v, reason)
		}
	}
	// Welch's interval by hand: a = (1, 3), b = (0, 0, 0, 2)... means 2 and 0.5, variances
	// of the means 2/2 and 1/4; df = 1.25²/(1/1 + 0.0625/3).
	d, lo, hi := welchInterval(newStat([]float64{1, 3}), newStat([]float64{0, 0, 0, 2}))
	df := 1.5625 / (1 + 0.0625/3)
	if half := tQuantile(0.975, df) * math.Sqrt(1.25); d != 1.5 || math.Abs(lo-(1.5-half)) > 1e-12 || math.Abs(hi-(1.5+half)) > 1e-12 {
		t.Errorf("welchInterval = %g [%g, %g], want 1.5 ± %g", d, lo, hi, half)
	}
}

// TestMemorisationPerSeedInReport: the section lists every ERM run's final noisy-train
// accuracy against the threshold, and the summary table marks the column whose ERM fell
// short.
func TestMemorisationPerSeedInReport(t *testing.T) {
	erm := seedRow("erm", 0.5, 0.5)
	erm.Label, erm.Method, erm.Noise, erm.Planned = "ERM", "erm", 0.4, 3
	erm.TrainAcc, erm.finished = seeds1(0.995, 0.97), []string{"runs/erm-s1", "runs/erm-s2"}
	sr := SectionResult{ID: "table1-fm40", Kind: KindBest, Verdict: Reproduced, Reason: "r", Rows: []RowResult{erm, seedRow("tsam", 0.6, 0.6)}, RunsFinished: 4, RunsPlanned: 6}
	checkMemorisation(0.99, &sr)
	clean := SectionResult{ID: "table1-fm0", Kind: KindBest, Verdict: Reproduced, Rows: []RowResult{seedRow("erm", 0.5, 0.5)}, RunsFinished: 2, RunsPlanned: 2}
	checkMemorisation(0.99, &clean)
	var b strings.Builder
	if err := writeMarkdown(&b, &Results{Plan: "t", Sections: []SectionResult{sr, clean}}, ""); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| **inconclusive at this scale** | 4 of 6 | **NO: 1 of 2 finished ERM run(s) below 99%** |",
		"| **reproduced** | 2 of 2 | – |",
		"| runs/erm-s1 | 1 | 99.50 | yes |",
		"| runs/erm-s2 | 2 | 97.00 | **NO: not memorised** |",
		"ERM (did not memorise: runs/erm-s2 (97.0%))",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	all := SectionResult{Verdict: Reproduced, Rows: []RowResult{erm}}
	all.Rows[0].TrainAcc = seeds1(0.995, 0.999)
	checkMemorisation(0.99, &all)
	if st := all.Memo.Status(); st != "yes so far (2 of 3 ERM runs finished, all ≥ 99%)" {
		t.Errorf("status with a run to go: %q", st)
	}
}

// writeFakeRun writes a finished run folder: summary.json and metrics.jsonl with a record
// at each of the given epochs (stepsPerEpoch steps each), test accuracy accs[i].
func writeFakeRun(t *testing.T, dir string, cfg run.Config, epochs []int, stepsPerEpoch, totalSteps int, accs []float64, trainAcc, wall float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	var ms []run.EpochMetrics
	for i, e := range epochs {
		m := run.EpochMetrics{Epoch: e, Step: e * stepsPerEpoch, TestAcc: accs[i], TrainAcc: trainAcc}
		ms = append(ms, m)
		b, _ := json.Marshal(m)
		lines = append(lines, string(b))
	}
	sum := run.Summary{Config: cfg, Final: ms[len(ms)-1], Steps: totalSteps, TotalSteps: totalSteps, Complete: true, WallSeconds: wall, FinishedAt: time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)}
	b, _ := json.Marshal(sum)
	if err := os.WriteFile(filepath.Join(dir, run.SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, run.MetricsJSON), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPartialReport: with some runs finished, a section says how many, lists what it waits
// for and judges nothing yet; one with none says "not run yet" instead of empty tables; the
// header compares the finished runs' time with their estimate. A row evaluated every third
// epoch of three times the epochs lines up with the others by fraction of training, and its
// best-epoch accuracy is taken among its evaluated epochs.
func TestPartialReport(t *testing.T) {
	c := base("fashion-mnist", "cnn", 0.4, 640, 2, 64, 0)
	long := c
	long.Epochs, long.EvalEvery = 6, 3
	seeds := []int64{1, 2}
	p := &Plan{
		Name: "partial", Paired: true, MemoriseTrainAcc: 0.99,
		Cells: []Cell{
			{Name: "erm", Label: "ERM", Config: with(c, "erm", nil), Seeds: seeds},
			{Name: "long", Label: "long SAM", Config: with(long, "sam", nil), Seeds: seeds},
			{Name: "later-erm", Label: "ERM", Config: with(c, "erm", func(c *run.Config) { c.Noise = 0 }), Seeds: seeds},
			{Name: "later-sam", Label: "SAM", Config: with(c, "sam", func(c *run.Config) { c.Noise = 0 }), Seeds: seeds},
		},
		Sections: []Section{
			{ID: "first", Kind: KindBest, Title: "first", Rows: []string{"erm", "long"}, Subject: "long", Curves: true},
			{ID: "later", Kind: KindBest, Title: "later", Rows: []string{"later-erm", "later-sam"}, Subject: "later-sam"},
		},
	}
	dir := t.TempDir()
	cfgOf := func(cell string, seed int64) run.Config {
		cfg, err := resolve(p.cell(cell).Config, nil, seed)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	writeFakeRun(t, filepath.Join(dir, RunsDir, "erm-s1"), cfgOf("erm", 1), []int{1, 2}, 10, 20, []float64{0.5, 0.6}, 0.995, 100)
	writeFakeRun(t, filepath.Join(dir, RunsDir, "long-s1"), cfgOf("long", 1), []int{3, 6}, 10, 60, []float64{0.7, 0.65}, 0.9, 500)
	res, err := Collect(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	first, later := res.Sections[0], res.Sections[1]
	if first.RunsFinished != 2 || first.RunsPlanned != 4 || first.Verdict != NotRun || !strings.HasSuffix(first.Reason, "(2 of 4 runs finished)") {
		t.Errorf("first: %d of %d runs, verdict %q (%s); want 2 of 4, not run (one seed each: no paired test yet)", first.RunsFinished, first.RunsPlanned, first.Verdict, first.Reason)
	}
	if later.Verdict != NotRun || later.Reason != "not run yet (0 of 4 runs finished)" {
		t.Errorf("later: %q (%s)", later.Verdict, later.Reason)
	}
	erm, lng := first.Rows[0], first.Rows[1]
	if lng.BestTestAcc.Mean != 0.7 || len(lng.Curve) != 2 || lng.Curve[0].Fraction != 0.5 || erm.Curve[0].Fraction != 0.5 {
		t.Errorf("long row: best %v, curve %+v; ERM curve %+v", lng.BestTestAcc, lng.Curve, erm.Curve)
	}
	f := curveFigure(&first)
	if len(f.lines) != 2 || f.lines[1].xs[0] != 1 || f.lines[1].xs[1] != 2 || f.lines[0].xs[1] != 2 || !strings.Contains(f.x, "same fraction") {
		t.Errorf("curve figure x %q, lines %+v: want the long run's epochs 3 and 6 at 1 and 2", f.x, f.lines)
	}
	var b strings.Builder
	if err := writeMarkdown(&b, res, ""); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	ratio := 600 / res.FinishedEstimate
	for _, want := range []string{
		"- Status: 2 of the plan's 8 runs have finished (25%)",
		"the estimate for the finished runs and measurements was " + fmtDuration(res.FinishedEstimate) + fmt.Sprintf(" (they took %.2f× it)", ratio),
		"| [first](#first) | ",
		"| 2 of 4 | yes so far (1 of 2 ERM runs finished, all ≥ 99%) |",
		"**Partial:** 2 of 4 runs finished",
		"- not finished yet for ERM: runs/erm-s2",
		"**Not run yet** (0 of 4 runs finished).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "runs/later-erm-s1") {
		t.Errorf("a section nothing has run for lists its runs:\n%s", out)
	}
	later0 := out[strings.Index(out, "## later"):]
	if strings.Contains(later0, "| ours |") {
		t.Errorf("a section nothing has run for shows an empty table:\n%s", later0)
	}
}

// TestStaleMeasurementsAreNotMixed: a study-eval.json taken with another EvalSpec is not
// averaged in; the row says why.
func TestStaleMeasurementsAreNotMixed(t *testing.T) {
	c := base("fashion-mnist", "cnn", 0.4, 640, 2, 64, 0)
	p := &Plan{Name: "stale", Eval: EvalSpec{FlatnessDraws: 50, Seed: 1},
		Cells:    []Cell{{Name: "erm", Label: "ERM", Config: with(c, "erm", nil), Seeds: []int64{1}, Eval: true}},
		Sections: []Section{{ID: "s", Kind: KindBest, Title: "s", Rows: []string{"erm"}, Subject: "erm"}, {ID: "f", Kind: KindFlatness, Title: "f", Rows: []string{"erm"}}}}
	dir := t.TempDir()
	rd := filepath.Join(dir, RunsDir, "erm-s1")
	cfg, _ := resolve(c, nil, 1)
	writeFakeRun(t, rd, with(cfg, "erm", nil), []int{1, 2}, 10, 20, []float64{0.5, 0.6}, 0.995, 100)
	sum, _ := run.ReadSummary(rd)
	fp, _ := Fingerprint(sum.Config)
	write := func(spec EvalSpec) {
		rec := EvalRecord{SpecFingerprint: spec.fingerprint(), RunFingerprint: fp, FinishedAt: sum.FinishedAt.String(),
			Report: sharpness.RunReport{Flatness: &sharpness.FlatnessResult{M: 20, Points: []sharpness.FlatnessPoint{{Delta: 0.01, Mean: 1, Variance: 0.19, Losses: make([]float64, 20)}}},
				Hessian: &sharpness.EigenResult{Pairs: []sharpness.Eigenpair{{Value: 3}}, Converged: false}}}
		b, _ := json.Marshal(rec)
		if err := os.WriteFile(filepath.Join(rd, EvalFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(EvalSpec{FlatnessDraws: 20, Seed: 1})
	res, err := Collect(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Sections[0].Rows[0]; len(r.Flatness) != 0 || len(r.Missing) != 1 || !strings.Contains(r.Missing[0], "another EvalSpec") {
		t.Errorf("stale measurement: flatness %+v, missing %v", r.Flatness, r.Missing)
	}
	var b strings.Builder
	writeSection(&b, res.Sections[1], "")
	if f := res.Sections[1]; f.Verdict != NotRun || !strings.HasPrefix(f.Reason, "not measured yet") || !strings.Contains(b.String(), "**Not measured yet**: 1 of 1 runs finished") || strings.Contains(b.String(), "| ours |") {
		t.Errorf("flatness section without measurements: %q (%s)\n%s", f.Verdict, f.Reason, b.String())
	}
	write(p.Eval)
	res, _ = Collect(p, dir)
	r := res.Sections[0].Rows[0]
	if len(r.Flatness) != 1 || len(r.Missing) != 0 {
		t.Fatalf("current measurement: flatness %+v, missing %v", r.Flatness, r.Missing)
	}
	// Recorded without mean_se: recomputed from the variance over its 20 draws, √(0.19/19).
	if got := r.Flatness[0].MeanMCSE.Mean; math.Abs(got-0.1) > 1e-12 {
		t.Errorf("Monte-Carlo SE %g, want 0.1", got)
	}
	b.Reset()
	hessianTable(&b, SectionResult{Rows: []RowResult{r}})
	if want := "| ERM (Lanczos did not converge: runs/erm-s1) | 3 (n=1) |"; !strings.Contains(b.String(), want) {
		t.Errorf("Hessian table lacks %q:\n%s", want, b.String())
	}
}

// TestComputeLine: the header compares the finished runs' wall time with their estimate and,
// while runs remain, projects the rest of the plan at that pace.
func TestComputeLine(t *testing.T) {
	res := &Results{Runs: 3, Unused: 1, Planned: 10, TrainSeconds: 1500, UnusedSeconds: 300, MeasureSeconds: 300, FinishedEstimate: 1400, Estimate: PlanEstimate{Total: 3600}}
	want := "30m0s of training wall time so far, 25m0s of it in the tables' runs, and 5m0s of sharpness measurements; the estimate for the finished runs and measurements was 23m20s (they took 1.50× it); the whole plan is estimated at 1h0m0s, so 36m40s remain by the estimate, ≈ 55m0s at the pace so far"
	if got := computeLine(res); !strings.Contains(got, want) {
		t.Errorf("partial plan:\n%s\nwant it to contain\n%s", got, want)
	}
	res.Runs, res.Unused = 9, 1
	if got := computeLine(res); !strings.Contains(got, "(they took 1.50× it); every run has finished, and the whole plan was estimated at 1h0m0s") {
		t.Errorf("finished plan: %s", got)
	}
}
