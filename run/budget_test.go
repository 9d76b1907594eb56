package run

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBudgetTSAMGivesTSAMsGradientEvaluations: with Budget "tsam" a baseline runs as many
// steps as spend TSAM's gradient evaluations at the same s, sampler and r (the paper's
// Table 5 budgets); without it, Epochs passes. ESAM1 always has the budget.
func TestBudgetTSAMGivesTSAMsGradientEvaluations(t *testing.T) {
	const spe = 10 // steps per epoch
	cfg := smallConfig()
	cfg.Epochs, cfg.S = 2, 3 // TSAM: 2·3 = 6 passes a step; SAM-like methods: 2
	for _, c := range []struct {
		method, budget, sampler string
		want                    int
	}{
		{"pgn", "", "practical", 20},
		{"pgn", "tsam", "practical", 60},
		{"esam2", "tsam", "practical", 60},
		{"rsam", "tsam", "practical", 60},
		{"esam1", "", "practical", 60},
		{"rsam", "tsam", "hmc", 60}, // HMC with N = 1: 3·(1+1) = 6 passes
		{"rsam", "tsam", "naive", 30},
		{"erm", "tsam", "practical", 120},
		{"tsam", "tsam", "practical", 20},
	} {
		cfg.Method, cfg.Budget, cfg.Sampler = c.method, c.budget, c.sampler
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got := PlannedSteps(cfg, spe); got != c.want {
			t.Errorf("%s with budget %q (TSAM sampler %s): %d steps, want %d", c.method, c.budget, c.sampler, got, c.want)
		}
	}
	cfg.Budget = "sam"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("budget \"sam\" accepted: %v", err)
	}
}

// TestBudgetIsRecordedAndTrained: a PGN run with Budget "tsam" trains the longer schedule
// and records the budget in config.json and the summary.
func TestBudgetIsRecordedAndTrained(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig()
	cfg.Method, cfg.Budget, cfg.Epochs, cfg.Subset = "pgn", "tsam", 1, 96 // 3 steps an epoch; TSAM s=2: 4 passes
	sum, err := Train(cfg, dir, Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 6 || sum.Config.Budget != "tsam" {
		t.Errorf("%d steps with budget %q; want 6 steps (2× the epoch's 3) and budget tsam", sum.Steps, sum.Config.Budget)
	}
	stored, err := ReadConfig(dir)
	if err != nil || stored.Budget != "tsam" {
		t.Errorf("config.json budget %q (%v)", stored.Budget, err)
	}
}

// TestResumeRefusesAnOlderUpdateRule: a run recorded before a method's update rule changed
// (its config.json has no revision) cannot be continued with the new rule.
func TestResumeRefusesAnOlderUpdateRule(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Sampler = "hmc"
	old := cfg.Canonical()
	old.Revision = 0
	writeStoredConfig(t, dir, old)
	_, err := Train(cfg, dir, Options{Resume: true, Log: testLog{t}})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "revision 0") || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("resume of an HMC run of revision 0: %v", err)
	}
	if got := cfg.Canonical().Revision; got != 1 {
		t.Errorf("HMC revision %d, want 1", got)
	}
	cfg.Sampler = "practical"
	if got := cfg.Canonical().Revision; got != 0 {
		t.Errorf("practical sampler revision %d, want 0 (its rule never changed)", got)
	}
}

// TestResumeReadsBackTheMethodParameters: the checkpoint carries the method's configuration
// as context parameters; a config.json edited after the run started (here t = 20 → 5) no
// longer matches it, and resuming is refused naming the parameter.
func TestResumeReadsBackTheMethodParameters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig()
	cfg.MaxSteps = 3
	if _, err := Train(cfg, dir, Options{Log: testLog{t}}); err != nil {
		t.Fatal(err)
	}
	stored, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	stored.T = 5
	writeStoredConfig(t, dir, stored)
	cfg.T, cfg.MaxSteps = 5, 0
	_, err = Train(cfg, dir, Options{Resume: true, Log: testLog{t}})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "sam_t = 20") {
		t.Fatalf("resume with an edited config.json: %v", err)
	}
}

// writeStoredConfig replaces the run folder's config.json with cfg, as a hand edit would.
func writeStoredConfig(t *testing.T, dir string, cfg Config) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
