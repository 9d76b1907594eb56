package study

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedRunsKeepTheirFingerprints checks that every run folder committed under
// docs/results/study-noisy/runs is still the run the plan asks for: a change to run.Config,
// its canonical form or a plan that altered a finished run's fingerprint would make the
// next `tsam study` refuse the folder (or, worse, mix configurations), so it must be a
// decision, made together with deleting the runs it invalidates. (The retired paper plan's
// folder keeps the runs of its report, some recorded before the update rules and budgets
// of its ablations and baselines were brought to the paper's scale.)
func TestCommittedRunsKeepTheirFingerprints(t *testing.T) {
	for name, plan := range map[string]*Plan{"noisy": Noisy()} {
		dir := filepath.Join("..", "docs", "results", "study-"+name, RunsDir)
		checked := 0
		for _, c := range plan.Cells {
			for _, seed := range c.Seeds {
				b, err := os.ReadFile(filepath.Join(dir, runID(c.Name, seed), MarkFile))
				if err != nil {
					continue // not trained yet
				}
				var mark Mark
				if err := json.Unmarshal(b, &mark); err != nil {
					t.Fatalf("%s: %v", runID(c.Name, seed), err)
				}
				cfg, err := resolve(c.Config, c.Extra, seed)
				if err != nil {
					t.Fatal(err)
				}
				fp, err := Fingerprint(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if fp != mark.Fingerprint {
					t.Errorf("plan %s, run %s: committed fingerprint %s, the plan's now %s (%s)", name, runID(c.Name, seed), mark.Fingerprint, fp, firstDifference(mark.Config, cfg))
				}
				checked++
			}
		}
		t.Logf("plan %s: %d committed runs checked", name, checked)
	}
}

// TestCommittedCollapsedRunIsMarked: in the committed noisy runs, ESAM2's seed 2 on
// Fashion-MNIST with 20% noise stayed at chance from its first evaluation (training loss
// 2.302 = ln 10, test accuracy 10%); the report marks exactly that run in its row, and no
// run of the column that learned.
func TestCommittedCollapsedRunIsMarked(t *testing.T) {
	dir := filepath.Join("..", "docs", "results", "study-noisy")
	const collapsed = "table1-fm20-esam2-s2"
	if _, err := os.Stat(filepath.Join(dir, RunsDir, collapsed, "summary.json")); err != nil {
		t.Skipf("committed run %s not found (%v)", collapsed, err)
	}
	res, err := Collect(Noisy(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Sections {
		if s.ID != "table1-fm20" {
			continue
		}
		for _, r := range s.Rows {
			want := 0
			if r.Method == "esam2" {
				want = 1
			}
			if len(r.AtChance) != want || (want == 1 && !strings.Contains(r.AtChance[0], collapsed)) {
				t.Errorf("row %s: at chance %v, want %d run(s) (%s for ESAM2)", r.Label, r.AtChance, want, collapsed)
			}
		}
		var b strings.Builder
		accuracyTable(&b, s)
		if !strings.Contains(b.String(), "(1 of 3 at chance)") || !strings.Contains(b.String(), "**At chance.** runs/"+collapsed) {
			t.Errorf("the accuracy table does not mark %s:\n%s", collapsed, b.String())
		}
		return
	}
	t.Fatal("the noisy plan has no section table1-fm20")
}
