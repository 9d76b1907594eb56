package study

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/tsamgo/tsam/run"
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
	Unused        int       `json:"unused_runs"`
	UnusedSeconds float64   `json:"unused_train_seconds"`
	LastFinished  string    `json:"last_finished"`
	Failures      []Failure `json:"failures,omitempty"`
	VerdictRule   string    `json:"verdict_rule"`
	// Smoke marks a smoke plan's report: no verdicts.
	Smoke bool `json:"smoke,omitempty"`
}

// Machine describes where the runs ran: this machine's CPU, and the software the runs'
// summaries record.
type Machine struct {
	CPU      string   `json:"cpu"`
	Cores    int      `json:"cores"`
	OS       string   `json:"os"`
	Go       string   `json:"go"`
	GoMLX    string   `json:"gomlx"`
	Backends []string `json:"backends"`
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
	Memorisation string `json:"memorisation,omitempty"`
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
	// Missing lists the runs that have not finished or failed.
	Missing []string `json:"missing,omitempty"`
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
}

// CurvePoint is the test accuracy after an epoch over the seeds that reached it.
type CurvePoint struct {
	Epoch   int  `json:"epoch"`
	TestAcc Stat `json:"test_acc"`
}

// FlatPoint is the flatness at one δ over seeds: the mean and the variance of L(θ+ε).
type FlatPoint struct {
	Delta    float64 `json:"delta"`
	Mean     Stat    `json:"mean"`
	Variance Stat    `json:"variance"`
}

// runData is what the report reads from one run folder.
type runData struct {
	dir     string
	summary *run.Summary
	metrics []run.EpochMetrics
	eval    *EvalRecord
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
		}
		var memo []RowResult // the setting's ERM row when the section does not show it
		if s.MemorisedBy != "" && !slices.Contains(s.Rows, s.MemorisedBy) {
			row, _ := collectRow(p, dir, s.MemorisedBy)
			memo = append(memo, row)
		}
		decide(p, s, &sr, memo...)
		res.Sections = append(res.Sections, sr)
	}
	res.Unused, res.UnusedSeconds = unusedRuns(p, dir, used)
	backends := map[string]bool{}
	for _, r := range used {
		res.Runs++
		res.TrainSeconds += r.summary.WallSeconds
		if t := r.summary.FinishedAt.UTC().Format("2006-01-02 15:04 UTC"); t > res.LastFinished {
			res.LastFinished = t
		}
		backends[r.summary.Backend] = true
		res.Machine.Go, res.Machine.GoMLX = r.summary.Versions.Go, r.summary.Versions.GoMLX
	}
	for b := range backends {
		res.Machine.Backends = append(res.Machine.Backends, b)
	}
	sort.Strings(res.Machine.Backends)
	return res, nil
}

// unusedRuns counts the finished runs of the plan's cells that are not in used (keyed by
// the run folder relative to dir, as collectRow keys them) and sums their training wall time.
func unusedRuns(p *Plan, dir string, used map[string]*runData) (n int, seconds float64) {
	for _, c := range p.Cells {
		for _, seed := range c.Seeds {
			rel := filepath.Join(RunsDir, runID(c.Name, seed))
			if _, ok := used[rel]; ok {
				continue
			}
			if sum, err := finishedSummary(filepath.Join(dir, rel)); err == nil {
				n++
				seconds += sum.WallSeconds
			}
		}
	}
	return n, seconds
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
	row := RowResult{Name: name, Label: label}
	if err != nil {
		row.Missing = []string{err.Error()}
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
		if err != nil {
			row.Missing = append(row.Missing, fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		d.dir = rel
		datas = append(datas, d)
	}
	summarise(&row, datas)
	return row, datas
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
	for _, r := range runs {
		f := r.summary.Final
		acc, loss = append(acc, f.TestAcc), append(loss, f.TestLoss)
		if row.TestAccBySeed == nil {
			row.TestAccBySeed = map[int64]float64{}
		}
		row.TestAccBySeed[r.summary.Config.Seed] = f.TestAcc
		best, train = append(best, bestTestAcc(r)), append(train, f.TrainAcc)
		row.finished = append(row.finished, r.dir)
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
	row.TestAcc, row.TestLoss, row.ValAcc = newStat(acc), newStat(loss), newStat(val)
	row.BestTestAcc, row.TrainAcc = newStat(best), newStat(train)
	row.WallSeconds, row.StepSeconds, row.Steps, row.GradEvals = newStat(wall), newStat(step), newStat(steps), newStat(evals)
	row.Curve = curve(runs)
	summariseEval(row, runs)
}

// curve averages test accuracy per epoch over the runs (complete epochs only).
func curve(runs []*runData) []CurvePoint {
	byEpoch := map[int][]float64{}
	for _, r := range runs {
		for _, m := range r.metrics {
			if !m.Partial {
				byEpoch[m.Epoch] = append(byEpoch[m.Epoch], m.TestAcc)
			}
		}
	}
	var out []CurvePoint
	for e, vs := range byEpoch {
		out = append(out, CurvePoint{Epoch: e, TestAcc: newStat(vs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Epoch < out[j].Epoch })
	return out
}

// summariseEval averages the sharpness measurements of the runs that have them.
func summariseEval(row *RowResult, runs []*runData) {
	flat := map[float64][2][]float64{}
	var eig [][]float64
	var trainObj, testObj [3][]float64
	for _, r := range runs {
		if r.eval == nil {
			continue
		}
		rep := r.eval.Report
		if rep.Flatness != nil {
			for _, pt := range rep.Flatness.Points {
				v := flat[pt.Delta]
				flat[pt.Delta] = [2][]float64{append(v[0], pt.Mean), append(v[1], pt.Variance)}
			}
		}
		if rep.Hessian != nil {
			for i, val := range rep.Hessian.Values() {
				if i >= len(eig) {
					eig = append(eig, nil)
				}
				eig[i] = append(eig[i], val)
			}
		}
		if o := rep.TrainObjectives; o != nil {
			trainObj = [3][]float64{append(trainObj[0], o.ERM), append(trainObj[1], o.SAM), append(trainObj[2], o.TSAM)}
		}
		if o := rep.TestObjectives; o != nil {
			testObj = [3][]float64{append(testObj[0], o.ERM), append(testObj[1], o.SAM), append(testObj[2], o.TSAM)}
		}
	}
	for d, v := range flat {
		row.Flatness = append(row.Flatness, FlatPoint{Delta: d, Mean: newStat(v[0]), Variance: newStat(v[1])})
	}
	sort.Slice(row.Flatness, func(i, j int) bool { return row.Flatness[i].Delta < row.Flatness[j].Delta })
	for _, vs := range eig {
		row.Eigen = append(row.Eigen, newStat(vs))
	}
	if len(trainObj[0]) > 0 {
		row.TrainObj = []Stat{newStat(trainObj[0]), newStat(trainObj[1]), newStat(trainObj[2])}
	}
	if len(testObj[0]) > 0 {
		row.TestObj = []Stat{newStat(testObj[0]), newStat(testObj[1]), newStat(testObj[2])}
	}
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
	if p.Paired {
		if v, reason, comps, ok := judgePaired(s, sr.Rows); ok {
			sr.Verdict, sr.Reason, sr.Comparisons, sr.Subclaims = v, reason, comps, nil
			pairedGreater(s, sr)
		}
	}
	if p.MemoriseTrainAcc > 0 {
		checkMemorisation(p.MemoriseTrainAcc, sr, memo...)
	}
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
	for _, g := range s.Greater {
		comps := pairedFamily([][2]RowResult{{byName[g[0]], byName[g[1]]}}, 1)
		v, reason := pairedVerdict(KindBeatsRef, comps)
		sr.Comparisons = append(sr.Comparisons, comps...)
		subs = append(subs, Subclaim{Claim: byName[g[0]].Label + " > " + byName[g[1]].Label, Verdict: v, Reason: reason})
	}
	sr.Subclaims, sr.Verdict, sr.Reason = subs, overall(subs), "see the claims below"
}

// checkMemorisation marks the ERM rows of a label-noise section whose runs ended below the
// memorisation threshold, and leaves the section's claim inconclusive if any did: the
// column would not be in the regime it is meant to test.
func checkMemorisation(threshold float64, sr *SectionResult, memo ...RowResult) {
	var short []string
	checked := 0
	rows := append(append([]RowResult(nil), sr.Rows...), memo...)
	for i := range rows {
		r := &rows[i]
		if r.Method != "erm" || r.Noise == 0 {
			continue
		}
		for j, acc := range r.TrainAcc.Values {
			checked++
			if acc < threshold {
				r.Unmemorised = append(r.Unmemorised, fmt.Sprintf("%s (%.1f%%)", r.finished[j], 100*acc))
			}
		}
		short = append(short, r.Unmemorised...)
		if i < len(sr.Rows) {
			sr.Rows[i].Unmemorised = r.Unmemorised
		}
	}
	if checked == 0 {
		return
	}
	if len(short) == 0 {
		sr.Memorisation = fmt.Sprintf("ERM reached the memorisation threshold (≥ %.0f%% accuracy on the noisy training labels) in all %d of its runs of this setting.", 100*threshold, checked)
		return
	}
	sr.Memorisation = fmt.Sprintf("ERM did NOT reach the memorisation threshold (≥ %.0f%% on the noisy training labels) in %d of %d runs: %s. This section is outside the regime it is meant to test.",
		100*threshold, len(short), checked, strings.Join(short, ", "))
	if sr.Verdict != NotRun {
		sr.Reason = fmt.Sprintf("not judged: ERM did not memorise in %d run(s); the comparison alone would say %s: %s", len(short), sr.Verdict, sr.Reason)
		sr.Verdict = Inconclusive
	}
}
