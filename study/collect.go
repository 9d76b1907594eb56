package study

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sharpness"
)

// Results is results.json: everything RESULTS.md shows, read from the run folders.
type Results struct {
	Plan     string          `json:"plan"`
	Doc      string          `json:"doc"`
	Command  string          `json:"command"`
	Machine  Machine         `json:"machine"`
	Estimate PlanEstimate    `json:"estimate"`
	Sections []SectionResult `json:"sections"`
	// TrainSeconds sums the training wall time of every distinct run the report uses.
	TrainSeconds float64 `json:"train_seconds"`
	// Runs counts those runs and Planned the runs the plan trains in all (a pick's seed
	// that its chosen candidate already ran counts once); LastFinished is the newest
	// summary's finish time.
	Runs    int `json:"runs"`
	Planned int `json:"planned"`
	// Unused counts the plan's finished runs that no table shows (tuning candidates not
	// chosen on validation) and UnusedSeconds their training wall time: compute the study
	// spent all the same.
	Unused        int     `json:"unused_runs"`
	UnusedSeconds float64 `json:"unused_train_seconds"`
	// FinishedEstimate is what the plan's estimate predicted for the training of the
	// finished runs (used and unused) and the measurements taken, to compare with their wall
	// time; MeasureSeconds is the wall time of those sharpness measurements.
	FinishedEstimate float64   `json:"finished_estimate_seconds"`
	MeasureSeconds   float64   `json:"measure_seconds"`
	LastFinished     string    `json:"last_finished"`
	Failures         []Failure `json:"failures,omitempty"`
	VerdictRule      string    `json:"verdict_rule"`
	// Smoke marks a smoke plan's report: no verdicts.
	Smoke bool `json:"smoke,omitempty"`
}

// Machine describes where the runs ran: this machine's CPU, and the software the runs'
// summaries record.
type Machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	OS    string `json:"os"`
	Go    string `json:"go"`
	GoMLX string `json:"gomlx"`
	// Backends are the backend descriptions the runs recorded, each with its number of runs
	// (a study resumed with a newer binary can span two).
	Backends []string `json:"backends"`
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SectionResult is one table or figure with our numbers, the paper's, and the verdict.
type SectionResult struct {
	ID              string      `json:"id"`
	Kind            string      `json:"kind"`
	Title           string      `json:"title"`
	Setup           string      `json:"setup"`
	EstimateSeconds float64     `json:"estimate_seconds"`
	TrainSeconds    float64     `json:"train_seconds"`
	Paper           PaperClaim  `json:"paper"`
	Rows            []RowResult `json:"rows"`
	Verdict         string      `json:"verdict"`
	Reason          string      `json:"reason"`
	Figures         []string    `json:"figures,omitempty"`
	// Curves asks for a figure of test accuracy against epoch.
	Curves bool `json:"curves"`
	// Subclaims holds the separate verdicts of a section with several claims (Table 3).
	Subclaims []Subclaim `json:"subclaims,omitempty"`
	// Comparisons are the paired comparisons of a paired plan's accuracy claim.
	Comparisons []Comparison `json:"comparisons,omitempty"`
	// Memorisation says, for a label-noise section of a plan with a memorisation
	// threshold, whether its ERM runs reached it.
	Memorisation string     `json:"memorisation,omitempty"`
	Memo         *MemoCheck `json:"memorisation_check,omitempty"`
	// RunsFinished of RunsPlanned runs of the section's rows have finished.
	RunsFinished int `json:"runs_finished"`
	RunsPlanned  int `json:"runs_planned"`
}

// Subclaim is one of several claims of a section.
type Subclaim struct {
	Claim   string `json:"claim"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

// RowResult is one cell or pick of a section, summarised over its seeds.
type RowResult struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Hyper lists the hyperparameters that set this row apart.
	Hyper string `json:"hyper"`
	// Runs are the run folders (relative to the study folder) the row averages.
	Runs []string `json:"runs"`
	// Unfinished lists the runs that have no summary yet (not trained, or in training);
	// Missing the runs that cannot be used (another configuration, unreadable files) and
	// picks that cannot choose yet.
	Unfinished []string `json:"unfinished,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	// Tuning, for a pick: every candidate's mean validation accuracy and the chosen one.
	Tuning map[string]float64 `json:"tuning,omitempty"`
	Chosen string             `json:"chosen,omitempty"`
	// Method and Noise are the row's configuration's method and label-noise fraction.
	Method string  `json:"method,omitempty"`
	Noise  float64 `json:"noise,omitempty"`
	// TestAcc is the final test accuracy, TestAccBySeed the same per seed (for paired
	// tests), BestTestAcc the best test accuracy over the run's epochs, and TrainAcc the
	// final accuracy on the training labels the run fitted (noisy ones included).
	TestAcc       Stat              `json:"test_acc"`
	TestAccBySeed map[int64]float64 `json:"test_acc_by_seed,omitempty"`
	BestTestAcc   Stat              `json:"best_test_acc"`
	TrainAcc      Stat              `json:"train_acc"`
	// Unmemorised lists the runs whose final training accuracy stayed below the plan's
	// memorisation threshold (label-noise ERM rows only).
	Unmemorised []string `json:"unmemorised,omitempty"`
	// AtChance lists the runs that ended with the training loss of a uniform guess
	// (run.AtChance): they never learned, or collapsed. They stay in the row's statistics
	// and paired tests (leaving them out would flatter the method), marked.
	AtChance []string `json:"at_chance,omitempty"`
	// finished are the run folders of the finished runs, in the order of the Stats' Values.
	finished    []string
	TestLoss    Stat         `json:"test_loss"`
	ValAcc      Stat         `json:"val_acc"`
	WallSeconds Stat         `json:"wall_seconds"`
	StepSeconds Stat         `json:"step_seconds"`
	Steps       Stat         `json:"steps"`
	GradEvals   Stat         `json:"grad_evals_per_step"`
	Curve       []CurvePoint `json:"curve,omitempty"`
	Flatness    []FlatPoint  `json:"flatness,omitempty"`
	Eigen       []Stat       `json:"eigen,omitempty"`
	// TrainObj and TestObj are the ERM, SAM and TSAM objectives (Table 3).
	TrainObj []Stat `json:"train_objectives,omitempty"`
	TestObj  []Stat `json:"test_objectives,omitempty"`
	// TrainTSAMSE and TestTSAMSE are each run's Monte-Carlo standard error of its TSAM
	// objective over the sampled ε (sharpness records it), over seeds.
	TrainTSAMSE Stat `json:"train_tsam_se"`
	TestTSAMSE  Stat `json:"test_tsam_se"`
	// Planned is the number of runs the row averages once the plan has run; Measured counts
	// its finished runs with the plan's sharpness measurements.
	Planned  int `json:"planned"`
	Measured int `json:"measured"`
	// Unconverged lists the runs whose Hessian eigenpairs did not all converge (Lanczos hit
	// its step cap): their eigenvalues are shown but marked.
	Unconverged []string `json:"unconverged,omitempty"`
}

// CurvePoint is the test accuracy after an epoch over the seeds that reached it. Fraction
// is the share of the run's steps done by then: runs given TSAM's budget train more epochs
// (and are evaluated every few), so a column's curves line up by Fraction, not Epoch.
type CurvePoint struct {
	Epoch    int     `json:"epoch"`
	Fraction float64 `json:"fraction"`
	TestAcc  Stat    `json:"test_acc"`
}

// FlatPoint is the flatness at one δ over seeds: the mean and the variance of L(θ+ε), and
// each run's Monte-Carlo standard error of its mean over its M draws.
type FlatPoint struct {
	Delta    float64 `json:"delta"`
	Mean     Stat    `json:"mean"`
	Variance Stat    `json:"variance"`
	MeanMCSE Stat    `json:"mean_mc_se"`
}

// runData is what the report reads from one run folder.
type runData struct {
	dir     string
	summary *run.Summary
	metrics []run.EpochMetrics
	eval    *EvalRecord
	classes int // number of classes (classes.json); 0 when the run has none
}

// Collect reads the plan's run folders in dir and computes every section. It trains and
// measures nothing; rows whose runs are missing are reported as such.
func Collect(p *Plan, dir string) (*Results, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	est := Estimate(p)
	res := &Results{Plan: p.Name, Doc: p.Doc, Estimate: est, VerdictRule: VerdictRule, Machine: machine(), Planned: plannedRuns(p), Smoke: p.Smoke}
	if p.Paired {
		res.VerdictRule = PairedRule + VerdictRule
	}
	used := map[string]*runData{}
	for _, s := range p.Sections {
		sr := SectionResult{ID: s.ID, Kind: s.Kind, Title: s.Title, Setup: s.Setup, EstimateSeconds: s.EstimateSeconds, Paper: PaperClaims[s.ID], Curves: s.Curves}
		seen := map[string]bool{}
		for _, name := range s.Rows {
			row, runs := collectRow(p, dir, name)
			if l, ok := s.Labels[name]; ok {
				row.Label = l
			}
			for _, r := range runs {
				used[r.dir] = r
				if !seen[r.dir] {
					seen[r.dir] = true
					sr.TrainSeconds += r.summary.WallSeconds
				}
			}
			sr.Rows = append(sr.Rows, row)
			sr.RunsFinished += len(row.finished)
			sr.RunsPlanned += row.Planned
		}
		var memo []RowResult // the setting's ERM row when the section does not show it
		if s.MemorisedBy != "" && !slices.Contains(s.Rows, s.MemorisedBy) {
			row, _ := collectRow(p, dir, s.MemorisedBy)
			memo = append(memo, row)
		}
		decide(p, s, &sr, memo...)
		res.Sections = append(res.Sections, sr)
	}
	res.Unused, res.UnusedSeconds, res.FinishedEstimate = unusedRuns(p, dir, used)
	backends := map[string]int{}
	for _, r := range used {
		res.Runs++
		res.TrainSeconds += r.summary.WallSeconds
		res.FinishedEstimate += estimateRun(r.summary.Config)
		if r.eval != nil {
			for _, sec := range r.eval.Report.Seconds {
				res.MeasureSeconds += sec
			}
			res.FinishedEstimate += estimateMeasure(r.summary.Config, p.Eval)
		}
		if t := r.summary.FinishedAt.UTC().Format("2006-01-02 15:04 UTC"); t > res.LastFinished {
			res.LastFinished = t
		}
		backends[r.summary.Backend]++
		res.Machine.Go, res.Machine.GoMLX = r.summary.Versions.Go, r.summary.Versions.GoMLX
	}
	for b, n := range backends {
		res.Machine.Backends = append(res.Machine.Backends, fmt.Sprintf("%s (%d %s)", orDash(b), n, plural(n, "run", "runs")))
	}
	sort.Strings(res.Machine.Backends)
	return res, nil
}

// unusedRuns counts the finished runs of the plan's cells that are not in used (keyed by
// the run folder relative to dir, as collectRow keys them) and sums their training wall time
// and its estimate.
func unusedRuns(p *Plan, dir string, used map[string]*runData) (n int, seconds, estimate float64) {
	for _, c := range p.Cells {
		for _, seed := range c.Seeds {
			rel := filepath.Join(RunsDir, runID(c.Name, seed))
			if _, ok := used[rel]; ok {
				continue
			}
			if sum, err := finishedSummary(filepath.Join(dir, rel)); err == nil {
				n++
				seconds += sum.WallSeconds
				estimate += estimateRun(sum.Config)
			}
		}
	}
	return n, seconds, estimate
}

// plannedRuns counts the distinct runs of the plan: every cell seed, and every pick seed
// that its candidates do not already run.
func plannedRuns(p *Plan) int {
	n := 0
	for _, c := range p.Cells {
		n += len(c.Seeds)
	}
	for _, pk := range p.Picks {
		cands := p.candidates(pk.Group)
		for _, s := range pk.Seeds {
			if len(cands) == 0 || !slices.Contains(cands[0].Seeds, s) {
				n++
			}
		}
	}
	return n
}

// machine describes the CPU this process runs on.
func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// rowJobs lists the runs of a cell or pick with their planned configurations, and for a
// pick the tuning outcome; err says why a pick has none yet.
func rowJobs(p *Plan, dir, name string) (label string, cell *Cell, jobs []*job, choice *Choice, err error) {
	if c := p.cell(name); c != nil {
		for _, seed := range c.Seeds {
			j := &job{id: runID(c.Name, seed), row: c.Name, seed: seed}
			j.cfg, j.err = resolve(c.Config, c.Extra, seed)
			if j.err == nil {
				j.fp, j.err = Fingerprint(j.cfg)
			}
			jobs = append(jobs, j)
		}
		return c.Label, c, jobs, nil, nil
	}
	pk := p.pick(name)
	choice, err = choose(p, dir, pk.Group)
	if err != nil {
		return pk.Label, nil, nil, nil, err
	}
	for _, seed := range pk.Seeds {
		jobs = append(jobs, pickJob(*pk, choice, seed))
	}
	return pk.Label, choice.Cell, jobs, choice, nil
}

// collectRow reads the runs of one row and summarises them. A run folder holding another
// configuration than the plan's is left out and listed as missing, never averaged in.
func collectRow(p *Plan, dir, name string) (RowResult, []*runData) {
	label, cell, jobs, choice, err := rowJobs(p, dir, name)
	row := RowResult{Name: name, Label: label, Planned: len(jobs)}
	if err != nil {
		// A pick that cannot choose yet: its seeds are still planned, and its method and
		// noise (shared by the group's candidates) still tell the memorisation check about it.
		if pk := p.pick(name); pk != nil {
			row.Planned = len(pk.Seeds)
			cands := p.candidates(pk.Group)
			if len(cands) > 0 {
				row.Method, row.Noise = cands[0].Config.Method, cands[0].Config.Noise
			}
			row.Unfinished = untrainedCandidates(dir, cands)
		}
		if len(row.Unfinished) == 0 {
			row.Missing = []string{err.Error()} // the tuning runs exist but cannot decide
		}
		return row, nil
	}
	if cell != nil {
		row.Hyper = hyper(cell.Config, cell.Extra)
		row.Method, row.Noise = cell.Config.Method, cell.Config.Noise
	}
	if choice != nil {
		row.Tuning, row.Chosen = choice.Candidates, choice.Cell.Name
	}
	var datas []*runData
	for _, j := range jobs {
		rel := filepath.Join(RunsDir, j.id)
		row.Runs = append(row.Runs, rel)
		if j.err != nil {
			row.Missing = append(row.Missing, fmt.Sprintf("%s: %v", rel, j.err))
			continue
		}
		d, err := readRun(filepath.Join(dir, rel))
		if err == nil {
			if fp, _ := Fingerprint(d.summary.Config); fp != j.fp {
				err = fmt.Errorf("holds another configuration than the plan's (%s); delete it and run the study to retrain", firstDifference(d.summary.Config, j.cfg))
			}
		}
		if err == nil && d.eval != nil && !measuredAsPlanned(p, j, d) {
			// Measurements of other weights or with another EvalSpec are never mixed in; the
			// study measures the run again.
			row.Missing = append(row.Missing, fmt.Sprintf("%s: its %s was measured with another EvalSpec or on other weights; run the study to measure it again", rel, EvalFile))
			d.eval = nil
		}
		if err != nil {
			if _, statErr := os.Stat(filepath.Join(dir, rel, run.SummaryFile)); os.IsNotExist(statErr) {
				row.Unfinished = append(row.Unfinished, rel) // not trained yet, or training now
			} else {
				row.Missing = append(row.Missing, fmt.Sprintf("%s: %v", rel, err))
			}
			continue
		}
		d.dir = rel
		datas = append(datas, d)
	}
	summarise(&row, datas)
	return row, datas
}

// measuredAsPlanned says whether a run's sharpness measurements are the plan's: the plan's
// EvalSpec, on the weights of this configuration's finished run (what measureAll checks
// before it skips a measurement).
func measuredAsPlanned(p *Plan, j *job, d *runData) bool {
	return d.eval.SpecFingerprint == p.Eval.fingerprint() && d.eval.RunFingerprint == j.fp && d.eval.FinishedAt == d.summary.FinishedAt.String()
}

// untrainedCandidates lists the tuning runs of cands that have no summary yet, as
// "tuning: runs/<id>": a pick waits for them before it can choose.
func untrainedCandidates(dir string, cands []*Cell) []string {
	var out []string
	for _, c := range cands {
		for _, seed := range c.Seeds {
			rel := filepath.Join(RunsDir, runID(c.Name, seed))
			if _, err := os.Stat(filepath.Join(dir, rel, run.SummaryFile)); os.IsNotExist(err) {
				out = append(out, "tuning: "+rel)
			}
		}
	}
	return out
}

// readRun reads a finished run folder and its measurements, if any.
func readRun(dir string) (*runData, error) {
	sum, err := finishedSummary(dir)
	if err != nil {
		return nil, err
	}
	ms, err := run.ReadMetrics(dir)
	if err != nil {
		return nil, err
	}
	d := &runData{summary: sum, metrics: ms}
	if names, err := run.ReadClasses(dir); err == nil {
		d.classes = len(names)
	}
	if rec, err := readEval(dir); err == nil {
		d.eval = rec
	}
	return d, nil
}

// hyper describes the hyperparameters of a configuration that matter for its method.
func hyper(c run.Config, extra map[string]any) string {
	parts := []string{fmt.Sprintf("lr=%g", c.LR)}
	switch c.Method {
	case "erm":
	case "pgn":
		parts = append(parts, fmt.Sprintf("ρ=%g", c.Rho), fmt.Sprintf("λ=%g", c.Lambda))
	case "tsam":
		parts = append(parts, fmt.Sprintf("t=%g", c.T), fmt.Sprintf("s=%d", c.S), fmt.Sprintf("ρ=%g", c.Rho), fmt.Sprintf("r=%g", c.R), c.Sampler)
		if n, ok := extra["hmc_steps"]; ok {
			parts = append(parts, fmt.Sprintf("N=%v", n))
		}
		if c.TSchedule != "constant" {
			parts = append(parts, "t "+c.TSchedule)
		}
	default:
		parts = append(parts, fmt.Sprintf("ρ=%g", c.Rho))
	}
	return strings.Join(parts, ", ")
}

// summarise fills the row's statistics from its runs.
func summarise(row *RowResult, runs []*runData) {
	var acc, loss, val, wall, step, steps, evals, best, train []float64
	var seeds []int64
	for _, r := range runs {
		f := r.summary.Final
		seeds = append(seeds, r.summary.Config.Seed)
		acc, loss = append(acc, f.TestAcc), append(loss, f.TestLoss)
		if row.TestAccBySeed == nil {
			row.TestAccBySeed = map[int64]float64{}
		}
		row.TestAccBySeed[r.summary.Config.Seed] = f.TestAcc
		best, train = append(best, bestTestAcc(r)), append(train, f.TrainAcc)
		row.finished = append(row.finished, r.dir)
		if r.classes > 0 && run.AtChance(f.TrainLoss, r.classes) {
			row.AtChance = append(row.AtChance, fmt.Sprintf("%s (training loss %.4f, ln %d = %.4f)", r.dir, f.TrainLoss, r.classes, math.Log(float64(r.classes))))
		}
		if f.ValAcc != nil {
			val = append(val, *f.ValAcc)
		}
		wall = append(wall, r.summary.WallSeconds)
		steps = append(steps, float64(r.summary.Steps))
		if r.summary.Steps > 0 {
			step = append(step, r.summary.WallSeconds/float64(r.summary.Steps))
		}
		if g, ok := f.Stats["grad_evals"]; ok {
			evals = append(evals, g)
		}
	}
	row.TestAcc, row.TestLoss, row.ValAcc = newSeedStat(acc, seeds), newSeedStat(loss, seeds), newStat(val)
	row.BestTestAcc, row.TrainAcc = newSeedStat(best, seeds), newSeedStat(train, seeds)
	row.WallSeconds, row.StepSeconds, row.Steps, row.GradEvals = newStat(wall), newStat(step), newStat(steps), newStat(evals)
	row.Curve = curve(runs)
	summariseEval(row, runs)
}

// curve averages test accuracy per evaluated epoch over the runs (complete epochs only;
// a run evaluated every few epochs has points at those only).
func curve(runs []*runData) []CurvePoint {
	byEpoch := map[int][]float64{}
	fraction := map[int]float64{}
	for _, r := range runs {
		for _, m := range r.metrics {
			if !m.Partial {
				byEpoch[m.Epoch] = append(byEpoch[m.Epoch], m.TestAcc)
				if r.summary.TotalSteps > 0 {
					fraction[m.Epoch] = float64(m.Step) / float64(r.summary.TotalSteps)
				}
			}
		}
	}
	var out []CurvePoint
	for e, vs := range byEpoch {
		out = append(out, CurvePoint{Epoch: e, Fraction: fraction[e], TestAcc: newStat(vs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Epoch < out[j].Epoch })
	return out
}

// seeded collects one quantity's values over runs with their seeds.
type seeded struct {
	vs    []float64
	seeds []int64
}

func (q *seeded) add(v float64, seed int64) { q.vs, q.seeds = append(q.vs, v), append(q.seeds, seed) }
func (q *seeded) stat() Stat                { return newSeedStat(q.vs, q.seeds) }

// flatAcc collects one δ's flatness statistics over runs.
type flatAcc struct{ mean, variance, mcse seeded }

// summariseEval averages the sharpness measurements of the runs that have them, keeping
// each value's seed so that rows can be compared paired by seed.
func summariseEval(row *RowResult, runs []*runData) {
	flat := map[float64]*flatAcc{}
	var eig []seeded
	var trainObj, testObj [3]seeded
	var trainSE, testSE seeded
	for _, r := range runs {
		if r.eval == nil {
			continue
		}
		row.Measured++
		rep, seed := r.eval.Report, r.summary.Config.Seed
		if rep.Flatness != nil {
			for _, pt := range rep.Flatness.Points {
				f := flat[pt.Delta]
				if f == nil {
					f = &flatAcc{}
					flat[pt.Delta] = f
				}
				f.mean.add(pt.Mean, seed)
				f.variance.add(pt.Variance, seed)
				f.mcse.add(flatMeanSE(pt), seed)
			}
		}
		if rep.Hessian != nil {
			if !rep.Hessian.Converged {
				row.Unconverged = append(row.Unconverged, r.dir)
			}
			for i, val := range rep.Hessian.Values() {
				if i >= len(eig) {
					eig = append(eig, seeded{})
				}
				eig[i].add(val, seed)
			}
		}
		for _, o := range []struct {
			obj *sharpness.Objectives
			acc *[3]seeded
			se  *seeded
		}{{rep.TrainObjectives, &trainObj, &trainSE}, {rep.TestObjectives, &testObj, &testSE}} {
			if o.obj == nil {
				continue
			}
			o.acc[0].add(o.obj.ERM, seed)
			o.acc[1].add(o.obj.SAM, seed)
			o.acc[2].add(o.obj.TSAM, seed)
			o.se.add(o.obj.TSAMSE, seed)
		}
	}
	for d, f := range flat {
		row.Flatness = append(row.Flatness, FlatPoint{Delta: d, Mean: f.mean.stat(), Variance: f.variance.stat(), MeanMCSE: f.mcse.stat()})
	}
	sort.Slice(row.Flatness, func(i, j int) bool { return row.Flatness[i].Delta < row.Flatness[j].Delta })
	for _, e := range eig {
		row.Eigen = append(row.Eigen, e.stat())
	}
	if len(trainObj[0].vs) > 0 {
		row.TrainObj, row.TrainTSAMSE = []Stat{trainObj[0].stat(), trainObj[1].stat(), trainObj[2].stat()}, trainSE.stat()
	}
	if len(testObj[0].vs) > 0 {
		row.TestObj, row.TestTSAMSE = []Stat{testObj[0].stat(), testObj[1].stat(), testObj[2].stat()}, testSE.stat()
	}
}

// flatMeanSE is the Monte-Carlo standard error of one run's flatness mean over its draws;
// measurements recorded before sharpness stored it are recomputed from the variance.
func flatMeanSE(pt sharpness.FlatnessPoint) float64 {
	if pt.MeanSE > 0 {
		return pt.MeanSE
	}
	return sharpness.MeanStandardError(pt.Variance, len(pt.Losses))
}

// bestTestAcc is the best test accuracy of a run over its complete epochs and its final
// state (the epoch an oracle would have stopped at; reported, never used to choose).
func bestTestAcc(r *runData) float64 {
	best := r.summary.Final.TestAcc
	for _, m := range r.metrics {
		if !m.Partial {
			best = max(best, m.TestAcc)
		}
	}
	return best
}

// decide sets a section's verdict: none for a smoke plan, paired tests for a paired plan's
// accuracy claims, judge's rule otherwise; then the memorisation check over the section's
// rows and memo (rows of the setting the section does not show).
func decide(p *Plan, s Section, sr *SectionResult, memo ...RowResult) {
	if p.Smoke {
		sr.Verdict, sr.Reason = SmokeVerdict, "the smoke plan checks the machinery end to end; its runs are far too short to test the paper's claims"
		return
	}
	sr.Verdict, sr.Reason, sr.Subclaims = judge(s, sr.Rows)
	if sr.RunsPlanned > 0 && sr.RunsFinished == 0 {
		sr.Verdict, sr.Reason, sr.Subclaims = NotRun, sr.progress(), nil
	} else if sr.unmeasured() {
		sr.Verdict, sr.Reason, sr.Subclaims = NotRun, fmt.Sprintf("not measured yet (none of the %d finished runs has the plan's sharpness measurements)", sr.RunsFinished), nil
	} else if p.Paired {
		if v, reason, comps, ok := judgePaired(s, sr.Rows); ok {
			sr.Verdict, sr.Reason, sr.Comparisons, sr.Subclaims = v, reason, comps, nil
			pairedGreater(s, sr)
		}
		if v, reason, subs, comps, ok := judgePairedSharpness(s, sr.Rows); ok {
			sr.Verdict, sr.Reason, sr.Subclaims, sr.Comparisons = v, reason, subs, comps
		}
	}
	if p.MemoriseTrainAcc > 0 && s.Kind != KindRuntime { // a cost claim holds in any regime
		checkMemorisation(p.MemoriseTrainAcc, sr, memo...)
	}
	if sr.Verdict == NotRun && sr.RunsFinished > 0 && sr.RunsFinished < sr.RunsPlanned {
		sr.Reason += " (" + sr.progress() + ")"
	}
}

// unmeasured says whether a section of a sharpness kind has finished runs but no
// measurements of them yet.
func (sr *SectionResult) unmeasured() bool {
	if sr.Kind != KindFlatness && sr.Kind != KindHessian && sr.Kind != KindObjectives || sr.RunsFinished == 0 {
		return false
	}
	for _, r := range sr.Rows {
		if r.Measured > 0 {
			return false
		}
	}
	return true
}

// progress says how many of the section's runs have finished.
func (sr *SectionResult) progress() string {
	if sr.RunsFinished == 0 {
		return fmt.Sprintf("not run yet (0 of %d runs finished)", sr.RunsPlanned)
	}
	return fmt.Sprintf("%d of %d runs finished", sr.RunsFinished, sr.RunsPlanned)
}

// pairedGreater adds a section's Greater claims, each its own family of one paired test.
func pairedGreater(s Section, sr *SectionResult) {
	if len(s.Greater) == 0 {
		return
	}
	byName := map[string]RowResult{}
	for _, r := range sr.Rows {
		byName[r.Name] = r
	}
	subs := []Subclaim{{Claim: "(main)", Verdict: sr.Verdict, Reason: sr.Reason}}
	for i := range sr.Comparisons {
		sr.Comparisons[i].Claim = "(main)"
	}
	for _, g := range s.Greater {
		comps := pairedFamily([][2]RowResult{{byName[g[0]], byName[g[1]]}}, 1)
		comps[0].Claim = byName[g[0]].Label + " > " + byName[g[1]].Label
		v, reason := pairedVerdict(KindBeatsRef, comps)
		sr.Comparisons = append(sr.Comparisons, comps...)
		subs = append(subs, Subclaim{Claim: byName[g[0]].Label + " > " + byName[g[1]].Label, Verdict: v, Reason: reason})
	}
	sr.Subclaims, sr.Verdict, sr.Reason = subs, overall(subs), "see the claims below"
}

// MemoCheck is the memorisation check of a label-noise section: the final accuracy on the
// noisy training labels of every finished ERM run of its setting, against the threshold.
type MemoCheck struct {
	Threshold float64 `json:"threshold"`
	// Planned counts the ERM runs of the setting once the plan has run; Runs are the
	// finished ones.
	Planned int       `json:"planned"`
	Runs    []MemoRun `json:"runs"`
}

// MemoRun is one ERM run's final noisy-train accuracy against the threshold.
type MemoRun struct {
	Run      string  `json:"run"`
	Seed     int64   `json:"seed"`
	TrainAcc float64 `json:"train_acc"`
	Reached  bool    `json:"reached"`
}

// short lists the runs below the threshold as "folder (accuracy%)".
func (m *MemoCheck) short() []string {
	var out []string
	for _, r := range m.Runs {
		if !r.Reached {
			out = append(out, fmt.Sprintf("%s (%.1f%%)", r.Run, 100*r.TrainAcc))
		}
	}
	return out
}

// Status is the check in a few words, for the summary table.
func (m *MemoCheck) Status() string {
	if m == nil {
		return "–"
	}
	if len(m.Runs) == 0 {
		return fmt.Sprintf("not yet (0 of %d ERM runs finished)", m.Planned)
	}
	of := fmt.Sprintf("%d of %d", len(m.Runs), m.Planned)
	if n := len(m.short()); n > 0 {
		return fmt.Sprintf("**NO: %d of %d finished ERM run(s) below %.0f%%**", n, len(m.Runs), 100*m.Threshold)
	}
	if len(m.Runs) < m.Planned {
		return fmt.Sprintf("yes so far (%s ERM runs finished, all ≥ %.0f%%)", of, 100*m.Threshold)
	}
	return fmt.Sprintf("yes (%s ERM runs ≥ %.0f%%)", of, 100*m.Threshold)
}

// checkMemorisation records, for a label-noise section (one showing or MemorisedBy naming
// an ERM row with label noise), every finished ERM run's final noisy-train accuracy against
// the threshold; it marks the runs that fell short and leaves the section's claim
// inconclusive if any did: the column would not be in the regime it is meant to test.
func checkMemorisation(threshold float64, sr *SectionResult, memo ...RowResult) {
	rows := append(append([]RowResult(nil), sr.Rows...), memo...)
	var check *MemoCheck
	for i := range rows {
		r := &rows[i]
		if r.Method != "erm" || r.Noise == 0 {
			continue
		}
		if check == nil {
			check = &MemoCheck{Threshold: threshold}
		}
		check.Planned += max(r.Planned, r.TrainAcc.N)
		for j, acc := range r.TrainAcc.Values {
			mr := MemoRun{Run: r.finished[j], TrainAcc: acc, Reached: acc >= threshold}
			if j < len(r.TrainAcc.Seeds) {
				mr.Seed = r.TrainAcc.Seeds[j]
			}
			check.Runs = append(check.Runs, mr)
			if !mr.Reached {
				r.Unmemorised = append(r.Unmemorised, fmt.Sprintf("%s (%.1f%%)", r.finished[j], 100*acc))
			}
		}
		if i < len(sr.Rows) {
			sr.Rows[i].Unmemorised = r.Unmemorised
		}
	}
	if check == nil {
		return
	}
	sr.Memo = check
	short, n := check.short(), len(check.Runs)
	switch {
	case n == 0:
		sr.Memorisation = fmt.Sprintf("Not checked yet: none of the setting's %d ERM run(s) has finished; the check needs ≥ %.0f%% accuracy on the noisy training labels in each.", check.Planned, 100*threshold)
	case len(short) == 0:
		sr.Memorisation = fmt.Sprintf("ERM reached the memorisation threshold (≥ %.0f%% accuracy on the noisy training labels) in all %d of its runs of this setting", 100*threshold, n)
		if n < check.Planned {
			sr.Memorisation += fmt.Sprintf(" finished so far (%d planned)", check.Planned)
		}
		sr.Memorisation += "."
	default:
		sr.Memorisation = fmt.Sprintf("ERM did NOT reach the memorisation threshold (≥ %.0f%% on the noisy training labels) in %d of %d runs: %s. This section is outside the regime it is meant to test.",
			100*threshold, len(short), n, strings.Join(short, ", "))
		if sr.Verdict != NotRun {
			sr.Reason = fmt.Sprintf("not judged: ERM did not memorise in %d run(s); the comparison alone would say %s: %s", len(short), sr.Verdict, sr.Reason)
			sr.Verdict = Inconclusive
		}
	}
}
