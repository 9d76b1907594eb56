package run

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tsamgo/tsam/internal/shareddata/sharedtest"
)

// TestOpenRebuildsRun trains a short run, opens it, and recomputes the test accuracy from
// the opened context, model and test data: it must equal the run's final test accuracy.
func TestOpenRebuildsRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig()
	cfg.MaxSteps = 5
	var progress bytes.Buffer
	sum, err := Train(cfg, dir, Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	// Step 5 ends the run: its epoch line reports it, so the progress line is not redrawn.
	if p := progress.String(); !strings.Contains(p, "step 1/5") || !strings.Contains(p, "left") || strings.Contains(p, "step 5/5") {
		t.Errorf("progress line %q lacks the first step and time left, or redraws the last step", p)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Config != cfg || r.Summary == nil || len(r.Metrics) != 1 || r.NumTest != 1000 {
		t.Fatalf("opened run: config %+v, summary %v, %d metrics, %d test examples", r.Config, r.Summary, len(r.Metrics), r.NumTest)
	}
	exec, err := context.NewExec(r.Backend, r.Context.Reuse(), func(ctx *context.Context, x, y *graph.Node) *graph.Node {
		logits := r.Model(ctx, nil, []*graph.Node{x})[0]
		pred := graph.ConvertDType(graph.ArgMax(logits, -1), y.DType())
		return graph.ReduceAllSum(graph.ConvertDType(graph.Equal(pred, graph.Reshape(y, y.Shape().Dimensions[0])), logits.DType()))
	})
	if err != nil {
		t.Fatal(err)
	}
	correct := 0.0
	r.Test.Reset()
	for {
		_, in, lb, err := r.Test.Yield()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(in[0], lb[0])
		if err != nil {
			t.Fatal(err)
		}
		correct += scalar(out[0])
	}
	if acc := correct / float64(r.NumTest); math.Abs(acc-sum.Final.TestAcc) > 1e-6 {
		t.Errorf("accuracy recomputed from the opened run %v, run's final test accuracy %v", acc, sum.Final.TestAcc)
	}
}

// TestPeriodicCheckpointsArePruned checkpoints after every step and checks that only the
// newest two checkpoints remain, the newest at the last step.
func TestPeriodicCheckpointsArePruned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig()
	cfg.MaxSteps = 6
	cfg.CheckpointEvery = 1
	if _, err := Train(cfg, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	names, err := listCheckpoints(filepath.Join(dir, CheckpointDir))
	if err != nil || len(names) != keepCheckpoints {
		t.Fatalf("checkpoints %v (%v), want the newest %d", names, err, keepCheckpoints)
	}
	if !strings.HasPrefix(names[1], "checkpoint-n0000005-") || !strings.HasSuffix(names[1], "step-00000006") {
		t.Errorf("newest checkpoint %q, want the 6th (n0000005) at step 6", names[1])
	}
	vals := checkpointValues(t, dir)
	if s := vals[globalStepName(vals)]; len(s) != 1 || s[0] != 6 {
		t.Errorf("newest checkpoint at global step %v, want 6", s)
	}
}

// TestTextRun trains the text transformer on a few SST-2 sentences and opens the run:
// the data are token ids of the run's tokenizer and the model takes them.
func TestTextRun(t *testing.T) {
	archive := sharedtest.Require(t, "sst2.tar.gz")
	cfg := DefaultConfig()
	cfg.Data, cfg.DataDir, cfg.Model, cfg.Method = "sst2", archive, "transformer", "erm"
	cfg.Subset, cfg.Batch, cfg.Val, cfg.MaxSteps, cfg.LR = 64, 32, 0.02, 2, 0.01
	dir := filepath.Join(t.TempDir(), "run")
	sum, err := Train(cfg, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 2 || !(sum.Final.TestLoss > 0.3 && sum.Final.TestLoss < 2) {
		t.Errorf("2 steps on SST-2: %d steps, test loss %v (want near ln 2)", sum.Steps, sum.Final.TestLoss)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, in, _, err := r.Test.Yield()
	if err != nil {
		t.Fatal(err)
	}
	if sh := in[0].Shape(); sh.DType != dtypes.Int32 || sh.Rank() != 2 || sh.Dimensions[1] != textMaxLen {
		t.Errorf("SST-2 inputs %s, want int32 [batch, %d]", sh, textMaxLen)
	}
}
