package run

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStepTimeExcludesEvaluationAndCheckpoint makes every checkpoint take at least 300 ms
// and checks that the step times do not absorb it (GoMLX's own step durations count the
// hooks run after a step, so the first step of each epoch carried the previous epoch's
// evaluation and checkpoint): steps, evaluations and checkpoints are disjoint stretches of
// the run's wall time, so their sum cannot exceed it.
func TestStepTimeExcludesEvaluationAndCheckpoint(t *testing.T) {
	const pause = 300 * time.Millisecond
	checkpointHook = func(stage string) {
		if stage == "staged" {
			time.Sleep(pause)
		}
	}
	defer func() { checkpointHook = nil }()
	cfg := smallConfig()
	cfg.Method, cfg.Epochs = "erm", 3
	dir := filepath.Join(t.TempDir(), "run")
	sum, err := Train(cfg, dir, Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(dir)
	if err != nil || len(ms) != 3 {
		t.Fatalf("metrics: %d records, %v", len(ms), err)
	}
	var parts float64
	prevStep := 0
	for _, m := range ms {
		steps := float64(m.Step - prevStep)
		prevStep = m.Step
		parts += m.StepSeconds*steps + m.EvalSeconds + m.CheckpointSeconds
		if m.CheckpointSeconds < pause.Seconds() || m.EvalSeconds <= 0 {
			t.Errorf("epoch %d: checkpoint %.3f s (at least %.1f s expected), evaluation %.3f s", m.Epoch, m.CheckpointSeconds, pause.Seconds(), m.EvalSeconds)
		}
	}
	if parts > sum.WallSeconds {
		t.Errorf("steps + evaluations + checkpoints = %.3f s exceed the run's wall time %.3f s: step times count evaluation or checkpoints", parts, sum.WallSeconds)
	}
}

// TestDivergenceBeforeCheckpoint: a run whose loss turns NaN before any checkpoint stops
// with a DivergedError naming the step and the fix, and leaves no run in the folder, so
// that it can be trained into again without -force.
func TestDivergenceBeforeCheckpoint(t *testing.T) {
	cfg := smallConfig()
	cfg.Method, cfg.LR = "erm", 1000
	dir := filepath.Join(t.TempDir(), "run")
	_, err := Train(cfg, dir, Options{Log: testLog{t}})
	var div *DivergedError
	if !errors.As(err, &div) {
		t.Fatalf("want a *DivergedError, got %v", err)
	}
	t.Log(err)
	if div.Step < 1 || div.Step > 10 || div.Kept {
		t.Errorf("step %d kept %v, want a step of the first epoch and nothing kept", div.Step, div.Kept)
	}
	for _, want := range []string{"diverged at step", "lower -lr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(dir)
		t.Errorf("the folder should be gone (it held nothing before), holds %v", entries)
	}
	cfg.LR = 0.05
	if _, err := Train(cfg, dir, Options{}); err != nil {
		t.Errorf("training again into the folder without -force: %v", err)
	}
}

// TestDivergenceKeepsLastCheckpoint: a run diverging after its first epoch keeps that
// epoch's checkpoint and metrics, is marked by DivergedFile, and -resume refuses it.
func TestDivergenceKeepsLastCheckpoint(t *testing.T) {
	cfg := smallConfig()
	cfg.Method = "erm"
	cfg.MaxSteps = 10 // one epoch
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Train(cfg, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	// The continuation diverges: edit the stored learning rate (resume trains with it).
	stored, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	stored.LR = 1000
	writeStoredConfig(t, dir, stored)
	setCheckpointParam(t, filepath.Join(dir, CheckpointDir), "learning_rate", 1000.0) // it carries the method's configuration
	resume := stored
	resume.MaxSteps = 0
	_, err = Train(resume, dir, Options{Resume: true, Log: testLog{t}})
	var div *DivergedError
	if !errors.As(err, &div) {
		t.Fatalf("want a *DivergedError, got %v", err)
	}
	t.Log(err)
	if !div.Kept || div.Checkpoint != 10 || div.Step <= 10 {
		t.Errorf("kept %v checkpoint %d step %d, want the step-10 checkpoint kept and a later step", div.Kept, div.Checkpoint, div.Step)
	}
	if names, _ := listCheckpoints(filepath.Join(dir, CheckpointDir)); len(names) == 0 {
		t.Error("the last good checkpoint was removed")
	}
	if ms, _ := ReadMetrics(dir); len(ms) != 1 || ms[0].Step != 10 {
		t.Errorf("metrics %+v, want the record of step 10 only", ms)
	}
	if _, err := os.Stat(filepath.Join(dir, DivergedFile)); err != nil {
		t.Errorf("no %s: %v", DivergedFile, err)
	}
	_, err = Train(resume, dir, Options{Resume: true})
	if !IsInputError(err) || !strings.Contains(err.Error(), "diverged at step") {
		t.Errorf("resuming a diverged run: want an input error naming the divergence, got %v", err)
	}
}

// TestValidateBoundsToFloat32 rejects values the float32 graph turns into Inf or NaN.
func TestValidateBoundsToFloat32(t *testing.T) {
	for flag, set := range map[string]func(*Config){
		"t":            func(c *Config) { c.T = 3e38 },
		"rho":          func(c *Config) { c.Rho = 1e30 },
		"r":            func(c *Config) { c.R = 1e30 },
		"lr":           func(c *Config) { c.LR = 1e30 },
		"weight-decay": func(c *Config) { c.WeightDecay = 1e30 },
	} {
		cfg := DefaultConfig()
		set(&cfg)
		var ie *InputError
		if err := cfg.Validate(); !errors.As(err, &ie) || ie.Flag != flag {
			t.Errorf("-%s out of float32 range: got %v", flag, err)
		}
	}
}

// TestRunFolderIsLocked: while a run folder's lock is held by a live process, training
// or resuming there is refused with a message naming the process; a lock left by a dead
// process is taken over, and the lock is gone after the run.
func TestRunFolderIsLocked(t *testing.T) {
	cfg := smallConfig()
	cfg.Method, cfg.MaxSteps = "erm", 5
	dir := filepath.Join(t.TempDir(), "run")
	release, err := lockRun(dir) // held by this (live) process, as a concurrent Train would
	if err != nil {
		t.Fatal(err)
	}
	for _, resume := range []bool{false, true} {
		_, err := Train(cfg, dir, Options{Resume: resume})
		if !IsInputError(err) || !strings.Contains(err.Error(), "in use by process "+strconv.Itoa(os.Getpid())) {
			t.Errorf("resume=%v while locked: want an input error naming the holder, got %v", resume, err)
		}
	}
	release()
	// A stale lock: the id of a process that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true to get a dead process id: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(cfg, dir, Options{}); err != nil {
		t.Fatalf("a stale lock should be taken over: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !os.IsNotExist(err) {
		t.Errorf("the lock outlived the run: %v", err)
	}
}

// TestPruneRemovesOrphanData: a .bin whose .json is gone (a kill while pruning) is removed
// by the next checkpoint's prune, and listed checkpoints keep their data.
func TestPruneRemovesOrphanData(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"checkpoint-n0000001-a.bin", "checkpoint-n0000002-b.json", "checkpoint-n0000002-b.bin"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := prune(dir, keepCheckpoints); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "checkpoint-n0000002-b.bin checkpoint-n0000002-b.json" {
		t.Errorf("after prune: %v, want only checkpoint 2's files", names)
	}
}

// TestResumeNotices: -resume of a run killed before its first checkpoint says that it
// starts from step 0, and a damaged metrics.jsonl is an input error naming the line and
// the fix.
func TestResumeNotices(t *testing.T) {
	cfg := smallConfig()
	cfg.Method, cfg.MaxSteps = "erm", 12
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Train(cfg, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	metrics := filepath.Join(dir, MetricsJSON)
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	// Cut inside the first record (a cut at half the file could fall on a line end).
	if err := os.WriteFile(metrics, b[:strings.IndexByte(string(b), '\n')/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.MaxSteps = 0
	_, err = Train(cfg, dir, Options{Resume: true})
	if !IsInputError(err) || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "-force") {
		t.Errorf("damaged metrics: want an input error naming the line and a fix, got %v", err)
	}
	if err := os.RemoveAll(filepath.Join(dir, CheckpointDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(metrics); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	if _, err := Train(cfg, dir, Options{Resume: true, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "starting from step 0") {
		t.Errorf("resume without a checkpoint did not say it starts over:\n%s", log.String())
	}
}

// TestProgressLines: the progress display shows the evaluation, does not redraw the step
// an epoch line just reported, and puts nothing of its own (carriage returns, escape
// codes) into the log.
func TestProgressLines(t *testing.T) {
	cfg := smallConfig()
	cfg.Method = "erm"
	var log, prog strings.Builder
	if _, err := Train(cfg, filepath.Join(t.TempDir(), "run"), Options{Log: &log, Progress: &prog}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(log.String(), "\r\x1b") {
		t.Errorf("the log holds progress control characters:\n%q", log.String())
	}
	p := prog.String()
	if !strings.Contains(p, "evaluating ") {
		t.Errorf("no evaluation progress:\n%q", p)
	}
	if n := strings.Count(p, "step 10/20 "); n > 1 {
		t.Errorf("step 10/20 (the end of epoch 1) drawn %d times:\n%q", n, p)
	}
}

// TestWarnsWhenNotLearning: a learning rate too small to move the model is reported after
// the epoch; an ordinary run gets no warning.
func TestWarnsWhenNotLearning(t *testing.T) {
	for _, lr := range []float64{1e-9, 0.05} {
		cfg := smallConfig()
		cfg.Method, cfg.Epochs, cfg.LR, cfg.LabelSmoothing = "erm", 1, lr, 0
		var log strings.Builder
		if _, err := Train(cfg, filepath.Join(t.TempDir(), "run"), Options{Log: &log}); err != nil {
			t.Fatal(err)
		}
		if warned := strings.Contains(log.String(), "not learning"); warned != (lr < 1e-3) {
			t.Errorf("lr %g: warned %v:\n%s", lr, warned, log.String())
		}
	}
}

// setCheckpointParam sets the context parameter key in every checkpoint of dir, as a run
// with that value would have written it (a resumed run checks its checkpoint against
// config.json).
func setCheckpointParam(t *testing.T, dir, key string, value any) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no checkpoint in %s (%v)", dir, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var ck map[string]any
		if err := json.Unmarshal(b, &ck); err != nil {
			t.Fatal(err)
		}
		params, _ := ck["Params"].([]any)
		for _, p := range params {
			if m, ok := p.(map[string]any); ok && m["Key"] == key {
				m["Value"] = value
			}
		}
		if b, err = json.Marshal(ck); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAtChance: the loss of a uniform guess over K classes is ln K; a model within 1% of it
// has learned nothing, below that it has.
func TestAtChance(t *testing.T) {
	for _, c := range []struct {
		loss    float64
		classes int
		want    bool
	}{
		{2.302, 10, true},               // ESAM2's collapsed CNN: ln 10 = 2.3026
		{math.Log(10) * 0.99, 10, true}, // the boundary counts as chance
		{2.0, 10, false},
		{0.69, 2, true}, // ln 2 = 0.6931
		{0.5, 2, false},
		{0.69, 1, true}, // one class: read as two, as the run's warning does
		{5.0, 10, true}, // diverged above chance
	} {
		if got := AtChance(c.loss, c.classes); got != c.want {
			t.Errorf("AtChance(%g, %d) = %v, want %v", c.loss, c.classes, got, c.want)
		}
	}
}
