package run

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
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
	if p := progress.String(); !strings.Contains(p, "step 5/5") || !strings.Contains(p, "left") {
		t.Errorf("progress line %q lacks the last step and time left", p)
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
