package study

import (
	"encoding/json"
	"os"
	"path/filepath"
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
