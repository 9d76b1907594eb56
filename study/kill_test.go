package study

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsamgo/tsam/run"
)

// killEnv makes the test binary run the study of killPlan in the folder it names (the
// child process of TestKilledStudyResumes).
const killEnv = "TSAM_STUDY_KILL_DIR"

// killPlan has a short run and a long one (8 epochs of TSAM) to be killed part way.
func killPlan() *Plan {
	short := base("mnist", "mlp-16", 0, 64, 1, 32, 0.01)
	long := base("mnist", "mlp-16", 0, 1024, 8, 32, 0.01)
	return &Plan{Name: "kill", Cells: []Cell{
		{Name: "short", Label: "short", Config: with(short, "erm", nil), Seeds: []int64{1}},
		{Name: "long", Label: "long", Config: with(long, "tsam", func(c *run.Config) { c.R = 1 }), Seeds: []int64{1}},
	}}
}

// TestKilledStudyResumes kills a study process (SIGKILL) once the long run has written a
// checkpoint, starts the study again, and checks that the finished run is skipped, the
// killed one resumed from its checkpoint, and its metrics hold each epoch exactly once.
func TestKilledStudyResumes(t *testing.T) {
	if dir := os.Getenv(killEnv); dir != "" {
		if _, err := Execute(killPlan(), dir, Options{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledStudyResumes$")
	cmd.Env = append(os.Environ(), killEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	longDir := filepath.Join(dir, RunsDir, "long-s1")
	deadline := time.Now().Add(2 * time.Minute)
	for !hasCheckpoint(longDir) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the study wrote no checkpoint of the long run within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(longDir, run.SummaryFile)); err == nil {
		t.Fatal("the long run finished before the kill; make it longer")
	}
	shortSum, err := run.ReadSummary(filepath.Join(dir, RunsDir, "short-s1"))
	if err != nil {
		t.Fatalf("the short run should have finished before the long one started: %v", err)
	}

	out, err := Execute(killPlan(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Skipped != 1 || out.Resumed != 1 || out.Trained != 0 {
		t.Errorf("after the kill: %+v; want the short run skipped and the long one resumed", out)
	}
	if again, _ := run.ReadSummary(filepath.Join(dir, RunsDir, "short-s1")); again == nil || again.FinishedAt != shortSum.FinishedAt {
		t.Error("the finished run was touched after the kill")
	}
	sum, err := finishedSummary(longDir)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := run.ReadMetrics(longDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 8 {
		t.Fatalf("metrics of the resumed run: %d records, want 8 epochs", len(ms))
	}
	for i, m := range ms {
		if m.Epoch != i+1 || m.Partial {
			t.Errorf("metrics record %d is epoch %d (partial %v); want epoch %d exactly once", i, m.Epoch, m.Partial, i+1)
		}
	}
	if sum.Steps != sum.TotalSteps {
		t.Errorf("resumed run stopped at step %d of %d", sum.Steps, sum.TotalSteps)
	}
}
