package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/internal/floatlist"
	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sharpness"
)

const evalUsage = `Measures trained runs the way the paper's Section 5.2 does, on their final weights:
flatness (mean and variance of the training loss at θ+ε, ε ~ N(0, δ²I), Fig. 2), the top-k
Hessian eigenvalues of the training loss (Lanczos), and the loss under the ERM, SAM and TSAM
objectives on training and test data (Table 3, printed as markdown). Writes eval.json,
table3.md, flatness.png and hessian.png into -out.

  tsam eval -run runs/mnist-erm-seed1
  tsam eval -run runs/mnist-erm-seed1,runs/mnist-sam-seed1 -run runs/mnist-tsam-seed1 -out report

See docs/SHARPNESS.md.`

func init() {
	register("eval", "measure flatness, Hessian spectrum and ERM/SAM/TSAM losses of trained runs", cmdEval)
}

// runList is a repeatable, comma-separated -run flag.
type runList []string

func (r *runList) String() string { return strings.Join(*r, ",") }

func (r *runList) Set(v string) error {
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "" {
			*r = append(*r, d)
		}
	}
	return nil
}

// floatList is a comma-separated list of numbers.
type floatList []float64

func (f *floatList) String() string { return floatlist.Format(*f) }

func (f *floatList) Set(v string) error {
	xs, err := floatlist.Parse(v)
	*f = xs
	return err
}

// evalFlags holds tsam eval's options.
type evalFlags struct {
	runs                     runList
	out                      string
	trainN, testN, batch     int
	settings                 sharpness.Settings
	deltas                   floatList
	skip                     string
	seed                     uint64
	eigenSteps, eigenK       int
	samSteps, samples, mDraw int
	// set names the flags given on the command line: -rho, -r and -tilt left out are taken
	// from the runs (see objectiveRadii).
	set       map[string]bool
	rRelative bool
}

func parseEvalFlags(args []string, stderr io.Writer) (*evalFlags, error) {
	ef := &evalFlags{deltas: floatList(sharpness.PaperDeltas)}
	fs := newFlagSet("eval", evalUsage, stderr)
	fs.Var(&ef.runs, "run", "run folder(s) to measure: repeat the flag or separate with commas")
	fs.StringVar(&ef.out, "out", "", "folder for eval.json, table3.md and the figures (default: the run folder when there is one run)")
	fs.IntVar(&ef.trainN, "train-examples", 1000, "size of the fixed training subset (the first examples of the run's training set)")
	fs.IntVar(&ef.testN, "test-examples", 1000, "size of the test subset for the objectives table")
	fs.IntVar(&ef.batch, "batch", 100, "examples per graph evaluation (memory vs speed; results agree up to rounding)")
	fs.Var(&ef.deltas, "deltas", "flatness: noise scales δ, comma-separated")
	fs.IntVar(&ef.mDraw, "m", 20, "flatness: draws of ε per δ")
	fs.IntVar(&ef.eigenK, "k", 5, "Hessian: number of top eigenvalues")
	fs.IntVar(&ef.eigenSteps, "lanczos-steps", 0, "Hessian: most Lanczos steps (0: 2·(max(3k, 30) + 20))")
	fs.Float64Var(&ef.settings.Eigen.Tol, "tol", 1e-3, "Hessian: relative residual ‖Hv − λv‖/|λ_max| that counts as converged")
	fs.BoolVar(&ef.settings.Eigen.SkipRestart, "no-restart", false, "Hessian: stop at first convergence (half the cost; may miss repeated eigenvalues)")
	fs.Float64Var(&ef.settings.Objectives.Rho, "rho", 0.05, "objectives: radius ρ of SAM's ball and length of the TSAM sampler's ascent step (default: the TSAM run's ρ, else the first run's)")
	fs.Float64Var(&ef.settings.Objectives.R, "r", 5, "objectives: random-start radius r of the TSAM sampler estimate (default: the TSAM run's r, else the first run's)")
	fs.Float64Var(&ef.settings.Objectives.T, "tilt", 20, "objectives: tilt t of the TSAM objective, 0 for the mean perturbed loss (default: the TSAM run's t, else the first run's)")
	fs.BoolVar(&ef.rRelative, "r-relative", false, "objectives: -r is relative to each weight tensor's norm (default: as the run was trained)")
	fs.StringVar(&ef.settings.Objectives.Estimator, "estimator", sharpness.EstimatorSampler, "objectives: how TSAM's ε are drawn: sampler (Algorithm 3's random start and ascent step, as the paper measures Table 3) or ball (uniform in the -tsam-rho ball)")
	fs.Float64Var(&ef.settings.Objectives.TSAMRho, "tsam-rho", 0, "objectives: radius of the ball of -estimator ball (0: same as -rho)")
	fs.IntVar(&ef.samSteps, "sam-steps", 5, "objectives: projected gradient ascent steps approximating SAM's max")
	fs.IntVar(&ef.samples, "samples", 32, "objectives: ε drawn for the TSAM estimate (its standard error is reported)")
	fs.Uint64Var(&ef.seed, "seed", 1, "seed of every random draw (same seed, same numbers)")
	fs.StringVar(&ef.skip, "skip", "", "measurements to leave out, comma-separated: "+strings.Join(sharpness.Measurements, ", "))
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	ef.set = givenFlags(fs)
	return ef, ef.validate()
}

// objectiveRadii sets ρ, r and t of the objectives that no flag gave to those the runs were
// trained with: the first TSAM run's, else the first run's, so that every run of one table is
// measured with the same numbers and a TSAM run at the radii it was trained with.
func (ef *evalFlags) objectiveRadii(runs []*run.Run) {
	from := runs[0].Config
	for _, r := range runs {
		if r.Config.Method == "tsam" {
			from = r.Config
			break
		}
	}
	o := &ef.settings.Objectives
	if !ef.set["rho"] && from.Rho > 0 {
		o.Rho = from.Rho
	}
	if !ef.set["r"] && from.R > 0 {
		o.R, o.RRelative = from.R, from.RRelative
	}
	if ef.set["r-relative"] {
		o.RRelative = ef.rRelative
	}
	if !ef.set["tilt"] {
		o.T = from.T
	}
}

// validate checks every option before any run is opened.
func (ef *evalFlags) validate() error {
	switch {
	case len(ef.runs) == 0:
		return badFlag("run", "name at least one run folder, e.g. -run runs/mnist-tsam-seed1")
	case ef.trainN < 1:
		return badFlag("train-examples", "%d; use at least 1", ef.trainN)
	case ef.testN < 0:
		return badFlag("test-examples", "%d; use 0 to skip the test set, or a positive size", ef.testN)
	case ef.batch < 1:
		return badFlag("batch", "%d; use at least 1", ef.batch)
	case ef.mDraw < 1:
		return badFlag("m", "%d draws; use at least 1 (2 or more for a variance)", ef.mDraw)
	case ef.eigenK < 1:
		return badFlag("k", "%d eigenvalues; use at least 1", ef.eigenK)
	case ef.eigenSteps < 0 || (ef.eigenSteps > 0 && ef.eigenSteps < ef.eigenK):
		return badFlag("lanczos-steps", "%d; use 0 for the default or at least -k (%d)", ef.eigenSteps, ef.eigenK)
	case !(ef.settings.Eigen.Tol > 0) || math.IsInf(ef.settings.Eigen.Tol, 0):
		return badFlag("tol", "%v; use a small positive tolerance such as 1e-3", ef.settings.Eigen.Tol)
	case !(ef.settings.Objectives.Rho > 0) || math.IsInf(ef.settings.Objectives.Rho, 0):
		return badFlag("rho", "%v; the radius must be finite and > 0", ef.settings.Objectives.Rho)
	case !(ef.settings.Objectives.R > 0) || math.IsInf(ef.settings.Objectives.R, 0):
		return badFlag("r", "%v; the random-start radius must be finite and > 0", ef.settings.Objectives.R)
	case !slices.Contains(sharpness.Estimators, ef.settings.Objectives.Estimator):
		return badFlag("estimator", "unknown estimator %q; use %s", ef.settings.Objectives.Estimator, strings.Join(sharpness.Estimators, " or "))
	case !(ef.settings.Objectives.TSAMRho >= 0) || math.IsInf(ef.settings.Objectives.TSAMRho, 0):
		return badFlag("tsam-rho", "%v; use 0 (same as -rho) or a finite radius > 0", ef.settings.Objectives.TSAMRho)
	case !(ef.settings.Objectives.T >= 0) || math.IsInf(ef.settings.Objectives.T, 0):
		return badFlag("tilt", "%v; the tilt must be finite and ≥ 0", ef.settings.Objectives.T)
	case ef.samSteps < 1:
		return badFlag("sam-steps", "%d; use at least 1", ef.samSteps)
	case ef.samples < 1:
		return badFlag("samples", "%d; use at least 1", ef.samples)
	}
	for _, d := range ef.deltas {
		if !(d >= 0) || math.IsInf(d, 0) {
			return badFlag("deltas", "δ = %v; noise scales must be finite and ≥ 0", d)
		}
	}
	if len(ef.deltas) == 0 {
		return badFlag("deltas", "give at least one noise scale, e.g. 0.01,0.02,0.03,0.04,0.05")
	}
	for _, dir := range ef.runs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return badFlag("run", "%s is not a run folder (make one with tsam train -out %s)", dir, dir)
		}
	}
	if err := ef.parseSkip(); err != nil {
		return err
	}
	return ef.checkOut()
}

func (ef *evalFlags) parseSkip() error {
	for _, s := range strings.Split(ef.skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(sharpness.Measurements, s) {
			return badFlag("skip", "unknown measurement %q; choose from %s", s, strings.Join(sharpness.Measurements, ", "))
		}
		ef.settings.Skip = append(ef.settings.Skip, s)
	}
	if len(ef.settings.Skip) >= len(sharpness.Measurements) {
		return badFlag("skip", "every measurement is skipped; nothing would be measured")
	}
	return nil
}

// checkOut picks the default -out and refuses a path that is an existing file.
func (ef *evalFlags) checkOut() error {
	if ef.out == "" {
		if len(ef.runs) > 1 {
			return badFlag("out", "%d runs need a folder for the combined results: pass -out DIR", len(ef.runs))
		}
		ef.out = ef.runs[0]
	}
	if st, err := os.Stat(ef.out); err == nil && !st.IsDir() {
		return badFlag("out", "%s is a file; name a folder", ef.out)
	}
	return nil
}

// fill copies the flag values into the library settings.
func (ef *evalFlags) fill() {
	s := &ef.settings
	s.Flatness = sharpness.FlatnessOptions{Deltas: ef.deltas, M: ef.mDraw, Seed: ef.seed}
	s.Eigen.K, s.Eigen.MaxIter, s.Eigen.Seed = ef.eigenK, ef.eigenSteps, ef.seed
	s.Objectives.SAMSteps, s.Objectives.Samples, s.Objectives.Seed = ef.samSteps, ef.samples, ef.seed
}

func cmdEval(args []string, stdout, stderr io.Writer) error {
	ef, err := parseEvalFlags(args, stderr)
	if err != nil {
		return err
	}
	ef.fill()
	runs := make([]*run.Run, len(ef.runs))
	for i, dir := range ef.runs {
		if runs[i], err = run.Open(dir); err != nil {
			return asUsageError(err)
		}
	}
	ef.objectiveRadii(runs)
	rep := sharpness.Report{Settings: ef.settings}
	for _, r := range runs {
		rr, err := measure(r, ef, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Dir, err)
		}
		rep.Runs = append(rep.Runs, rr)
	}
	return writeEval(ef.out, rep, stdout)
}

// measure evaluates one run on its fixed training and test subsets.
func measure(r *run.Run, ef *evalFlags, stdout io.Writer) (sharpness.RunReport, error) {
	fmt.Fprintf(stdout, "tsam eval: %s\n", r)
	base := sharpness.Problem{Backend: r.Backend, Context: r.Context, Model: r.Model, HessianModel: r.HessianModel, Loss: r.Loss}
	rr, err := sharpness.MeasureDatasets(base, r.Train, r.Test, ef.trainN, ef.testN, ef.batch, ef.settings)
	if err != nil {
		return rr, err
	}
	rr.Run, rr.Label = r.Dir, runLabel(r)
	for _, name := range sharpness.Measurements {
		if s, ok := rr.Seconds[name]; ok {
			fmt.Fprintf(stdout, "  %-10s %.1fs\n", name, s)
		}
	}
	return rr, nil
}

// runLabel names a run in tables and figures: its folder and method.
func runLabel(r *run.Run) string {
	label := fmt.Sprintf("%s (%s", filepath.Base(filepath.Clean(r.Dir)), r.Config.Method)
	switch r.Config.Method {
	case "tsam":
		label += fmt.Sprintf(", t=%g", r.Config.T)
	case "erm":
	default:
		label += fmt.Sprintf(", ρ=%g", r.Config.Rho)
	}
	return label + ")"
}

// writeEval writes eval.json, table3.md and the figures atomically, then prints the table.
func writeEval(out string, rep sharpness.Report, stdout io.Writer) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return badFlag("out", "cannot create %s: %v", out, err)
	}
	if err := atomicfile.WriteJSON(filepath.Join(out, "eval.json"), rep); err != nil {
		return err
	}
	var table strings.Builder
	if err := rep.WriteTable3(&table); err != nil {
		return err
	}
	written := []string{"eval.json"}
	if table.Len() > 0 {
		if err := atomicfile.Write(filepath.Join(out, "table3.md"), []byte(table.String()), 0o644); err != nil {
			return err
		}
		written = append(written, "table3.md")
	}
	if rep.Runs[0].Flatness != nil {
		if err := sharpness.WriteFlatnessPNG(filepath.Join(out, "flatness.png"), rep.Runs); err != nil {
			return err
		}
		written = append(written, "flatness.png")
	}
	if rep.Runs[0].Hessian != nil {
		if err := sharpness.WriteHessianPNG(filepath.Join(out, "hessian.png"), rep.Runs); err != nil {
			return err
		}
		written = append(written, "hessian.png")
	}
	fmt.Fprintf(stdout, "\n%s", table.String())
	printSpectrum(stdout, rep)
	fmt.Fprintf(stdout, "wrote %s in %s\n", strings.Join(written, ", "), out)
	return nil
}

// printSpectrum prints each run's top eigenvalues with their residuals.
func printSpectrum(w io.Writer, rep sharpness.Report) {
	for _, r := range rep.Runs {
		if r.Hessian == nil {
			continue
		}
		parts := make([]string, len(r.Hessian.Pairs))
		for i, p := range r.Hessian.Pairs {
			parts[i] = fmt.Sprintf("%.4g (residual %.2g)", p.Value, p.Residual)
		}
		status := "converged"
		if !r.Hessian.Converged {
			status = "NOT converged: raise -lanczos-steps or -tol"
		}
		fmt.Fprintf(w, "Hessian top-%d of %s: %s; %d Lanczos steps, %s\n", len(parts), r.Label, strings.Join(parts, ", "), r.Hessian.Iterations, status)
	}
}
