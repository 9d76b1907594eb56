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

// TestCollapsedRunIsMarked: a copy of the committed noisy runs in which SAM's seed 2 of the
// ablations ends with the training loss of a uniform guess (2.3024 ≥ 0.99·ln 10, as the
// Table 1 runs that collapsed in the He-headed version of the plan did); the report marks
// that run in every row that holds it, and no ablation run that learned.
func TestCollapsedRunIsMarked(t *testing.T) {
	src := filepath.Join("..", "docs", "results", "study-noisy")
	const collapsed = "abl-sam-s2"
	summary := filepath.Join(RunsDir, collapsed, "summary.json")
	b, err := os.ReadFile(filepath.Join(src, summary))
	if err != nil {
		t.Skipf("committed run %s not found (%v)", collapsed, err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, RunsDir), os.DirFS(filepath.Join(src, RunsDir))); err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	s["final"].(map[string]any)["train_loss"] = 2.3024
	b, err = json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, summary), b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Collect(Noisy(), dir)
	if err != nil {
		t.Fatal(err)
	}
	marked := 0
	for _, sec := range res.Sections {
		for _, r := range sec.Rows {
			for _, run := range r.AtChance {
				switch {
				case strings.Contains(run, collapsed):
					marked++
				case strings.Contains(run, "runs/abl-"): // no ablation run collapsed (Table 1's may)
					t.Errorf("%s, row %s: %s marked at chance, want only %s of the ablations", sec.ID, r.Label, run, collapsed)
				}
			}
		}
		if sec.ID != "table2" {
			continue
		}
		var b strings.Builder
		accuracyTable(&b, sec)
		if !strings.Contains(b.String(), "(1 of 3 at chance)") || !strings.Contains(b.String(), "**At chance.** runs/"+collapsed) {
			t.Errorf("the table2 accuracy table does not mark %s:\n%s", collapsed, b.String())
		}
	}
	if marked == 0 {
		t.Errorf("no row marks %s at chance", collapsed)
	}
}
