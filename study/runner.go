package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/run"
)

// File and folder names of a study folder DIR:
//
//	DIR/runs/<row>-s<seed>/         one run folder per trained (cell or pick, seed)
//	DIR/runs/<...>/study.json      the run's Mark: the configuration fingerprint it belongs to
//	DIR/runs/<...>/study-eval.json sharpness measurements (cells and picks with Eval)
//	DIR/report/                    RESULTS.md, results.json and the figures
const (
	RunsDir   = "runs"
	ReportDir = "report"
	MarkFile  = "study.json"
	EvalFile  = "study-eval.json"
)

// Mark is study.json in a run folder: which experiment the folder holds. It is written
// (atomically) before the run starts, so a folder of the study always says what it is for.
type Mark struct {
	Fingerprint string     `json:"fingerprint"`
	Plan        string     `json:"plan"`
	Row         string     `json:"row"`
	Seed        int64      `json:"seed"`
	Config      run.Config `json:"config"`
}

// Options controls Execute.
type Options struct {
	// Log receives one line per run and stage (which run, i/N, estimate, ETA); nil discards.
	Log io.Writer
	// Progress receives the redrawn one-line progress of the run in training; nil: none.
	Progress io.Writer
	// DryRun lists the runs and the estimate without training or measuring anything.
	DryRun bool
	// ReportOnly writes the report from the runs that exist, training and measuring
	// nothing (for a partial report while the study runs elsewhere, or to republish).
	ReportOnly bool
	// ReportDir is where the report goes; "" means DIR/report.
	ReportDir string
	// Publish, when set, also writes the report as Publish/RESULTS.md with its files in
	// Publish/results/ (e.g. "docs").
	Publish string
	// Command is the command line that regenerates the report, quoted in it; "" gives
	// `tsam study -plan NAME -out DIR`.
	Command string
}

// Failure is a run, pick or measurement that did not complete.
type Failure struct {
	Run string `json:"run"`
	Err string `json:"error"`
	// Unavailable is set when run refused the run as bad input (*run.InputError): a
	// configuration this build cannot train (a text data set, a missing data folder), or a
	// damaged checkpoint; the error says which. Other failures are crashes.
	Unavailable bool `json:"unavailable"`
}

// Outcome counts what Execute did.
type Outcome struct {
	Trained, Resumed, Skipped, Measured int
	Failures                            []Failure
	// ReportDir is where the report was written ("" on a dry run).
	ReportDir string
	// EstimateSeconds is the plan's total compute estimate (see Estimate).
	EstimateSeconds float64
}

// job is one run of the study: a (cell or pick, seed) and its folder.
type job struct {
	id   string // folder name under runs/
	row  string // cell or pick name
	seed int64
	cfg  run.Config
	fp   string
	eval bool
	// reused is set for a pick's seed that the winning candidate already ran.
	reused bool
	// err is set when the configuration cannot be built in this build (see Failure).
	err error
	est float64 // estimated seconds
}

// folderState is what a run folder holds relative to the job planned for it.
type folderState int

const (
	stateFresh  folderState = iota // nothing trained: start (or restart) the run
	stateResume                    // a checkpoint of this very configuration: continue it
	stateDone                      // finished with this configuration: skip
)

// Execute runs the plan in dir: every cell's runs, the picks chosen on validation data and
// their runs, the sharpness measurements, then the report. A run whose summary exists
// with the planned configuration is skipped, one with a checkpoint is resumed, so the study
// can be killed at any moment and started again, losing at most the run in progress since
// its last checkpoint. A run folder holding another configuration (the plan changed) is
// never reused: Execute refuses before training anything and names the folder and the
// field that differs. Runs that fail are listed in the Outcome and the report, and the
// study goes on with the others.
func Execute(p *Plan, dir string, opts Options) (*Outcome, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("study: an output folder is needed, e.g. -out study-paper")
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	e := &executor{plan: p, dir: dir, opts: opts, log: log, out: &Outcome{}}
	return e.execute()
}

// executor carries one Execute call.
type executor struct {
	plan *Plan
	dir  string
	opts Options
	log  io.Writer
	out  *Outcome
	// progress bookkeeping for the ETA
	total, doneEst, doneActual float64
	index, count               int
}

func (e *executor) execute() (*Outcome, error) {
	jobs := e.cellJobs()
	est := Estimate(e.plan)
	e.out.EstimateSeconds = est.Total
	fmt.Fprintf(e.log, "study %s in %s: %d cells, %d picks, estimated %s of training (%s)\n",
		e.plan.Name, e.dir, len(e.plan.Cells), len(e.plan.Picks), fmtDuration(est.Total), est.Basis)
	if e.opts.DryRun {
		fmt.Fprint(e.log, fmtEstimate(est))
		for _, j := range jobs {
			fmt.Fprintf(e.log, "  %s: %s, %s\n", j.id, describe(j.cfg), fmtDuration(j.est))
		}
		return e.out, nil
	}
	if e.opts.ReportOnly {
		return e.report()
	}
	release, err := lock(e.dir)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := e.checkFolders(jobs); err != nil {
		return nil, err
	}
	e.total, e.count = est.Total, len(jobs)+e.pickRunCount()
	// Runs finished in an earlier sitting are measured first: a sitting that ends before the
	// plan does then leaves the report its measurements rather than only more training.
	e.measureAll(jobs)
	// Tuning candidates first, then the picks chosen from them, then the other cells: the
	// tuned rows (the plan's main column) get their every seed before the rest of the plan,
	// so a plan stopped part-way has its central comparison complete.
	tuning, rest := e.splitTuning(jobs)
	e.trainAll(tuning)
	pickJobs, err := e.pickJobs()
	if err != nil {
		return nil, err
	}
	e.trainAll(pickJobs)
	e.trainAll(rest)
	e.measureAll(append(jobs, pickJobs...))
	return e.report()
}

// cellJobs lists the runs of every cell in plan order.
func (e *executor) cellJobs() []*job {
	var jobs []*job
	for _, c := range e.plan.Cells {
		for _, seed := range c.Seeds {
			j := &job{id: runID(c.Name, seed), row: c.Name, seed: seed, eval: c.Eval}
			j.cfg, j.err = resolve(c.Config, c.Extra, seed)
			if j.err == nil {
				j.fp, j.err = Fingerprint(j.cfg)
				j.est = estimateRun(j.cfg)
			}
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// splitTuning separates the runs of tuning candidates (cells with a Group) from the others,
// each in plan order.
func (e *executor) splitTuning(jobs []*job) (tuning, rest []*job) {
	group := make(map[string]bool, len(e.plan.Cells))
	for _, c := range e.plan.Cells {
		group[c.Name] = c.Group != ""
	}
	for _, j := range jobs {
		if group[j.row] {
			tuning = append(tuning, j)
		} else {
			rest = append(rest, j)
		}
	}
	return tuning, rest
}

// pickRunCount is the number of pick runs the plan may train (for i/N).
func (e *executor) pickRunCount() int {
	n := 0
	for _, pk := range e.plan.Picks {
		n += len(pk.Seeds)
	}
	return n
}

// checkFolders refuses, before anything is trained, when a run folder holds another
// configuration than the plan's.
func (e *executor) checkFolders(jobs []*job) error {
	var conflicts []string
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		if _, err := inspect(e.runDir(j), j); err != nil {
			conflicts = append(conflicts, err.Error())
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("study: %d run folder(s) do not match the plan, and the study never mixes results of different configurations:\n  %s\n"+
			"delete or move those folders to retrain them with the plan's configuration, or study into a new -out folder",
			len(conflicts), strings.Join(conflicts, "\n  "))
	}
	return nil
}

func (e *executor) runDir(j *job) string { return filepath.Join(e.dir, RunsDir, j.id) }

// inspect reads the run folder of j and decides what to do with it. An error means the
// folder holds something else than j's configuration.
func inspect(dir string, j *job) (folderState, error) {
	mark, err := readMark(dir)
	if os.IsNotExist(err) {
		if hasRunFiles(dir) {
			return 0, fmt.Errorf("%s holds a run that tsam study did not start (no %s)", dir, MarkFile)
		}
		return stateFresh, nil
	}
	if err != nil {
		return 0, err
	}
	if mark.Fingerprint != j.fp {
		return 0, fmt.Errorf("%s was trained for another configuration (%s)", dir, firstDifference(mark.Config, j.cfg))
	}
	if sum, err := run.ReadSummary(dir); err == nil {
		fp, err := Fingerprint(sum.Config)
		if err != nil || fp != j.fp {
			return 0, fmt.Errorf("%s has a summary of another configuration (%s)", dir, firstDifference(sum.Config, j.cfg))
		}
		if sum.Steps >= sum.TotalSteps {
			return stateDone, nil
		}
	}
	if cfg, err := run.ReadConfig(dir); err == nil {
		if fp, _ := Fingerprint(cfg); fp != j.fp {
			return 0, fmt.Errorf("%s has a config.json of another configuration (%s)", dir, firstDifference(cfg, j.cfg))
		}
		if hasCheckpoint(dir) {
			return stateResume, nil
		}
	}
	return stateFresh, nil
}

func readMark(dir string) (*Mark, error) {
	b, err := os.ReadFile(filepath.Join(dir, MarkFile))
	if err != nil {
		return nil, err
	}
	var m Mark
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MarkFile), err)
	}
	return &m, nil
}

// hasRunFiles reports whether dir holds any file of a run folder.
func hasRunFiles(dir string) bool {
	for _, name := range []string{run.ConfigFile, run.SummaryFile, run.MetricsJSON, run.CheckpointDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// hasCheckpoint reports whether the run folder has a GoMLX checkpoint to resume from.
func hasCheckpoint(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, run.CheckpointDir, "checkpoint-*.json"))
	return len(matches) > 0
}

// trainAll trains (or skips, or resumes) each job in order.
func (e *executor) trainAll(jobs []*job) {
	for _, j := range jobs {
		e.index++
		if j.err != nil {
			e.failJob(j, j.err, true)
			continue
		}
		if j.reused {
			fmt.Fprintf(e.log, "[%d/%d] %s: seed %d is the chosen candidate's run %s\n", e.index, e.count, j.row, j.seed, j.id)
			continue
		}
		e.trainOne(j)
		// Measured at once: checkpoints stay on the machine that trained (they are not
		// committed), while study-eval.json travels with the run's other files.
		e.measureAll([]*job{j})
	}
}

// trainOne brings one run to completion.
func (e *executor) trainOne(j *job) {
	dir := e.runDir(j)
	state, err := inspect(dir, j)
	if err != nil {
		e.failJob(j, err, false)
		return
	}
	if state == stateDone {
		e.out.Skipped++
		e.total -= j.est
		fmt.Fprintf(e.log, "[%d/%d] %s: done already, skipped\n", e.index, e.count, j.id)
		return
	}
	verb := "training"
	if state == stateResume {
		verb = "resuming"
	}
	fmt.Fprintf(e.log, "[%d/%d] %s %s (%s), estimate %s, study ETA %s\n", e.index, e.count, verb, j.id, describe(j.cfg), fmtDuration(j.est), fmtDuration(e.eta()))
	if state == stateFresh {
		mark := Mark{Fingerprint: j.fp, Plan: e.plan.Name, Row: j.row, Seed: j.seed, Config: j.cfg}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			e.failJob(j, err, false)
			return
		}
		if err := atomicfile.WriteJSON(filepath.Join(dir, MarkFile), mark); err != nil {
			e.failJob(j, err, false)
			return
		}
	}
	start := time.Now()
	sum, err := run.Train(j.cfg, dir, run.Options{Resume: state == stateResume, Force: state == stateFresh, Log: e.log, Progress: e.opts.Progress})
	if err != nil {
		e.failJob(j, err, run.IsInputError(err))
		return
	}
	took := time.Since(start).Seconds()
	e.doneEst += j.est
	e.doneActual += took
	if state == stateResume {
		e.out.Resumed++
	} else {
		e.out.Trained++
	}
	fmt.Fprintf(e.log, "[%d/%d] %s finished in %s: test accuracy %.4f\n", e.index, e.count, j.id, fmtDuration(took), sum.Final.TestAcc)
}

// eta scales the estimate of the runs not yet trained by how the finished ones compared
// with their estimates.
func (e *executor) eta() float64 {
	left := e.total - e.doneEst
	if e.doneEst > 0 {
		left *= e.doneActual / e.doneEst
	}
	return max(left, 0)
}

// failJob records a failed run and takes its estimate out of the ETA.
func (e *executor) failJob(j *job, err error, unavailable bool) {
	e.total -= j.est
	e.fail(j.id, err, unavailable)
}

func (e *executor) fail(id string, err error, unavailable bool) {
	e.out.Failures = append(e.out.Failures, Failure{Run: id, Err: err.Error(), Unavailable: unavailable})
	kind := "FAILED"
	if unavailable {
		kind = "refused by run (bad input)"
	}
	fmt.Fprintf(e.log, "[%d/%d] %s %s: %v\n", e.index, e.count, id, kind, err)
}

// pickJobs chooses each pick's winner on validation accuracy and lists its runs. Pick
// folders of another configuration (the winner changed) are refused like cell folders.
func (e *executor) pickJobs() ([]*job, error) {
	var jobs []*job
	for _, pk := range e.plan.Picks {
		choice, err := choose(e.plan, e.dir, pk.Group)
		if err != nil {
			for _, seed := range pk.Seeds {
				jobs = append(jobs, &job{id: runID(pk.Name, seed), row: pk.Name, seed: seed, err: err})
			}
			continue
		}
		fmt.Fprintf(e.log, "pick %s: %s chosen on validation accuracy %.4f\n", pk.Name, choice.Cell.Name, choice.ValAcc)
		for _, seed := range pk.Seeds {
			jobs = append(jobs, pickJob(pk, choice, seed))
		}
	}
	if err := e.checkFolders(jobs); err != nil {
		return nil, err
	}
	return jobs, nil
}

// pickJob is the run of a pick for one seed: the winner's own run when it has the seed.
func pickJob(pk Pick, choice *Choice, seed int64) *job {
	c := choice.Cell
	for _, s := range c.Seeds {
		if s == seed {
			j := &job{id: runID(c.Name, seed), row: pk.Name, seed: seed, eval: pk.Eval, reused: true}
			j.cfg, j.err = resolve(c.Config, c.Extra, seed)
			if j.err == nil {
				j.fp, j.err = Fingerprint(j.cfg)
			}
			return j
		}
	}
	j := &job{id: runID(pk.Name, seed), row: pk.Name, seed: seed, eval: pk.Eval}
	j.cfg, j.err = resolve(c.Config, c.Extra, seed)
	if j.err == nil {
		j.fp, j.err = Fingerprint(j.cfg)
		j.est = estimateRun(j.cfg)
	}
	return j
}

// Choice is the outcome of tuning one group on validation data.
type Choice struct {
	Cell *Cell
	// ValAcc is the winner's mean final validation accuracy; Candidates has every
	// candidate's, by cell name.
	ValAcc     float64
	Candidates map[string]float64
}

// choose returns the candidate of group with the best mean final validation accuracy over
// its seeds (the first in plan order on ties). Every candidate run must be finished.
func choose(p *Plan, dir, group string) (*Choice, error) {
	ch := &Choice{Candidates: map[string]float64{}}
	for _, c := range p.candidates(group) {
		sum := 0.0
		for _, seed := range c.Seeds {
			s, err := candidateSummary(dir, c, seed)
			if err != nil {
				return nil, fmt.Errorf("tuning group %s cannot choose yet: candidate %s seed %d: %v", group, c.Name, seed, err)
			}
			if s.Final.ValAcc == nil {
				return nil, fmt.Errorf("tuning group %s: candidate %s has no validation accuracy; give its cells a validation split (Config.Val > 0)", group, c.Name)
			}
			sum += *s.Final.ValAcc
		}
		acc := sum / float64(len(c.Seeds))
		ch.Candidates[c.Name] = acc
		if ch.Cell == nil || acc > ch.ValAcc {
			ch.Cell, ch.ValAcc = c, acc
		}
	}
	return ch, nil
}

// candidateSummary returns the summary of a finished candidate run, refusing one of
// another configuration than the plan's.
func candidateSummary(dir string, c *Cell, seed int64) (*run.Summary, error) {
	cfg, err := resolve(c.Config, c.Extra, seed)
	if err != nil {
		return nil, err
	}
	want, err := Fingerprint(cfg)
	if err != nil {
		return nil, err
	}
	s, err := finishedSummary(filepath.Join(dir, RunsDir, runID(c.Name, seed)))
	if err != nil {
		return nil, err
	}
	if got, _ := Fingerprint(s.Config); got != want {
		return nil, fmt.Errorf("its run holds another configuration than the plan's (%s)", firstDifference(s.Config, cfg))
	}
	return s, nil
}

// finishedSummary returns the summary of a finished run folder.
func finishedSummary(dir string) (*run.Summary, error) {
	s, err := run.ReadSummary(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s has not finished (no %s)", dir, run.SummaryFile)
		}
		return nil, err
	}
	if s.Steps < s.TotalSteps {
		return nil, fmt.Errorf("%s stopped at step %d of %d", dir, s.Steps, s.TotalSteps)
	}
	return s, nil
}

// describe is a short description of a configuration for progress lines.
func describe(c run.Config) string {
	s := fmt.Sprintf("%s %s on %s", c.Method, c.Model, c.Data)
	if c.Method == "tsam" {
		s += fmt.Sprintf(" t=%g s=%d %s", c.T, c.S, c.Sampler)
	}
	return s
}

// fmtDuration prints seconds as a rounded duration.
func fmtDuration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
