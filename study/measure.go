package study

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sharpness"
)

// EvalRecord is study-eval.json in a run folder: the sharpness measurements of the run's
// final weights, with what they were measured with, so that a changed EvalSpec or a
// retrained run is measured again rather than mixed up.
type EvalRecord struct {
	// SpecFingerprint identifies the EvalSpec; RunFingerprint the run's configuration;
	// FinishedAt the summary of the weights measured.
	SpecFingerprint string              `json:"spec_fingerprint"`
	RunFingerprint  string              `json:"run_fingerprint"`
	FinishedAt      string              `json:"finished_at"`
	Settings        sharpness.Settings  `json:"settings"`
	Report          sharpness.RunReport `json:"report"`
}

// settings turns the spec into the sharpness package's settings.
func (s EvalSpec) settings() sharpness.Settings {
	return sharpness.Settings{
		Flatness: sharpness.FlatnessOptions{Deltas: sharpness.PaperDeltas, M: s.FlatnessDraws, Seed: s.Seed},
		Eigen:    sharpness.EigenOptions{K: s.EigenK, MaxIter: s.LanczosSteps, Seed: s.Seed},
		Objectives: sharpness.ObjectiveOptions{Rho: s.Rho, T: s.T, SAMSteps: s.SAMSteps, Samples: s.Samples, Seed: s.Seed,
			Estimator: s.Estimator, R: s.R},
	}
}

func (s EvalSpec) fingerprint() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// measureAll measures every finished run whose cell or pick asks for it, unless its
// study-eval.json already holds the same measurement of the same weights.
func (e *executor) measureAll(jobs []*job) {
	done := map[string]bool{}
	for _, j := range jobs {
		if !j.eval || j.err != nil || done[j.id] {
			continue
		}
		done[j.id] = true
		dir := e.runDir(j)
		sum, err := finishedSummary(dir)
		if err != nil {
			continue // the run's own failure is already listed
		}
		if rec, err := readEval(dir); err == nil && rec.SpecFingerprint == e.plan.Eval.fingerprint() &&
			rec.RunFingerprint == j.fp && rec.FinishedAt == sum.FinishedAt.String() {
			continue
		}
		fmt.Fprintf(e.log, "measuring %s: flatness, Hessian top-%d, objectives\n", j.id, e.plan.Eval.EigenK)
		rep, err := measureRun(dir, e.plan.Eval)
		if err != nil {
			e.fail(j.id+" (sharpness)", err, false)
			continue
		}
		rec := EvalRecord{SpecFingerprint: e.plan.Eval.fingerprint(), RunFingerprint: j.fp,
			FinishedAt: sum.FinishedAt.String(), Settings: e.plan.Eval.settings(), Report: rep}
		if err := atomicfile.WriteJSON(filepath.Join(dir, EvalFile), rec); err != nil {
			e.fail(j.id+" (sharpness)", err, false)
			continue
		}
		e.out.Measured++
	}
}

func readEval(dir string) (*EvalRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, EvalFile))
	if err != nil {
		return nil, err
	}
	var rec EvalRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, EvalFile), err)
	}
	return &rec, nil
}

// measureRun opens a finished run and measures it the way `tsam eval` does: flatness and
// the Hessian spectrum on the first TrainExamples training examples, the three
// objectives on those and on the first TestExamples test examples.
func measureRun(dir string, spec EvalSpec) (sharpness.RunReport, error) {
	r, err := run.Open(dir)
	if err != nil {
		return sharpness.RunReport{}, err
	}
	base := sharpness.Problem{Backend: r.Backend, Context: r.Context, Model: r.Model, HessianModel: r.HessianModel, Loss: r.Loss}
	rep, err := sharpness.MeasureDatasets(base, r.Train, r.Test, spec.TrainExamples, spec.TestExamples, spec.Batch, spec.settings())
	if err != nil {
		return rep, err
	}
	rep.Run, rep.Label = dir, filepath.Base(dir)
	return rep, nil
}
