package sharpness

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Settings chooses the measurements of MeasureRun and their options.
type Settings struct {
	Flatness   FlatnessOptions  `json:"flatness"`
	Eigen      EigenOptions     `json:"eigen"`
	Objectives ObjectiveOptions `json:"objectives"`
	// Skip names measurements to leave out: "flatness", "hessian", "objectives".
	Skip []string `json:"skip,omitempty"`
}

// Measurements lists the names Settings.Skip accepts.
var Measurements = []string{"flatness", "hessian", "objectives"}

func (s Settings) skips(name string) bool {
	for _, x := range s.Skip {
		if x == name {
			return true
		}
	}
	return false
}

// RunReport holds the measurements of one trained model.
type RunReport struct {
	// Run identifies the model (its run folder); Label names it in tables and figures.
	Run   string `json:"run"`
	Label string `json:"label"`
	// TrainExamples and TestExamples are the sizes of the fixed subsets measured on.
	TrainExamples int `json:"train_examples"`
	TestExamples  int `json:"test_examples"`
	// NumParams is the length of the flattened trainable parameter vector.
	NumParams int `json:"num_params"`
	// Flatness (Fig. 2) and Hessian are measured on the training subset.
	Flatness *FlatnessResult `json:"flatness,omitempty"`
	Hessian  *EigenResult    `json:"hessian,omitempty"`
	// TrainObjectives and TestObjectives are the rows of Table 3.
	TrainObjectives *Objectives `json:"train_objectives,omitempty"`
	TestObjectives  *Objectives `json:"test_objectives,omitempty"`
	// Seconds is the wall time of each measurement.
	Seconds map[string]float64 `json:"seconds"`
}

// MeasureRun runs the measurements of s: flatness and the Hessian spectrum on train, the
// three objectives on train and (when test is not nil) on test.
func MeasureRun(train, test *Evaluator, s Settings) (RunReport, error) {
	r := RunReport{NumParams: train.NumParams(), Seconds: map[string]float64{}}
	r.TrainExamples = train.NumExamples()
	if test != nil {
		r.TestExamples = test.NumExamples()
	}
	timed := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		r.Seconds[name] = time.Since(start).Seconds()
		return err
	}
	if !s.skips("flatness") {
		if err := timed("flatness", func() error {
			f, err := train.Flatness(s.Flatness)
			r.Flatness = &f
			return err
		}); err != nil {
			return r, err
		}
	}
	if !s.skips("hessian") {
		if err := timed("hessian", func() error {
			h, err := train.TopEigen(s.Eigen)
			r.Hessian = &h
			return err
		}); err != nil {
			return r, err
		}
	}
	if !s.skips("objectives") {
		err := timed("objectives", func() error {
			tr, err := train.Objectives(s.Objectives)
			if err != nil {
				return err
			}
			r.TrainObjectives = &tr
			if test == nil {
				return nil
			}
			te, err := test.Objectives(s.Objectives)
			r.TestObjectives = &te
			return err
		})
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// Report is what `tsam eval` writes to eval.json.
type Report struct {
	Settings Settings    `json:"settings"`
	Runs     []RunReport `json:"runs"`
}

// WriteTable3 writes the paper's Table 3 as markdown: the training and test loss of each run
// under the ERM, SAM and TSAM objectives. Runs without objectives are left out.
func (rep Report) WriteTable3(w io.Writer) error {
	var b strings.Builder
	for _, part := range []struct {
		title string
		get   func(RunReport) *Objectives
	}{
		{"training loss", func(r RunReport) *Objectives { return r.TrainObjectives }},
		{"test loss", func(r RunReport) *Objectives { return r.TestObjectives }},
	} {
		var rows []string
		var o0 *Objectives
		for _, r := range rep.Runs {
			o := part.get(r)
			if o == nil {
				continue
			}
			o0 = o
			rows = append(rows, fmt.Sprintf("| %s | %.4f | %.4f | %.4f ± %.4f |", mdEscape(r.Label), o.ERM, o.SAM, o.TSAM, o.TSAMSE))
		}
		if o0 == nil {
			continue
		}
		fmt.Fprintf(&b, "%s (SAM: ρ = %g, %d ascent steps; TSAM: %s, t = %g, %d samples, ± one standard error)\n\n",
			part.title, o0.Rho, o0.SAMSteps, o0.describeTSAMDraws(), o0.T, o0.Samples)
		b.WriteString("| trained on \\ evaluated on | ERM | SAM | TSAM |\n| --- | --- | --- | --- |\n")
		b.WriteString(strings.Join(rows, "\n") + "\n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describeTSAMDraws says in words where the TSAM objective's ε were drawn.
func (o *Objectives) describeTSAMDraws() string {
	if o.Estimator == EstimatorBall {
		return fmt.Sprintf("ε uniform in the ball of radius %g", o.TSAMRho)
	}
	radius := fmt.Sprintf("radius r = %g", o.R)
	if o.RRelative {
		radius = fmt.Sprintf("radius r = %g of each weight tensor's norm", o.R)
	}
	return fmt.Sprintf("ε as Algorithm 3 samples them (random start of %s, then one ascent step of length ρ = %g)", radius, o.Rho)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// MeasureDatasets measures a trained model the way `tsam eval` and `tsam study` do: base
// describes the model (Backend, Context, Model, Spec, Loss; its Batches are ignored);
// flatness and the Hessian spectrum are taken on the first trainN examples of trainDS, the
// three objectives on those and on the first testN examples of testDS (skipped when testDS
// is nil or testN is 0), each served in batches of the given size.
func MeasureDatasets(base Problem, trainDS, testDS Source, trainN, testN, batch int, s Settings) (RunReport, error) {
	evaluatorOf := func(ds Source, n int) (*Evaluator, error) {
		batches, err := batchesOf(ds, n, batch)
		if err != nil {
			return nil, err
		}
		p := base
		p.Batches = batches
		return New(p)
	}
	trainEv, err := evaluatorOf(trainDS, trainN)
	if err != nil {
		return RunReport{}, err
	}
	defer trainEv.Close()
	var testEv *Evaluator
	if testN > 0 && testDS != nil {
		if testEv, err = evaluatorOf(testDS, testN); err != nil {
			return RunReport{}, err
		}
		defer testEv.Close()
	}
	return MeasureRun(trainEv, testEv, s)
}
