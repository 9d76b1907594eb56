package run

import (
	"math"
	"os"
	"path/filepath"
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
