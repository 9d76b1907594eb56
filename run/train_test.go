package run

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// smallConfig is a TSAM run (random starts, so the context RNG matters) of 20 steps on a
// small MNIST subset.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.S = 2
	cfg.Subset = 320
	cfg.Val = 0.01
	cfg.Batch = 32
	cfg.Epochs = 2
	cfg.LR = 0.05
	return cfg
}

func TestTrainWritesRunFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	sum, err := Train(smallConfig(), dir, Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, SummaryFile, MetricsJSON, MetricsCSV, CurvesPNG} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if sum.Steps != 20 || !sum.Complete {
		t.Errorf("steps %d complete %v, want 20 steps and complete", sum.Steps, sum.Complete)
	}
	t.Logf("summary: %+v", sum.Final)
}

func TestMain(m *testing.M) {
	// Evaluating the full 10,000-image test set every epoch dominates these short runs.
	maxTestExamples = 1000
	os.Exit(m.Run())
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(string(b))
	return len(b), nil
}

// TestOptimizerChoice trains the same short run with each base optimizer: each records its
// choice ("sgd" as ""), lowers the training loss, and Adam's result differs from SGD's.
func TestOptimizerChoice(t *testing.T) {
	final := map[string]float64{}
	for _, opt := range []string{"", "sgd", "adam", "adamw"} {
		cfg := smallConfig()
		cfg.Method, cfg.Optimizer, cfg.Epochs = "erm", opt, 1
		if opt == "adam" || opt == "adamw" {
			cfg.LR = 0.001
		}
		want := cfg.Canonical().Optimizer
		dir := filepath.Join(t.TempDir(), "run")
		sum, err := Train(cfg, dir, Options{})
		if err != nil {
			t.Fatalf("optimizer %q: %v", opt, err)
		}
		back, err := ReadSummary(dir)
		if err != nil || back.Config.Optimizer != want {
			t.Errorf("optimizer %q: summary records %q (%v), want %q", opt, back.Config.Optimizer, err, want)
		}
		// An untrained 10-class model scores about log 10 = 2.30.
		if !(sum.Final.TrainLoss < math.Log(10)-0.3) {
			t.Errorf("optimizer %q: train loss %v after %d steps, want below %.2f", opt, sum.Final.TrainLoss, sum.Steps, math.Log(10)-0.3)
		}
		final[opt] = sum.Final.TrainLoss
	}
	if final["sgd"] != final[""] {
		t.Errorf("sgd ended at training loss %v, the default (\"\") at %v: the same optimizer should give the same run", final["sgd"], final[""])
	}
	if final[""] == final["adam"] {
		t.Errorf("adam and sgd ended at the same training loss %v: the choice had no effect", final[""])
	}
	bad := smallConfig()
	bad.Optimizer = "rmsprop"
	if err := bad.Validate(); !IsInputError(err) || !strings.Contains(err.Error(), "-optimizer") {
		t.Errorf("optimizer rmsprop: error %v, want an input error naming -optimizer", err)
	}
}

// TestEvalEvery evaluates only every EvalEvery-th epoch and the last, without changing the
// training: the final model is the one a run evaluated after every epoch reaches.
func TestEvalEvery(t *testing.T) {
	cfg := smallConfig()
	cfg.Method, cfg.Epochs = "erm", 5
	every, all := cfg, cfg
	every.EvalEvery = 2
	dirEvery, dirAll := filepath.Join(t.TempDir(), "every"), filepath.Join(t.TempDir(), "all")
	sumEvery, err := Train(every, dirEvery, Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	sumAll, err := Train(all, dirAll, Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadMetrics(dirEvery)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []int
	for _, r := range rows {
		epochs = append(epochs, r.Epoch)
	}
	if !slices.Equal(epochs, []int{2, 4, 5}) {
		t.Errorf("evaluated epochs %v, want [2 4 5]", epochs)
	}
	if sumEvery.Steps != 50 || sumEvery.Final.TrainLoss != sumAll.Final.TrainLoss || sumEvery.Final.TestAcc != sumAll.Final.TestAcc {
		t.Errorf("eval-every 2: %d steps, train loss %v, test acc %v; every epoch: train loss %v, test acc %v (want 50 steps and the same model)",
			sumEvery.Steps, sumEvery.Final.TrainLoss, sumEvery.Final.TestAcc, sumAll.Final.TrainLoss, sumAll.Final.TestAcc)
	}
	if got := every.Canonical(); got.EvalEvery != 2 {
		t.Errorf("canonical eval-every %d, want 2", got.EvalEvery)
	}
	one := cfg
	one.EvalEvery = 1
	if one.Canonical() != cfg.Canonical() {
		t.Error("eval-every 1 is not the same configuration as every epoch (0)")
	}
}

// TestTestSubset evaluates on the same spread-out test examples whatever the run's seed,
// and refuses more examples than the split has.
func TestTestSubset(t *testing.T) {
	idx := testSubsetIndices(10000, 500)
	if len(idx) != 500 || !slices.IsSorted(idx) || idx[len(idx)-1] < 9000 || idx[0] > 1000 {
		t.Errorf("test subset of 500 of 10,000 is not spread over the split: first %d, last %d", idx[0], idx[len(idx)-1])
	}
	if !slices.Equal(idx, testSubsetIndices(10000, 500)) {
		t.Error("the test subset changes between calls")
	}
	a, b := smallConfig(), smallConfig()
	a.TestSubset, b.TestSubset, b.Seed = 700, 700, a.Seed+1
	a.Normalize, b.Normalize = false, false // standardising uses the seed's training images
	sa, err := loadSplits(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := loadSplits(b)
	if err != nil {
		t.Fatal(err)
	}
	if sa.test.N() != 700 || !slices.Equal(sa.test.X, sb.test.X) || !slices.Equal(sa.test.Y, sb.test.Y) {
		t.Errorf("seeds %d and %d see different test sets (%d and %d examples)", a.Seed, b.Seed, sa.test.N(), sb.test.N())
	}
	a.TestSubset = 10001
	if _, err := loadSplits(a); !IsInputError(err) || !strings.Contains(err.Error(), "test-subset") {
		t.Errorf("a test subset larger than the split: %v, want an input error naming -test-subset", err)
	}
}

// TestHead: a run's logits layer starts as -head says. With the default zero head a run of
// one step at lr 1e-9 (so still its initial model) evaluates to the training loss ln 10 of
// a uniform guess, with the He head to another; "he" and the "" of runs recorded before the option are the
// same configuration; an unknown value is refused naming the flag and the choices.
func TestHead(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Head != "zero" {
		t.Errorf("DefaultConfig().Head = %q, want zero", cfg.Head)
	}
	he, old := cfg, cfg
	he.Head, old.Head = "he", ""
	if he.Canonical() != old.Canonical() || he.headInit() != "he" || old.headInit() != "he" {
		t.Errorf("he and a run without head differ: %+v against %+v", he.Canonical(), old.Canonical())
	}
	if cfg.Canonical().Head != "zero" {
		t.Errorf("canonical zero head is %q", cfg.Canonical().Head)
	}
	bad := cfg
	bad.Head = "xavier"
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "-head") || !strings.Contains(err.Error(), "zero, he") {
		t.Errorf("head xavier: err = %v, want one naming -head and the choices", err)
	}
	for _, head := range []string{"zero", "he"} {
		c := smallConfig()
		c.Method, c.Head, c.Epochs, c.MaxSteps, c.LR = "erm", head, 1, 1, 1e-9
		sum, err := Train(c, filepath.Join(t.TempDir(), head), Options{Log: testLog{t}})
		if err != nil {
			t.Fatal(err)
		}
		d := math.Abs(sum.Final.TrainLoss - math.Log(10))
		if (head == "zero") != (d < 1e-3) {
			t.Errorf("head %s: training loss after one step at lr 1e-9 is %.4f, ln 10 = %.4f", head, sum.Final.TrainLoss, math.Log(10))
		}
	}
}
