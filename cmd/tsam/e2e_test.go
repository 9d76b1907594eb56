package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsamgo/tsam/run"
)

// TestTrainEveryMethodEndToEnd trains each method for a few steps on a small MNIST subset
// through the CLI and checks the run folder: summary, metrics (JSONL and CSV), curves,
// checkpoint, and that the method's statistics were recorded; then compares all runs.
func TestTrainEveryMethodEndToEnd(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for _, method := range run.Methods {
		dir := filepath.Join(root, method)
		args := []string{"train", "-method", method, "-subset", "128", "-batch", "32", "-epochs", "1",
			"-val", "0.01", "-max-steps", "3", "-out", dir}
		if method == "tsam" || method == "esam1" {
			args = append(args, "-s", "2")
		}
		code, stdout, stderr := tsamCLI(args...)
		if code != 0 {
			t.Fatalf("tsam %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		if !strings.Contains(stdout, "done: 3 steps") {
			t.Errorf("%s: stdout lacks the final line:\n%s", method, stdout)
		}
		checkRunFolder(t, dir, method)
		dirs = append(dirs, dir)
	}
	cmpDir := filepath.Join(root, "cmp")
	code, stdout, stderr := tsamCLI(append([]string{"compare", "-out", cmpDir}, dirs...)...)
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "\n| "+root); n != len(dirs) {
		t.Errorf("compare table has %d run rows, want %d:\n%s", n, len(dirs), stdout)
	}
	checkPNG(t, filepath.Join(cmpDir, run.CompareCurve), 100, 0)
	if b, err := os.ReadFile(filepath.Join(cmpDir, run.CompareTable)); err != nil || string(b) != stdout {
		t.Errorf("compare.md differs from the printed table (%v)", err)
	}
}

func checkRunFolder(t *testing.T, dir, method string) {
	t.Helper()
	sum, err := run.ReadSummary(dir)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if sum.Config.Method != method || sum.Steps != 3 || sum.Final.Step != 3 || sum.Complete {
		t.Errorf("%s: summary method %q steps %d final step %d complete %v", method, sum.Config.Method, sum.Steps, sum.Final.Step, sum.Complete)
	}
	if sum.Versions.GoMLX == "" || sum.Versions.Go == "" || !strings.Contains(sum.Backend, "cpu") || sum.WallSeconds <= 0 {
		t.Errorf("%s: summary lacks versions, backend or wall time: %+v %q %v", method, sum.Versions, sum.Backend, sum.WallSeconds)
	}
	if acc := sum.Final.TestAcc; !(acc > 0 && acc <= 1) {
		t.Errorf("%s: test accuracy %v not in (0, 1]", method, acc)
	}
	ms, err := run.ReadMetrics(dir)
	if err != nil || len(ms) != 1 {
		t.Fatalf("%s: metrics.jsonl: %d records, %v", method, len(ms), err)
	}
	evals := ms[0].Stats["grad_evals"]
	if want := map[string]float64{"erm": 1, "sam": 2, "tsam": 4}[method]; want > 0 && evals != want {
		t.Errorf("%s: grad_evals %v, want %v", method, evals, want)
	}
	if method == "tsam" {
		w, ess := ms[0].Stats["weight_max"], ms[0].Stats["ess"]
		if !(w >= 0.5 && w <= 1 && ess >= 1 && ess <= 2) {
			t.Errorf("tsam with s=2: largest tilted weight %v and ESS %v out of range", w, ess)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, run.MetricsCSV))
	if err != nil || len(strings.Split(strings.TrimSpace(string(csv)), "\n")) != 2 || !strings.HasPrefix(string(csv), "epoch,step,") {
		t.Errorf("%s: metrics.csv should be a header and one row: %q (%v)", method, csv, err)
	}
	var cfg map[string]any
	if b, err := os.ReadFile(filepath.Join(dir, run.ConfigFile)); err != nil || json.Unmarshal(b, &cfg) != nil || cfg["method"] != method {
		t.Errorf("%s: config.json unreadable or wrong: %v", method, err)
	}
	checkPNG(t, filepath.Join(dir, run.CurvesPNG), 100, 0)
	if js, _ := filepath.Glob(filepath.Join(dir, run.CheckpointDir, "checkpoint-*.json")); len(js) == 0 {
		t.Errorf("%s: no checkpoint", method)
	}
}
