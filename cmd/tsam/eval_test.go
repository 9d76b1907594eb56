package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsamgo/tsam/sharpness"
)

// trainTinyRun trains a tiny ERM run on MNIST into dir (two steps of 32 examples).
func trainTinyRun(t *testing.T, dir string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := []string{"train", "-method", "erm", "-epochs", "1", "-subset", "128", "-batch", "32", "-max-steps", "2", "-out", dir}
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("training the fixture run failed: %s", stderr.String())
	}
}

// copyRun copies the fixture run folder to dir/name, so each case may damage its own copy.
func copyRun(t *testing.T, fixture, dir, name string) string {
	t.Helper()
	dst := filepath.Join(dir, name)
	if err := os.CopyFS(dst, os.DirFS(fixture)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestEval trains one tiny run and shares it between the subtests (training is the slow part).
func TestEval(t *testing.T) {
	fixture := filepath.Join(t.TempDir(), "run")
	trainTinyRun(t, fixture)
	t.Run("WritesResults", func(t *testing.T) { testEvalWritesResults(t, fixture) })
	t.Run("BadInput", func(t *testing.T) { testEvalBadInput(t, fixture) })
}

// evalFast keeps every measurement but makes it cheap.
var evalFast = []string{"-train-examples", "16", "-test-examples", "16", "-batch", "16", "-m", "2",
	"-deltas", "0.01,0.05", "-k", "2", "-lanczos-steps", "4", "-sam-steps", "1", "-samples", "2"}

// testEvalWritesResults measures two copies of one run: every file is written, the table is
// printed, and identical weights with one seed give identical numbers.
func testEvalWritesResults(t *testing.T, fixture string) {
	tmp := t.TempDir()
	a, b := copyRun(t, fixture, tmp, "a"), copyRun(t, fixture, tmp, "b")
	out := filepath.Join(tmp, "report")
	var stdout, stderr bytes.Buffer
	args := append([]string{"eval", "-run", a + "," + b, "-out", out}, evalFast...)
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"training loss", "test loss", "| a (erm) |", "| b (erm) |", "Hessian top-2"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep sharpness.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs in eval.json", len(rep.Runs))
	}
	ra, rb := rep.Runs[0], rep.Runs[1]
	if ra.Flatness == nil || ra.Hessian == nil || ra.TrainObjectives == nil || ra.TestObjectives == nil {
		t.Fatalf("missing measurements: %s", data)
	}
	if ra.TrainExamples != 16 || ra.TestExamples != 16 || len(ra.Flatness.Points) != 2 || len(ra.Hessian.Pairs) != 2 {
		t.Errorf("sizes: %+v", ra)
	}
	if ra.Flatness.Points[1].Mean != rb.Flatness.Points[1].Mean || ra.Hessian.Pairs[0].Value != rb.Hessian.Pairs[0].Value ||
		ra.TestObjectives.TSAM != rb.TestObjectives.TSAM {
		t.Errorf("same weights and seed gave different numbers:\n%+v\n%+v", ra, rb)
	}
	if ra.TrainObjectives.ERM == ra.TestObjectives.ERM {
		t.Errorf("train and test loss identical (%v): same data?", ra.TrainObjectives.ERM)
	}
	for _, name := range []string{"flatness.png", "hessian.png"} {
		checkPNG(t, filepath.Join(out, name), 0, 0)
	}
	if md, err := os.ReadFile(filepath.Join(out, "table3.md")); err != nil || !strings.Contains(string(md), "| a (erm) |") {
		t.Errorf("table3.md: %v %q", err, md)
	}
}

// testEvalBadInput: bad flags, missing runs and a damaged checkpoint exit with status 2 and
// a message naming the problem, and leave existing results untouched.
func testEvalBadInput(t *testing.T, fixture string) {
	tmp := t.TempDir()
	good := copyRun(t, fixture, tmp, "good")
	damaged := copyRun(t, fixture, tmp, "damaged")
	bins, _ := filepath.Glob(filepath.Join(damaged, "checkpoint", "*.json"))
	if len(bins) == 0 {
		t.Fatal("fixture run has no checkpoint json")
	}
	for _, f := range bins {
		if err := os.WriteFile(f, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	truncated := copyRun(t, fixture, tmp, "truncated")
	bins, _ = filepath.Glob(filepath.Join(truncated, "checkpoint", "*.bin"))
	for _, f := range bins {
		if err := os.Truncate(f, 100); err != nil {
			t.Fatal(err)
		}
	}
	old := []byte("previous results\n")
	for _, d := range []string{good, damaged, truncated} {
		if err := os.WriteFile(filepath.Join(d, "eval.json"), old, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(tmp, "a-file")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{nil, "-run"},
		{[]string{"-run", filepath.Join(tmp, "missing")}, "-run"},
		{[]string{"-run", file}, "-run"},
		{[]string{"-run", damaged}, "checkpoint"},
		{[]string{"-run", truncated}, "checkpoint"},
		{[]string{"-run", good, "-m", "0"}, "-m"},
		{[]string{"-run", good, "-deltas", "0.01,x"}, "deltas"},
		{[]string{"-run", good, "-deltas", "-0.1"}, "-deltas"},
		{[]string{"-run", good, "-k", "0"}, "-k"},
		{[]string{"-run", good, "-k", "5", "-lanczos-steps", "3"}, "-lanczos-steps"},
		{[]string{"-run", good, "-tol", "0"}, "-tol"},
		{[]string{"-run", good, "-rho", "-1"}, "-rho"},
		{[]string{"-run", good, "-tilt", "NaN"}, "-tilt"},
		{[]string{"-run", good, "-tsam-rho", "-3"}, "-tsam-rho"},
		{[]string{"-run", good, "-skip", "hessian,bogus"}, "bogus"},
		{[]string{"-run", good, "-skip", "flatness,hessian,objectives"}, "-skip"},
		{[]string{"-run", good, "-run", damaged}, "-out"},
		{[]string{"-run", good, "-out", file}, "-out"},
		{[]string{"-run", good, "-train-examples", "0"}, "-train-examples"},
		{[]string{"-run", good, "-batch", "0"}, "-batch"},
		{[]string{"-run", good, "-bogus"}, "bogus"},
		{[]string{"-run", good, "extra"}, "extra"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := runMain(append([]string{"eval"}, c.args...), &stdout, &stderr)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: error %q does not mention %q", c.args, stderr.String(), c.want)
		}
	}
	for _, d := range []string{good, damaged, truncated} {
		if got, _ := os.ReadFile(filepath.Join(d, "eval.json")); !bytes.Equal(got, old) {
			t.Errorf("%s/eval.json was changed to %q", d, got)
		}
		for _, f := range []string{"flatness.png", "hessian.png", "table3.md"} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				t.Errorf("%s/%s written by a failing eval", d, f)
			}
		}
	}
}

// TestEvalTSAMObjectiveOfTrainedModel: on a trained model, the default TSAM objective (at the
// points Algorithm 3 samples, with the run's ρ, r and t) is above the ERM loss by more than
// its standard error, and non-decreasing in t with the same draws. A uniform ball of radius ρ
// in the MLP's 10^5 dimensions gives losses equal to the ERM loss up to their spread.
func TestEvalTSAMObjectiveOfTrainedModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "erm")
	var stdout, stderr bytes.Buffer
	args := []string{"train", "-method", "erm", "-epochs", "2", "-subset", "1024", "-batch", "64", "-lr", "0.05", "-out", dir}
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("training failed: %s", stderr.String())
	}
	prev := -1.0
	for _, tilt := range []string{"0", "1", "5", "20"} {
		out := filepath.Join(t.TempDir(), "t"+tilt)
		stdout.Reset()
		args := []string{"eval", "-run", dir, "-out", out, "-skip", "flatness,hessian", "-train-examples", "256",
			"-test-examples", "0", "-batch", "128", "-samples", "16", "-tilt", tilt}
		if code := runMain(args, &stdout, &stderr); code != 0 {
			t.Fatalf("eval -tilt %s: exit %d: %s", tilt, code, stderr.String())
		}
		rep := readEvalReport(t, out)
		o := rep.Runs[0].TrainObjectives
		if o.Estimator != sharpness.EstimatorSampler || o.R != 0.1 || !o.RRelative || o.Rho != 0.05 {
			t.Fatalf("estimator %q with r = %v, ρ = %v; want the sampler at the run's relative r = 0.1, ρ = 0.05", o.Estimator, o.R, o.Rho)
		}
		if o.TSAM < prev {
			t.Errorf("t = %s: TSAM %.6f below the smaller t's %.6f", tilt, o.TSAM, prev)
		}
		prev = o.TSAM
		if tilt == "20" && !(o.TSAM-o.ERM > o.TSAMSE && o.TSAMSE > 0) {
			t.Errorf("t = 20: TSAM %.6f ± %.6f is not above ERM %.6f by more than its standard error", o.TSAM, o.TSAMSE, o.ERM)
		}
		t.Logf("t = %s: ERM %.5f SAM %.5f TSAM %.5f ± %.5f", tilt, o.ERM, o.SAM, o.TSAM, o.TSAMSE)
	}
}

func readEvalReport(t *testing.T, dir string) sharpness.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep sharpness.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].TrainObjectives == nil {
		t.Fatalf("eval.json holds %d runs / no training objectives", len(rep.Runs))
	}
	return rep
}
