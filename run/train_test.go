package run

import (
	"os"
	"path/filepath"
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
