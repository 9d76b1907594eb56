package run

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

const helperEnv = "TSAM_RUN_KILL_HELPER"

// TestHelperKilledRun is not a test: TestKillDuringCheckpoint runs the test binary again
// with this one selected. It trains smallConfig into $TSAM_RUN_DIR and, when the second
// checkpoint reaches the stage named in $TSAM_RUN_KILL_HELPER, writes a marker file and
// waits to be killed.
func TestHelperKilledRun(t *testing.T) {
	stage := os.Getenv(helperEnv)
	if stage == "" {
		t.Skip("helper process for TestKillDuringCheckpoint")
	}
	dir := os.Getenv("TSAM_RUN_DIR")
	saves := 0
	checkpointHook = func(s string) {
		if s == "done" {
			saves++
		}
		if s == stage && saves == 1 {
			os.WriteFile(filepath.Join(filepath.Dir(dir), "killme"), nil, 0o644)
			time.Sleep(time.Hour)
		}
	}
	Train(smallConfig(), dir, Options{})
	t.Fatal("the helper should have been killed during its second checkpoint")
}

// TestKillDuringCheckpoint kills (SIGKILL) a training process in the middle of writing its
// second checkpoint, at each stage of the write, and checks that the first checkpoint is
// still the newest readable one and that -resume then finishes the run with the weights
// of an uninterrupted run.
func TestKillDuringCheckpoint(t *testing.T) {
	whole := filepath.Join(t.TempDir(), "whole")
	if _, err := Train(smallConfig(), whole, Options{}); err != nil {
		t.Fatal(err)
	}
	want := checkpointValues(t, whole)
	for _, stage := range []string{"staged", "bin-moved"} {
		t.Run(stage, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			killHelper(t, dir, stage)
			ctx := newContext(smallConfig())
			if _, err := loadCheckpoint(ctx, dir, "resume"); err != nil {
				t.Fatalf("newest checkpoint after the kill is not readable: %v", err)
			}
			killedWall, sessions := readSessionParams(ctx)
			if !(killedWall > 0) || sessions != 2 {
				t.Errorf("checkpoint of the killed run records %v s and %d sessions so far; want > 0 and 1", killedWall, sessions-1)
			}
			vals := checkpointValues(t, dir)
			step := vals[globalStepName(vals)]
			if len(step) != 1 || step[0] != 10 {
				t.Fatalf("newest readable checkpoint is at global step %v, want 10 (the first checkpoint)", step)
			}
			sum, err := Train(smallConfig(), dir, Options{Resume: true})
			if err != nil {
				t.Fatalf("resuming after the kill: %v", err)
			}
			if sum.Steps != 20 || !sum.Complete || sum.Sessions != 2 || sum.WallSeconds <= killedWall {
				t.Errorf("resumed run: %d steps, complete %v, %d sessions, %.2f s; want 20, complete, 2 sessions, more than the killed session's %.2f s",
					sum.Steps, sum.Complete, sum.Sessions, sum.WallSeconds, killedWall)
			}
			if staged, _ := filepath.Glob(filepath.Join(dir, CheckpointDir, stagingDir, "*")); len(staged) != 0 {
				t.Errorf("staging folder still holds %v after the resumed run", staged)
			}
			if name, diff := firstDifferentVariable(want, checkpointValues(t, dir)); name != "" {
				t.Errorf("run killed and resumed: variable %s differs from the uninterrupted run: %s", name, diff)
			}
		})
	}
}

// killHelper runs TestHelperKilledRun in a child process and SIGKILLs it once it reports
// that it stopped at stage.
func killHelper(t *testing.T, dir, stage string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledRun$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+stage, "TSAM_RUN_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(filepath.Dir(dir), "killme")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper never reached stage %q; its output:\n%s", stage, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestDamagedCheckpointIsInputError truncates the newest checkpoint's data and checks
// that resuming reports it as bad input naming -resume, and leaves every file as it was.
func TestDamagedCheckpointIsInputError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig()
	cfg.MaxSteps = 5
	if _, err := Train(cfg, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	names, err := listCheckpoints(filepath.Join(dir, CheckpointDir))
	if err != nil || len(names) == 0 {
		t.Fatalf("no checkpoints: %v", err)
	}
	bin := filepath.Join(dir, CheckpointDir, names[len(names)-1]+checkpoints.BinDataSuffix)
	data, _ := os.ReadFile(bin)
	if err := os.WriteFile(bin, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	_, err = Train(smallConfig(), dir, Options{Resume: true})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Flag != "resume" || !strings.Contains(ie.Msg, "damaged") {
		t.Fatalf("resume from a truncated checkpoint: got %v, want an input error for -resume saying it is damaged", err)
	}
	if after := snapshot(t, dir); !equalSnapshots(before, after) {
		t.Errorf("a failed resume changed the run folder")
	}
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// globalStepName finds the global step among checkpoint variable names.
func globalStepName(vals map[string][]float64) string {
	for k := range vals {
		if strings.HasSuffix(k, "/"+optimizers.GlobalStepVariableName) {
			return k
		}
	}
	return ""
}
