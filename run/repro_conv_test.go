package run

import (
	"path/filepath"
	"runtime"
	"testing"
)

// convConfig is smallConfig on ResNet-8 (convolutions with batch-norm, TSAM with random
// starts): 20 steps of 8 images.
func convConfig() Config {
	cfg := smallConfig()
	cfg.Model = "resnet8"
	cfg.Subset = 80
	cfg.Batch = 8
	return cfg
}

// TestConvRunsAreReproducible trains the convolutional model twice on two threads and
// requires every variable to agree bit for bit; then it stops a run after 13 of the 20 steps
// and resumes it, which must give the uninterrupted run's variables too. The backend's
// kernel gradients used to keep per-worker partial sums over chunks handed out as workers
// came free: on two threads no two such runs were the same run, and resume was bit-exact only
// for MLPs.
func TestConvRunsAreReproducible(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	defer func(n int) { maxTestExamples = n }(maxTestExamples)
	maxTestExamples = 200 // Evaluation is not what is tested, and dominates these runs.
	cfg := convConfig()
	first, second := filepath.Join(t.TempDir(), "first"), filepath.Join(t.TempDir(), "second")
	for _, dir := range []string{first, second} {
		if _, err := Train(cfg, dir, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if name, diff := firstDifferentVariable(checkpointValues(t, first), checkpointValues(t, second)); name != "" {
		t.Fatalf("two identical runs differ: variable %s: %s", name, diff)
	}
	testResume(t, cfg)
}
