package sharpness

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMeasureRunAndOutputs runs all measurements on two tiny models and checks the JSON, the
// markdown table and the two PNG figures.
func TestMeasureRunAndOutputs(t *testing.T) {
	s := Settings{
		Flatness:   FlatnessOptions{M: 3, Seed: 1},
		Eigen:      EigenOptions{K: 2, Seed: 1},
		Objectives: ObjectiveOptions{Rho: 0.1, SAMSteps: 2, T: 1, Samples: 3},
	}
	var rep Report
	rep.Settings = s
	for i, seed := range []uint64{1, 2} {
		ptrain, _ := linearProblem(t, 4, 8, 2, seed)
		ptest, _ := linearProblem(t, 4, 5, 1, seed+10)
		ptest.Context, ptest.Backend = ptrain.Context, ptrain.Backend // same model, other data
		tr, err := New(ptrain)
		if err != nil {
			t.Fatal(err)
		}
		te, err := New(ptest)
		if err != nil {
			t.Fatal(err)
		}
		r, err := MeasureRun(tr, te, s)
		if err != nil {
			t.Fatal(err)
		}
		ltr, _ := tr.Loss(nil)
		lte, _ := te.Loss(nil)
		tr.Close()
		te.Close()
		if r.TrainObjectives == nil || r.TestObjectives == nil || r.TrainObjectives.ERM != ltr || r.TestObjectives.ERM != lte || ltr == lte {
			t.Fatalf("objectives not of their own data: train %+v (loss %v), test %+v (loss %v)", r.TrainObjectives, ltr, r.TestObjectives, lte)
		}
		r.Run, r.Label = "run"+string(rune('A'+i)), "model|"+string(rune('A'+i))
		if r.TrainExamples != 16 || r.TestExamples != 5 || r.NumParams != 4 {
			t.Errorf("sizes %d/%d/%d", r.TrainExamples, r.TestExamples, r.NumParams)
		}
		if r.Flatness == nil || r.Hessian == nil || r.TrainObjectives == nil || r.TestObjectives == nil {
			t.Fatalf("missing measurement: %+v", r)
		}
		if len(r.Hessian.Pairs) != 2 || !r.Hessian.Converged {
			t.Errorf("hessian %+v", r.Hessian)
		}
		rep.Runs = append(rep.Runs, r)
	}
	var md bytes.Buffer
	if err := rep.WriteTable3(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"training loss", "test loss", "| model\\|A |", "| ERM | SAM | TSAM |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, md.String())
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || back.Runs[1].Hessian.Pairs[0].Value != rep.Runs[1].Hessian.Pairs[0].Value {
		t.Errorf("JSON round trip: %v", err)
	}
	dir := t.TempDir()
	for name, write := range map[string]func(string, []RunReport) error{"flatness.png": WriteFlatnessPNG, "hessian.png": WriteHessianPNG} {
		path := filepath.Join(dir, name)
		if err := write(path, rep.Runs); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		f.Close()
		if err := write(path, []RunReport{{Label: "empty"}}); err == nil {
			t.Errorf("%s: plotting runs without data gave no error", name)
		}
	}
	rep.Settings.Skip = []string{"hessian", "objectives"}
	tr, _ := New(func() Problem { p, _ := linearProblem(t, 3, 4, 1, 5); return p }())
	defer tr.Close()
	r, err := MeasureRun(tr, nil, rep.Settings)
	if err != nil || r.Hessian != nil || r.TrainObjectives != nil || r.Flatness == nil {
		t.Errorf("skip: %+v %v", r, err)
	}
}
