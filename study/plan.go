package study

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"

	"github.com/tsamgo/tsam/run"
)

// Plan is a named grid of training runs and the report sections they feed.
type Plan struct {
	// Name is what `tsam study -plan` accepts.
	Name string
	// Doc says what the plan is for and how it was sized; it heads the report.
	Doc string
	// Sections are the tables and figures of the report, in order.
	Sections []Section
	// Cells are the configurations trained for each of their seeds.
	Cells []Cell
	// Picks are the configurations chosen on validation data from tuning groups.
	Picks []Pick
	// Eval sets the sharpness measurements of the runs whose cell or pick has Eval.
	Eval EvalSpec
	// Smoke marks a plan that checks the machinery only: its report gives no verdicts.
	Smoke bool
	// Paired judges accuracy claims paired by seed with Holm's correction (PairedRule);
	// otherwise by VerdictRule.
	Paired bool
	// MemoriseTrainAcc, when positive, is the final noisy-train accuracy every ERM run of a
	// label-noise section must reach: a section whose ERM runs fall short is marked and
	// its claim left inconclusive.
	MemoriseTrainAcc float64
}

// Section is one table or figure of the report.
type Section struct {
	// ID names the section (e.g. "table1a"); cells list the IDs they feed, and Claims
	// holds the paper's numbers under the same ID's kind (see Kind).
	ID string
	// Kind selects how the section is computed and drawn: one of the Kind* constants.
	Kind string
	// Title heads the section in RESULTS.md.
	Title string
	// Setup says on what data, model and budget the section runs here, and how that
	// differs from the paper.
	Setup string
	// Rows names the cells or picks of the section in display order; the first row is the
	// reference the claim compares against where the kind says so (see Kinds).
	Rows []string
	// Labels overrides the label of a row in this section (by row name).
	Labels map[string]string
	// Subject is the row the claim is about (KindBest: the row claimed to be best).
	Subject string
	// Curves draws test accuracy against epoch for every row.
	Curves bool
	// Greater lists further claims of the section, each that the first row's test accuracy
	// exceeds the second's (judged as separate claims next to the main one).
	Greater [][2]string
	// MemorisedBy names the ERM row of the section's setting when the section does not show
	// it: the plan's memorisation check (Plan.MemoriseTrainAcc) reads that row's runs.
	MemorisedBy string `json:",omitempty"`
	// EstimateSeconds is the plan's compute estimate for the section's runs (filled by
	// Estimate; not part of the plan's definition).
	EstimateSeconds float64 `json:"-"`
}

// Cell is one configuration, trained once per seed into DIR/runs/<Name>-s<seed>.
type Cell struct {
	// Name is unique in the plan, lowercase letters, digits and dashes.
	Name string
	// Label names the cell in tables and figures.
	Label string
	// Config is the run configuration; its Seed is replaced by each of Seeds.
	Config run.Config
	// Extra sets run.Config fields by their JSON name, for fields this build's run.Config
	// may not have yet (a cell whose field is missing is reported as not available).
	Extra map[string]any
	// Seeds are the seeds to train (at least one).
	Seeds []int64
	// Group, when set, makes the cell a tuning candidate of that group: a Pick chooses the
	// candidate with the best mean final validation accuracy.
	Group string
	// Eval asks for the sharpness measurements after training.
	Eval bool
}

// Pick is the candidate of a tuning group with the best mean final validation accuracy
// over its seeds, trained for Seeds. A seed the winning candidate already ran reuses that
// run; the other seeds train into DIR/runs/<Name>-s<seed>.
type Pick struct {
	Name  string
	Label string
	Group string
	Seeds []int64
	Eval  bool
}

// EvalSpec configures the sharpness measurements (package sharpness) of evaluated runs.
type EvalSpec struct {
	// TrainExamples and TestExamples size the fixed subsets measured on.
	TrainExamples, TestExamples int
	// Batch is the number of examples per graph evaluation.
	Batch int
	// FlatnessDraws is M, the draws of ε per δ.
	FlatnessDraws int
	// EigenK is the number of top Hessian eigenvalues; LanczosSteps caps the Lanczos steps
	// (0: the sharpness package's default).
	EigenK, LanczosSteps int
	// Rho and T set the SAM and TSAM objectives of Table 3; SAMSteps and Samples their
	// ascent steps and TSAM samples.
	Rho, T            float64
	SAMSteps, Samples int
	// Estimator and R say how the TSAM objective's ε are drawn (sharpness.EstimatorSampler
	// with random-start radius R, the radius the TSAM runs trained with; empty Estimator is
	// the sampler). Plans recorded before these fields existed measured in the ρ ball; the
	// spec's fingerprint differs, so their measurements are taken again.
	Estimator string  `json:",omitempty"`
	R         float64 `json:",omitempty"`
	// Seed fixes every random draw of the measurements.
	Seed uint64
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Validate checks the plan's structure: unique, folder-safe names, seeds, tuning groups
// with candidates, sections naming existing rows. Run configurations are checked by the
// run package when each run starts.
func (p *Plan) Validate() error {
	names := map[string]bool{}
	groups := map[string]bool{}
	add := func(kind, name string, seeds []int64) error {
		if !namePattern.MatchString(name) {
			return fmt.Errorf("study plan %s: %s name %q must be lowercase letters, digits and dashes", p.Name, kind, name)
		}
		if names[name] {
			return fmt.Errorf("study plan %s: two cells or picks are named %q; names must be unique", p.Name, name)
		}
		names[name] = true
		if len(seeds) == 0 {
			return fmt.Errorf("study plan %s: %s %q has no seeds", p.Name, kind, name)
		}
		seen := map[int64]bool{}
		for _, s := range seeds {
			if seen[s] {
				return fmt.Errorf("study plan %s: %s %q lists seed %d twice", p.Name, kind, name, s)
			}
			seen[s] = true
		}
		return nil
	}
	for _, c := range p.Cells {
		if err := add("cell", c.Name, c.Seeds); err != nil {
			return err
		}
		if c.Group != "" {
			groups[c.Group] = true
		}
	}
	for _, pk := range p.Picks {
		if err := add("pick", pk.Name, pk.Seeds); err != nil {
			return err
		}
		if !groups[pk.Group] {
			return fmt.Errorf("study plan %s: pick %q chooses from group %q, which has no candidate cells", p.Name, pk.Name, pk.Group)
		}
	}
	for _, s := range p.Sections {
		if !slices.Contains(Kinds, s.Kind) {
			return fmt.Errorf("study plan %s: section %s has unknown kind %q", p.Name, s.ID, s.Kind)
		}
		if s.MemorisedBy != "" && !names[s.MemorisedBy] {
			return fmt.Errorf("study plan %s: section %s is memorised by %q, which is no cell or pick", p.Name, s.ID, s.MemorisedBy)
		}
		for _, r := range s.Rows {
			if !names[r] {
				return fmt.Errorf("study plan %s: section %s lists row %q, which is no cell or pick", p.Name, s.ID, r)
			}
		}
	}
	return nil
}

// cell returns the cell named name, or nil.
func (p *Plan) cell(name string) *Cell {
	for i := range p.Cells {
		if p.Cells[i].Name == name {
			return &p.Cells[i]
		}
	}
	return nil
}

// pick returns the pick named name, or nil.
func (p *Plan) pick(name string) *Pick {
	for i := range p.Picks {
		if p.Picks[i].Name == name {
			return &p.Picks[i]
		}
	}
	return nil
}

// candidates returns the cells of a tuning group in plan order.
func (p *Plan) candidates(group string) []*Cell {
	var out []*Cell
	for i := range p.Cells {
		if p.Cells[i].Group == group {
			out = append(out, &p.Cells[i])
		}
	}
	return out
}

// resolve returns the cell's configuration for seed, with Extra applied. A field of Extra
// that run.Config does not have is an error naming it.
func resolve(base run.Config, extra map[string]any, seed int64) (run.Config, error) {
	base.Seed = seed
	if len(extra) == 0 {
		return base, nil
	}
	m, err := configMap(base)
	if err != nil {
		return base, err
	}
	for k, v := range extra {
		if _, ok := m[k]; !ok {
			return base, fmt.Errorf("this build's run.Config has no field %q (tsam train has no -%s flag yet)", k, k)
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return base, err
	}
	var out run.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return base, fmt.Errorf("setting %v on run.Config: %w", extra, err)
	}
	return out, nil
}

// configMap is the JSON object of a run.Config.
func configMap(c run.Config) (map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	err = json.Unmarshal(b, &m)
	return m, err
}

// runID names the run folder (under RunsDir) of a cell or pick and a seed: NAME-sSEED.
func runID(name string, seed int64) string { return fmt.Sprintf("%s-s%d", name, seed) }

// resultFields drops the fields of a run.Config that do not change its result (where it
// runs, how often it checkpoints, and in which folder its data file lies), so fingerprints
// compare experiments only and a run folder trained on one machine is recognised on
// another whose shared data sits elsewhere (a CI checkout, $TSAM_SHARED_DATA). The data
// file's name is kept: it names the data set's release (e.g. cifar10-jpeg.tar.gz). Unlike
// run's own resume check, MaxSteps is kept: a study run cut at another step count is a
// different result.
func resultFields(c run.Config) run.Config {
	c = c.Canonical() // e.g. optimizer "sgd" and "" are the same experiment
	c.Backend = ""
	c.CheckpointEvery = 0
	if c.DataDir != "" {
		c.DataDir = filepath.Base(c.DataDir)
	}
	return c
}

// Fingerprint identifies the experiment a configuration defines: the SHA-256 of the JSON
// of its result fields (keys sorted), first 16 hex digits.
func Fingerprint(c run.Config) (string, error) {
	m, err := configMap(resultFields(c))
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(m) // map keys are sorted by encoding/json
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16], nil
}

// firstDifference names the first result field (sorted JSON names) in which a and b differ,
// with both values, for messages.
func firstDifference(a, b run.Config) string {
	ma, errA := configMap(resultFields(a))
	mb, errB := configMap(resultFields(b))
	if errA != nil || errB != nil {
		return "unreadable configuration"
	}
	keys := make([]string, 0, len(ma))
	for k := range ma {
		keys = append(keys, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if fmt.Sprint(ma[k]) != fmt.Sprint(mb[k]) {
			return fmt.Sprintf("%s: %v there, %v in the plan", k, ma[k], mb[k])
		}
	}
	return "no field differs"
}
