package study

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tsamgo/tsam/run"
)

func TestFingerprintCoversResultFieldsOnly(t *testing.T) {
	c := base("mnist", "mlp-32", 0, 64, 1, 32, 0.1)
	fp, err := Fingerprint(c)
	if err != nil {
		t.Fatal(err)
	}
	same := c
	same.Backend, same.CheckpointEvery = "cpu:gemm=go", run.Duration(1)
	if got, _ := Fingerprint(same); got != fp {
		t.Errorf("backend and checkpoint frequency changed the fingerprint: %s vs %s", got, fp)
	}
	here, there := c, c
	here.DataDir, there.DataDir = "/work/shared/data/cifar10-jpeg.tar.gz", "/check/work/shared/data/cifar10-jpeg.tar.gz"
	fpHere, _ := Fingerprint(here)
	if got, _ := Fingerprint(there); got != fpHere {
		t.Errorf("the data file's folder changed the fingerprint: %s vs %s", got, fpHere)
	}
	if fpHere == fp {
		t.Errorf("a data file and the built-in location share the fingerprint %s", fp)
	}
	other := here
	other.DataDir = "/work/shared/data/cifar10-python.tar.gz"
	if got, _ := Fingerprint(other); got == fpHere {
		t.Errorf("another data file left the fingerprint at %s", got)
	}
	for name, change := range map[string]func(*run.Config){
		"t":         func(c *run.Config) { c.T = 5 },
		"max_steps": func(c *run.Config) { c.MaxSteps = 3 },
		"seed":      func(c *run.Config) { c.Seed = 2 },
		"noise":     func(c *run.Config) { c.Noise = 0.2 },
	} {
		d := c
		change(&d)
		got, _ := Fingerprint(d)
		if got == fp {
			t.Errorf("changing %s left the fingerprint at %s", name, fp)
		}
		if diff := firstDifference(c, d); !strings.HasPrefix(diff, name+":") {
			t.Errorf("firstDifference after changing %s = %q", name, diff)
		}
	}
}

func TestResolveExtra(t *testing.T) {
	c := base("mnist", "mlp-32", 0, 64, 1, 32, 0.1)
	if _, err := resolve(c, map[string]any{"no_such_field": 1}, 1); err == nil || !strings.Contains(err.Error(), "no_such_field") {
		t.Fatalf("unknown Extra field: err = %v, want one naming the field", err)
	}
	got, err := resolve(c, map[string]any{"t": 7.5}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.T != 7.5 || got.Seed != 3 {
		t.Errorf("resolve set t=%g seed=%d, want 7.5 and 3", got.T, got.Seed)
	}
}

// TestPlans checks that both plans are well formed, that paper's estimate fits in the
// 8 hours the issue allows, and that every paper section has the paper's claim.
func TestPlans(t *testing.T) {
	for _, name := range PlanNames() {
		p, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("plan %s: %v", name, err)
		}
		for _, s := range p.Sections {
			if _, ok := PaperClaims[s.ID]; !ok {
				t.Errorf("plan %s: section %s has no PaperClaims entry", name, s.ID)
			}
		}
	}
	p := Paper()
	est := Estimate(p)
	if est.Total <= 0 || est.Total > 8*3600 {
		t.Errorf("paper plan estimate %s, want within 8h", fmtDuration(est.Total))
	}
	want := []string{"table1a", "table1b", "table1c", "table1d", "table2", "table4", "fig5", "fig7", "fig8", "table5", "fig2", "hessian", "table3"}
	var got []string
	for _, s := range p.Sections {
		got = append(got, s.ID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paper sections %v, want %v", got, want)
	}
	for _, c := range p.Cells {
		if len(c.Seeds) < 3 && c.Group == "" {
			t.Errorf("paper cell %s has %d seeds, want at least 3", c.Name, len(c.Seeds))
		}
	}
	for _, pk := range p.Picks {
		if len(pk.Seeds) < 3 {
			t.Errorf("paper pick %s has %d seeds, want at least 3", pk.Name, len(pk.Seeds))
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "smoke") {
		t.Errorf("Lookup(nope) = %v, want an error listing the plans", err)
	}
}

func TestPlanValidateRefuses(t *testing.T) {
	c := base("mnist", "mlp-32", 0, 64, 1, 32, 0.1)
	for name, p := range map[string]*Plan{
		"duplicate": {Name: "x", Cells: []Cell{{Name: "a", Config: c, Seeds: []int64{1}}, {Name: "a", Config: c, Seeds: []int64{1}}}},
		"bad name":  {Name: "x", Cells: []Cell{{Name: "A b", Config: c, Seeds: []int64{1}}}},
		"no seeds":  {Name: "x", Cells: []Cell{{Name: "a", Config: c}}},
		"twice":     {Name: "x", Cells: []Cell{{Name: "a", Config: c, Seeds: []int64{1, 1}}}},
		"empty grp": {Name: "x", Picks: []Pick{{Name: "p", Group: "g", Seeds: []int64{1}}}},
		"bad row":   {Name: "x", Cells: []Cell{{Name: "a", Config: c, Seeds: []int64{1}}}, Sections: []Section{{ID: "s", Kind: KindBest, Rows: []string{"b"}}}},
		"bad kind":  {Name: "x", Sections: []Section{{ID: "s", Kind: "nope"}}},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate accepted the plan", name)
		}
	}
}

func TestStatAndCompare(t *testing.T) {
	s := newStat([]float64{1, 2, 3, 4})
	if s.Mean != 2.5 || math.Abs(s.SD-math.Sqrt(5.0/3)) > 1e-12 || s.N != 4 {
		t.Fatalf("newStat = %+v, want mean 2.5, sd √(5/3), n 4", s)
	}
	a := newStat([]float64{10, 10.1, 9.9})
	b := newStat([]float64{9, 9.1, 8.9})
	if compare(a, b) != 1 || compare(b, a) != -1 {
		t.Errorf("clearly separated rows: compare = %d, %d; want 1, −1", compare(a, b), compare(b, a))
	}
	c := newStat([]float64{9.5, 10.5, 10})
	if compare(a, c) != 0 {
		t.Errorf("overlapping rows: compare = %d, want 0", compare(a, c))
	}
	if compare(newStat([]float64{100}), newStat([]float64{1})) != 0 {
		t.Error("one seed must never count as a difference")
	}
}

func accRow(name string, vs ...float64) RowResult {
	return RowResult{Name: name, Label: name, TestAcc: newStat(vs)}
}

func TestJudge(t *testing.T) {
	best := Section{Kind: KindBest, Subject: "tsam"}
	rows := []RowResult{accRow("erm", 0.5, 0.51, 0.49), accRow("tsam", 0.6, 0.61, 0.59)}
	if v, _, _ := judge(best, rows); v != Reproduced {
		t.Errorf("TSAM clearly best: verdict %q", v)
	}
	rows[1] = accRow("tsam", 0.4, 0.41, 0.39)
	if v, _, _ := judge(best, rows); v != NotReproduced {
		t.Errorf("TSAM clearly worst: verdict %q", v)
	}
	rows[1] = accRow("tsam", 0.45, 0.55, 0.5)
	if v, _, _ := judge(best, rows); v != Inconclusive {
		t.Errorf("overlapping: verdict %q", v)
	}
	withMore := Section{Kind: KindBest, Subject: "tsam", Greater: [][2]string{{"erm", "tsam"}}}
	rows = []RowResult{accRow("erm", 0.5, 0.51, 0.49), accRow("tsam", 0.6, 0.61, 0.59)}
	if v, _, subs := judge(withMore, rows); v != NotReproduced || len(subs) != 2 || subs[0].Verdict != Reproduced || subs[1].Verdict != NotReproduced {
		t.Errorf("main claim holds, extra claim fails: verdict %q, subclaims %+v", v, subs)
	}
	noDiff := Section{Kind: KindNoDifference}
	if v, _, _ := judge(noDiff, []RowResult{accRow("a", 0.5, 0.51, 0.49), accRow("b", 0.5, 0.52, 0.48)}); v != Reproduced {
		t.Errorf("equal rows, no-difference claim: verdict %q", v)
	}
	if v, _, _ := judge(noDiff, []RowResult{accRow("a", 0.5, 0.51, 0.49), accRow("b", 0.6)}); v != Inconclusive {
		t.Errorf("one seed, no-difference claim: verdict %q, want inconclusive", v)
	}
	if v, _, _ := judge(Section{Kind: KindNoGain}, []RowResult{accRow("a", 0.5, 0.51, 0.49), accRow("b", 0.3, 0.31, 0.29)}); v != Reproduced {
		t.Errorf("worse row, no-gain claim: verdict %q", v)
	}
	if v, _, _ := judge(best, []RowResult{accRow("erm"), accRow("tsam", 0.5)}); v != NotRun {
		t.Errorf("nothing to compare: verdict %q", v)
	}
}

// tinyPlan is two MNIST cells of a few steps each.
func tinyPlan(tilt float64) *Plan {
	c := base("mnist", "mlp-16", 0, 64, 2, 32, 0.01)
	return &Plan{
		Name: "tiny",
		Cells: []Cell{
			{Name: "erm", Label: "ERM", Config: with(c, "erm", nil), Seeds: []int64{1}},
			{Name: "tsam", Label: "TSAM", Config: with(c, "tsam", func(c *run.Config) { c.T, c.R = tilt, 1 }), Seeds: []int64{1}},
		},
		Sections: []Section{{ID: "table1a", Kind: KindBest, Title: "tiny", Rows: []string{"erm", "tsam"}, Subject: "tsam", Curves: true}},
	}
}

// TestExecuteSkipsResumesAndNeverMixes runs a tiny plan, runs it again (nothing trains),
// changes a cell (refused before anything trains), then simulates interruptions: a run
// killed after its last checkpoint is resumed, one killed before its first is restarted.
func TestExecuteSkipsResumesAndNeverMixes(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	out, err := Execute(tinyPlan(20), dir, Options{Log: &log})
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, log.String())
	}
	if out.Trained != 2 || len(out.Failures) != 0 {
		t.Fatalf("first run: %+v\n%s", out, log.String())
	}
	for _, f := range []string{ResultsMD, ResultsJSON, "table1a-curves.png"} {
		if _, err := os.Stat(filepath.Join(dir, ReportDir, f)); err != nil {
			t.Errorf("report file: %v", err)
		}
	}
	tsamDir := filepath.Join(dir, RunsDir, "tsam-s1")
	first, err := run.ReadSummary(tsamDir)
	if err != nil {
		t.Fatal(err)
	}

	out, err = Execute(tinyPlan(20), dir, Options{})
	if err != nil || out.Trained != 0 || out.Resumed != 0 || out.Skipped != 2 {
		t.Fatalf("second run trained again: %+v, %v", out, err)
	}

	// A changed configuration is refused, naming the folder and the field, and nothing
	// in the study is touched.
	_, err = Execute(tinyPlan(5), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "tsam-s1") || !strings.Contains(err.Error(), "t: 20 there, 5 in the plan") {
		t.Fatalf("changed plan: err = %v, want a refusal naming tsam-s1 and t", err)
	}
	if again, _ := run.ReadSummary(tsamDir); again.FinishedAt != first.FinishedAt {
		t.Error("the refused study modified a run")
	}
	// The report of the changed plan leaves the old run out instead of averaging it in.
	if _, err := Execute(tinyPlan(5), dir, Options{ReportOnly: true}); err != nil {
		t.Fatal(err)
	}
	res, err := Collect(tinyPlan(5), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Sections[0].Rows[1]; r.TestAcc.N != 0 || len(r.Missing) != 1 || !strings.Contains(r.Missing[0], "another configuration") {
		t.Errorf("report of the changed plan used the old run: %+v", r)
	}

	// Killed after the last checkpoint, before the summary: resumed, not retrained.
	if err := os.Remove(filepath.Join(tsamDir, run.SummaryFile)); err != nil {
		t.Fatal(err)
	}
	// Killed before the first checkpoint: only study.json and config.json exist.
	ermDir := filepath.Join(dir, RunsDir, "erm-s1")
	for _, name := range []string{run.SummaryFile, run.CheckpointDir, run.MetricsJSON, run.MetricsCSV} {
		if err := os.RemoveAll(filepath.Join(ermDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	log.Reset()
	out, err = Execute(tinyPlan(20), dir, Options{Log: &log})
	if err != nil || out.Resumed != 1 || out.Trained != 1 || out.Skipped != 0 {
		t.Fatalf("after interruptions: %+v, %v; want 1 resumed (tsam) and 1 restarted (erm)\n%s", out, err, log.String())
	}
	if !strings.Contains(log.String(), "resumed "+tsamDir+" at step") {
		t.Errorf("tsam-s1 was not resumed from its checkpoint:\n%s", log.String())
	}
	resumed, err := run.ReadSummary(tsamDir)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Final.TestAcc != first.Final.TestAcc || resumed.Steps != first.Steps {
		t.Errorf("resumed run: test accuracy %v after %d steps; want the first result %v after %d", resumed.Final.TestAcc, resumed.Steps, first.Final.TestAcc, first.Steps)
	}

	// A folder holding a run that the study did not start is refused too.
	foreign := filepath.Join(dir, RunsDir, "erm-s1")
	if err := os.Remove(filepath.Join(foreign, MarkFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(tinyPlan(20), dir, Options{}); err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Errorf("foreign run folder: err = %v", err)
	}
}

// TestPicksChooseOnValidation checks that a pick reuses the winning candidate's run and
// trains only its other seeds before the plan's other cells, and that the report lists the
// grid.
func TestPicksChooseOnValidation(t *testing.T) {
	c := base("mnist", "mlp-16", 0, 64, 1, 32, 0.01)
	p := &Plan{
		Name: "picks",
		Cells: []Cell{
			{Name: "other", Label: "other", Config: with(c, "erm", nil), Seeds: []int64{1}},
			// lr 1e-6 cannot learn in 2 steps; lr 0.1 can: the pick must choose "fast".
			{Name: "g-slow", Label: "slow", Config: with(c, "erm", func(c *run.Config) { c.LR = 1e-6 }), Seeds: []int64{1}, Group: "g"},
			{Name: "g-fast", Label: "fast", Config: with(c, "erm", func(c *run.Config) { c.LR = 0.1 }), Seeds: []int64{1}, Group: "g"},
		},
		Picks:    []Pick{{Name: "best", Label: "best", Group: "g", Seeds: []int64{1, 2}}},
		Sections: []Section{{ID: "table1a", Kind: KindBest, Title: "t", Rows: []string{"g-slow", "best"}, Subject: "best"}},
	}
	dir := t.TempDir()
	var log bytes.Buffer
	out, err := Execute(p, dir, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if out.Trained != 4 {
		t.Errorf("trained %d runs, want 4 (two candidates, one extra seed, the other cell)", out.Trained)
	}
	pickAt, otherAt := strings.Index(log.String(), "training best-s2"), strings.Index(log.String(), "training other-s1")
	if pickAt < 0 || otherAt < 0 || pickAt > otherAt {
		t.Errorf("the pick's seed must train before the plan's other cells (at %d, other at %d):\n%s", pickAt, otherAt, log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, RunsDir, "best-s2", run.SummaryFile)); err != nil {
		t.Errorf("pick's extra seed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RunsDir, "best-s1")); !os.IsNotExist(err) {
		t.Errorf("pick's seed 1 must reuse the candidate's run, found best-s1 (%v)", err)
	}
	mark, err := readMark(filepath.Join(dir, RunsDir, "best-s2"))
	if err != nil || mark.Config.LR != 0.1 || mark.Config.Seed != 2 {
		t.Errorf("pick's run configuration: %+v, %v; want lr 0.1 seed 2", mark, err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportDir, ResultsMD))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| best | g-fast: ") || !strings.Contains(string(md), "| g-fast |") {
		t.Errorf("RESULTS.md does not list the tuning grid and choice:\n%s", md)
	}
}

// TestLockRefusesSecondStudy checks that a study folder held by a running process is
// refused and that a lock left by a dead process is taken over.
func TestLockRefusesSecondStudy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFile)
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getppid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(tinyPlan(20), dir, Options{}); err == nil || !strings.Contains(err.Error(), "being studied by process") {
		t.Fatalf("live lock: err = %v", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no `true` command to get a dead process id:", err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	release, err := lock(dir)
	if err != nil {
		t.Fatalf("stale lock was not taken over: %v", err)
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock holds %q, want this process", b)
	}
	release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("release left the lock: %v", err)
	}
}

// TestSmokePlanGivesNoVerdict: a plan marked Smoke (the smoke plan) reports
// SmokeVerdict for its sections instead of judging the paper's claims on a few steps.
func TestSmokePlanGivesNoVerdict(t *testing.T) {
	if !Smoke().Smoke {
		t.Error("the smoke plan is not marked Smoke")
	}
	dir := t.TempDir()
	p := tinyPlan(20)
	p.Smoke = true
	if _, err := Execute(p, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := Collect(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Sections[0]; s.Verdict != SmokeVerdict || len(s.Subclaims) != 0 {
		t.Errorf("verdict %q with %d subclaims, want %q and none", s.Verdict, len(s.Subclaims), SmokeVerdict)
	}
}

// TestNoisyPlan checks the noisy plan's sizing and design: its estimate within the 10 hours
// its Doc states, all seven methods in every image column at the paper's budgets, 5 seeds
// in the main column and 3 elsewhere, ERM trained past the measured memorisation epoch in
// every label-noise column, and no row shared with the paper plan's folders.
func TestNoisyPlan(t *testing.T) {
	p := Noisy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if est := Estimate(p); est.Total <= 0 || est.Total > 10*3600 {
		t.Errorf("noisy plan estimate %s, want within 10h", fmtDuration(est.Total))
	}
	if hours := math.Round(Estimate(p).Total/360) / 10; hours != noisyHours {
		t.Errorf("noisy plan estimate %.1f h, its Doc states %.1f h", hours, float64(noisyHours))
	}
	seeds := map[string]int{}
	for _, c := range p.Cells {
		seeds[c.Name] = len(c.Seeds)
		if c.Group == "" && len(c.Seeds) < 3 {
			t.Errorf("cell %s has %d seeds, want at least 3", c.Name, len(c.Seeds))
		}
		budget := c.Config.Method == "esam2" || c.Config.Method == "pgn" || c.Config.Method == "rsam"
		if budget != (c.Config.Budget == "tsam") {
			t.Errorf("cell %s (%s) has budget %q", c.Name, c.Config.Method, c.Config.Budget)
		}
		if want := noisyMemorisedEpoch[c.Config.Data]; c.Config.Noise > 0 && (want == 0 || c.Config.Epochs < want+3) {
			t.Errorf("cell %s trains %d epochs on %s with label noise, short of ERM's measured memorisation (≥ 99%% from epoch %d) plus 3", c.Name, c.Config.Epochs, c.Config.Data, want)
		}
		if m := run.BudgetMultiple(c.Config); m > 1 && c.Config.EvalEvery != int(math.Round(m)) {
			t.Errorf("cell %s trains %g× its epochs but is evaluated every %d", c.Name, m, c.Config.EvalEvery)
		}
	}
	for _, pk := range p.Picks {
		seeds[pk.Name] = len(pk.Seeds)
	}
	for i, col := range noisyColumns {
		want := 3
		if i == 0 {
			want = 5
		}
		for _, m := range table1Methods {
			name := col.id + "-" + strings.ToLower(m)
			if seeds[name] < want {
				t.Errorf("column %s row %s has %d seeds, want %d", col.id, name, seeds[name], want)
			}
		}
		if _, ok := PaperClaims[col.id]; !ok {
			t.Errorf("column %s has no paper claim", col.id)
		}
	}
	paper := Paper()
	for _, c := range p.Cells {
		if old := paper.cell(c.Name); old != nil {
			a, _ := Fingerprint(old.Config)
			b, _ := Fingerprint(c.Config)
			if a == b {
				t.Errorf("cell %s has the paper plan's configuration", c.Name)
			}
		}
	}
}
