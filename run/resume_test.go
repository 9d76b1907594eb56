package run

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
)

// checkpointValues loads the newest checkpoint of a run folder and returns every variable
// as float64 values (integers converted), by parameter name.
func checkpointValues(t *testing.T, dir string) map[string][]float64 {
	t.Helper()
	ctx := context.New()
	if _, err := checkpoints.Load(ctx).Dir(filepath.Join(dir, CheckpointDir)).Immediate().Done(); err != nil {
		t.Fatalf("loading checkpoint of %s: %v", dir, err)
	}
	out := map[string][]float64{}
	ctx.EnumerateVariables(func(v *context.Variable) {
		if strings.HasPrefix(v.Scope(), "/metrics") {
			return // metric accumulators: named with a per-process uuid, not training state
		}
		out[v.ParameterName()] = flatFloat64(v.MustValue())
	})
	return out
}

func flatFloat64(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []float64:
			out = append(out, f...)
		case []int64:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []uint64:
			for _, v := range f {
				out = append(out, float64(v))
			}
		}
	})
	return out
}

// TestResumeEqualsUninterrupted stops a run after 13 of 20 steps (mid-epoch), resumes it
// in a fresh Train call, and checks that every variable (weights, optimizer state, global
// step, RNG state) equals that of an uninterrupted run bit for bit; with plain and with
// augmented batches.
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, augment := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "augment"}[augment], func(t *testing.T) {
			cfg := smallConfig()
			cfg.Augment = augment
			testResume(t, cfg)
		})
	}
}

func testResume(t *testing.T, cfg Config) { testResumeAfter(t, cfg, nil) }

// testResumeAfter is testResume calling between (when not nil) on the stopped run's folder
// before it is resumed.
func testResumeAfter(t *testing.T, cfg Config, between func(dir string)) {
	whole := filepath.Join(t.TempDir(), "whole")
	if _, err := Train(cfg, whole, Options{}); err != nil {
		t.Fatal(err)
	}
	split := filepath.Join(t.TempDir(), "split")
	first := cfg
	first.MaxSteps = 13
	sum, err := Train(first, split, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 13 || sum.Complete {
		t.Fatalf("first part: steps %d complete %v, want 13 and incomplete", sum.Steps, sum.Complete)
	}
	if between != nil {
		between(split)
	}
	sum, err = Train(cfg, split, Options{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 20 || !sum.Complete || sum.Sessions != 2 {
		t.Fatalf("resumed: steps %d complete %v sessions %d, want 20, complete, 2", sum.Steps, sum.Complete, sum.Sessions)
	}
	if name, diff := firstDifferentVariable(checkpointValues(t, whole), checkpointValues(t, split)); name != "" {
		t.Fatalf("variable %s: %s", name, diff)
	}
	ms, err := ReadMetrics(split)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Step != 10 || ms[1].Step != 20 || ms[1].Partial {
		t.Errorf("resumed run's metrics: %+v, want full epochs at steps 10 and 20", ms)
	}
}

// firstDifferentVariable compares two checkpoints' variables bit for bit and returns the
// first differing one with a description ("" when all agree).
func firstDifferentVariable(a, b map[string][]float64) (name, diff string) {
	if len(a) == 0 || len(a) != len(b) {
		return "(count)", fmt.Sprintf("%d variables against %d", len(a), len(b))
	}
	for name, va := range a {
		vb, ok := b[name]
		if !ok || len(va) != len(vb) {
			return name, "missing or of another size"
		}
		for i := range va {
			if va[i] != vb[i] && !(math.IsNaN(va[i]) && math.IsNaN(vb[i])) {
				return name, fmt.Sprintf("[%d] = %v against %v", i, va[i], vb[i])
			}
		}
	}
	return "", ""
}

// TestResumeReadsOlderCheckpoints: a checkpoint written before the t schedules had one
// vocabulary names linear-up "increase" and stores δ as sam_delta_ratio; it resumes to the
// uninterrupted run bit for bit. One whose "decrease" contradicts config.json is refused.
func TestResumeReadsOlderCheckpoints(t *testing.T) {
	cfg := smallConfig()
	cfg.TSchedule = "linear-up"
	olden := func(schedule string) func(dir string) {
		return func(dir string) {
			rewriteCheckpoints(t, dir, `"Value": "linear-up"`, `"Value": "`+schedule+`"`, `"Key": "sam_delta",`, `"Key": "sam_delta_ratio",`)
		}
	}
	testResumeAfter(t, cfg, olden("increase"))

	dir := filepath.Join(t.TempDir(), "contradicted")
	first := cfg
	first.MaxSteps = 3
	if _, err := Train(first, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	olden("decrease")(dir)
	_, err := Train(cfg, dir, Options{Resume: true})
	if !IsInputError(err) || !strings.Contains(err.Error(), "sam_t_schedule = linear-down in the checkpoint") {
		t.Errorf("resuming a checkpoint of a decreasing t under linear-up: %v", err)
	}
}

// TestResumeRefusesAnOlderAugmentedCheckpoint: an augmented run checkpointed before its
// batches followed data.EpochOrder (no batch-order mark) is not continued on other batches;
// a plain one, whose order never changed, is.
func TestResumeRefusesAnOlderAugmentedCheckpoint(t *testing.T) {
	for _, augment := range []bool{true, false} {
		cfg := smallConfig()
		cfg.Augment = augment
		dir := filepath.Join(t.TempDir(), "run")
		first := cfg
		first.MaxSteps = 3
		if _, err := Train(first, dir, Options{}); err != nil {
			t.Fatal(err)
		}
		rewriteCheckpoints(t, dir, `"Key": "`+paramBatchOrder+`"`, `"Key": "unrelated"`)
		_, err := Train(cfg, dir, Options{Resume: true})
		switch {
		case augment && (!IsInputError(err) || !strings.Contains(err.Error(), "another order")):
			t.Errorf("resuming an unmarked augmented checkpoint: %v", err)
		case !augment && err != nil:
			t.Errorf("resuming an unmarked plain checkpoint: %v", err)
		}
	}
}

// rewriteCheckpoints replaces, in every checkpoint's JSON of the run in dir, each old
// string by its new one (pairs), failing when one is absent.
func rewriteCheckpoints(t *testing.T, dir string, pairs ...string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, CheckpointDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no checkpoint JSON in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				t.Fatalf("%s holds no %s", f, pairs[i])
			}
			s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
		}
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResumeExtendsFinishedRun finishes a 1-epoch run, resumes it asking for 2 epochs,
// and requires the variables of a run started with 2 epochs; shortening is refused, and
// so is extending a linear t schedule, which the total stretches.
func TestResumeExtendsFinishedRun(t *testing.T) {
	cfg := smallConfig()
	whole := filepath.Join(t.TempDir(), "whole")
	if _, err := Train(cfg, whole, Options{}); err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(t.TempDir(), "extended")
	one := cfg
	one.Epochs = 1
	if sum, err := Train(one, ext, Options{}); err != nil || !sum.Complete || sum.Steps != 10 {
		t.Fatalf("1-epoch run: %v", err)
	}
	sum, err := Train(cfg, ext, Options{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 20 || !sum.Complete {
		t.Fatalf("extended: steps %d complete %v, want 20 and complete", sum.Steps, sum.Complete)
	}
	if name, diff := firstDifferentVariable(checkpointValues(t, whole), checkpointValues(t, ext)); name != "" {
		t.Fatalf("variable %s: %s", name, diff)
	}
	if stored, _ := ReadConfig(ext); stored.Epochs != 2 {
		t.Fatalf("stored epochs %d after extending to 2", stored.Epochs)
	}
	_, err = Train(one, ext, Options{Resume: true})
	if err == nil || !strings.Contains(err.Error(), "extended, not shortened") {
		t.Fatalf("shortening: %v", err)
	}
	lin := filepath.Join(t.TempDir(), "linear")
	one.TSchedule, one.MaxSteps = "linear-up", 1
	if _, err := Train(one, lin, Options{}); err != nil {
		t.Fatal(err)
	}
	longer := one
	longer.Epochs, longer.MaxSteps = 2, 0
	_, err = Train(longer, lin, Options{Resume: true})
	if err == nil || !strings.Contains(err.Error(), "linear-up") {
		t.Fatalf("extending a linear schedule: %v", err)
	}
}
