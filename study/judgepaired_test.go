package study

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedRow is a row with final test accuracies per seed 1, 2, ...
func seedRow(name string, vs ...float64) RowResult {
	r := RowResult{Name: name, Label: name, TestAcc: newStat(vs), TestAccBySeed: map[int64]float64{}}
	for i, v := range vs {
		r.TestAccBySeed[int64(i+1)] = v
	}
	return r
}

// TestJudgePairedUsesSeeds: a gain that is small against the spread across seeds but the
// same on every seed is invisible to the unpaired rule and clear to the paired test.
func TestJudgePairedUsesSeeds(t *testing.T) {
	erm := []float64{0.50, 0.60, 0.70, 0.55, 0.65}
	tsam := []float64{0.511, 0.609, 0.712, 0.559, 0.661}
	best := Section{Kind: KindBest, Subject: "tsam"}
	rows := []RowResult{seedRow("erm", erm...), seedRow("tsam", tsam...)}
	if v, _, _ := judge(best, rows); v != Inconclusive {
		t.Fatalf("unpaired rule: %q, want inconclusive (the test's premise)", v)
	}
	v, reason, comps, ok := judgePaired(best, rows)
	if !ok || v != Reproduced || len(comps) != 1 || !comps[0].Counts {
		t.Fatalf("paired: %q (%s), comparisons %+v", v, reason, comps)
	}
	if c := comps[0]; c.Paired.N != 5 || c.Paired.Lo <= 0 || !strings.Contains(reason, "[+") {
		t.Errorf("paired comparison %+v, reason %q: want 5 seeds and an interval above 0", c, reason)
	}
	// Swapped, the same difference goes against the claim.
	if v, _, _, _ := judgePaired(best, []RowResult{seedRow("erm", tsam...), seedRow("tsam", erm...)}); v != NotReproduced {
		t.Errorf("TSAM consistently worse: %q", v)
	}
}

// TestJudgePairedHolm: two comparisons, each with raw p < 0.05 on its own, that Holm's
// adjustment lifts to ≥ 0.05 together, so the claim is inconclusive and names the seeds it
// would need.
func TestJudgePairedHolm(t *testing.T) {
	ref := []float64{0.50, 0.52, 0.54, 0.51}
	a := []float64{0.52, 0.526, 0.565, 0.521} // differences 0.02, 0.006, 0.025, 0.011
	b := []float64{0.521, 0.526, 0.566, 0.52}
	s := Section{Kind: KindBeatsRef}
	_, reason, comps, _ := judgePaired(s, []RowResult{seedRow("ref", ref...), seedRow("a", a...), seedRow("b", b...)})
	raw := []float64{comps[0].Paired.P, comps[1].Paired.P}
	want := holm(raw)
	for i, c := range comps {
		if c.PHolm != want[i] {
			t.Errorf("comparison %d: Holm p %g, want %g", i, c.PHolm, want[i])
		}
	}
	if !(raw[0] < 0.05 && raw[1] < 0.05 && want[0] >= 0.05 && want[1] >= 0.05) {
		t.Fatalf("premise: raw p %v, Holm %v; want raw < 0.05 ≤ Holm", raw, want)
	}
	v, _ := pairedVerdict(s.Kind, comps)
	if v != Inconclusive || comps[1].Counts || comps[1].SeedsNeeded <= 4 || !strings.Contains(reason, "seeds to see it") {
		t.Errorf("verdict %q, comparison %+v, reason %q: want inconclusive with more than 4 seeds needed", v, comps[1], reason)
	}
}

// TestJudgePairedNoDifference: equal rows reproduce a no-difference claim and report the
// interval of the difference; a consistent shift refutes it.
func TestJudgePairedNoDifference(t *testing.T) {
	s := Section{Kind: KindNoDifference}
	same := []RowResult{seedRow("fix", 0.60, 0.62, 0.61), seedRow("up", 0.61, 0.61, 0.612)}
	v, reason, comps, _ := judgePaired(s, same)
	if v != Reproduced || comps[0].Paired.Lo >= 0 || comps[0].Paired.Hi <= 0 || !strings.Contains(reason, "[") {
		t.Errorf("equal rows: %q (%s)", v, reason)
	}
	shifted := []RowResult{seedRow("fix", 0.60, 0.62, 0.61), seedRow("up", 0.65, 0.671, 0.659)}
	if v, _, _, _ := judgePaired(s, shifted); v != NotReproduced {
		t.Errorf("shifted rows: %q", v)
	}
	if v, _, _, _ := judgePaired(Section{Kind: KindNoGain}, []RowResult{seedRow("n1", 0.65, 0.671, 0.659), seedRow("n2", 0.60, 0.62, 0.61)}); v != Reproduced {
		t.Errorf("a worse row under a no-gain claim: %q", v)
	}
}

// TestMemorisationMarksShortRuns: an ERM run of a label-noise section below the threshold is
// listed and the claim left inconclusive; all runs above it leave the verdict alone.
func TestMemorisationMarksShortRuns(t *testing.T) {
	mk := func(accs ...float64) SectionResult {
		erm := seedRow("erm", 0.5, 0.5)
		erm.Method, erm.Noise, erm.TrainAcc, erm.finished = "erm", 0.4, newStat(accs), []string{"runs/erm-s1", "runs/erm-s2"}
		return SectionResult{Verdict: Reproduced, Reason: "r", Rows: []RowResult{erm, seedRow("tsam", 0.6, 0.6)}}
	}
	sr := mk(0.995, 0.97)
	checkMemorisation(0.99, &sr)
	if sr.Verdict != Inconclusive || len(sr.Rows[0].Unmemorised) != 1 || !strings.Contains(sr.Rows[0].Unmemorised[0], "runs/erm-s2 (97.0%)") || !strings.Contains(sr.Memorisation, "did NOT") {
		t.Errorf("one short run: verdict %q, unmemorised %v, note %q", sr.Verdict, sr.Rows[0].Unmemorised, sr.Memorisation)
	}
	sr = mk(0.995, 0.999)
	checkMemorisation(0.99, &sr)
	if sr.Verdict != Reproduced || len(sr.Rows[0].Unmemorised) != 0 || !strings.Contains(sr.Memorisation, "in all 2") {
		t.Errorf("both memorised: verdict %q, note %q", sr.Verdict, sr.Memorisation)
	}
	clean := mk(0.5, 0.5)
	clean.Rows[0].Noise = 0
	checkMemorisation(0.99, &clean)
	if clean.Verdict != Reproduced || clean.Memorisation != "" {
		t.Errorf("clean labels are not checked: %q, %q", clean.Verdict, clean.Memorisation)
	}
}

// TestSmokeGivesNoVerdict: a smoke plan's sections are never judged.
func TestSmokeGivesNoVerdict(t *testing.T) {
	sr := SectionResult{Rows: []RowResult{seedRow("erm", 0.5, 0.51, 0.49), seedRow("tsam", 0.6, 0.61, 0.59)}}
	decide(&Plan{Smoke: true}, Section{Kind: KindBest, Subject: "tsam"}, &sr)
	if sr.Verdict != SmokeVerdict {
		t.Errorf("smoke verdict %q", sr.Verdict)
	}
	decide(&Plan{Paired: true}, Section{Kind: KindBest, Subject: "tsam"}, &sr)
	if sr.Verdict != Reproduced || len(sr.Comparisons) != 1 {
		t.Errorf("paired plan: verdict %q, %d comparisons", sr.Verdict, len(sr.Comparisons))
	}
}

// TestPairedReportEndToEnd trains a tiny paired plan with label noise whose ERM cannot
// memorise in 2 steps, and checks the report: per-seed comparisons with intervals, the
// best-epoch and training-label accuracy columns, ERM's runs marked as not memorised and
// the claim not judged.
func TestPairedReportEndToEnd(t *testing.T) {
	c := base("mnist", "mlp-16", 0.4, 64, 1, 32, 0.01)
	seeds := []int64{1, 2}
	p := &Plan{
		Name: "pairedtiny", Paired: true, MemoriseTrainAcc: 0.99,
		Cells: []Cell{
			{Name: "erm", Label: "ERM", Config: with(c, "erm", nil), Seeds: seeds},
			{Name: "sam", Label: "SAM", Config: with(c, "sam", nil), Seeds: seeds},
		},
		Sections: []Section{{ID: "table1a", Kind: KindBest, Title: "tiny", Rows: []string{"erm", "sam"}, Subject: "sam", Curves: true}},
	}
	dir := t.TempDir()
	if _, err := Execute(p, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := Collect(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Sections[0]
	if len(s.Comparisons) != 1 || s.Comparisons[0].Paired.N != 2 {
		t.Fatalf("comparisons %+v, want one over 2 seeds", s.Comparisons)
	}
	if s.Verdict != Inconclusive || len(s.Rows[0].Unmemorised) != 2 || !strings.HasPrefix(s.Reason, "not judged") {
		t.Errorf("ERM fitted %v of its noisy labels: verdict %q (%s), unmemorised %v", s.Rows[0].TrainAcc.Values, s.Verdict, s.Reason, s.Rows[0].Unmemorised)
	}
	sam := s.Rows[1]
	if sam.BestTestAcc.Mean < sam.TestAcc.Mean {
		t.Errorf("best-epoch test accuracy %v below the final %v", sam.BestTestAcc, sam.TestAcc)
	}
	if len(sam.TestAccBySeed) != 2 || sam.TestAccBySeed[1]+sam.TestAccBySeed[2] != sam.TestAcc.Values[0]+sam.TestAcc.Values[1] {
		t.Errorf("per-seed accuracies %v are not the runs' finals %v", sam.TestAccBySeed, sam.TestAcc.Values)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportDir, ResultsMD))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Paired by seed", "| SAM − ERM | above | 2 |", "did NOT reach the memorisation threshold", "did not memorise: runs/erm-s1", "best-epoch test accuracy", "Holm"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, md)
		}
	}
}

// TestMemorisedByChecksTheSettingsERM: an ablation section without an ERM row is checked
// against the ERM row of its setting (Section.MemorisedBy), and a name that is no row is
// refused by Validate.
func TestMemorisedByChecksTheSettingsERM(t *testing.T) {
	erm := seedRow("abl-erm", 0.5)
	erm.Method, erm.Noise, erm.TrainAcc, erm.finished = "erm", 0.4, newStat([]float64{0.8}), []string{"runs/abl-erm-s1"}
	sr := SectionResult{Verdict: Reproduced, Reason: "r", Rows: []RowResult{seedRow("sam", 0.6), seedRow("tsam", 0.61)}}
	checkMemorisation(0.99, &sr, erm)
	if sr.Verdict != Inconclusive || !strings.Contains(sr.Memorisation, "runs/abl-erm-s1 (80.0%)") {
		t.Errorf("ablation whose setting did not memorise: verdict %q, note %q", sr.Verdict, sr.Memorisation)
	}
	p := Noisy()
	p.Sections[len(p.Sections)-1].MemorisedBy = "nope"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Validate with an unknown MemorisedBy: %v", err)
	}
}
