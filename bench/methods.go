package bench

// The method benchmark behind `tsam bench methods`: each method's train step against ERM's,
// measured in the same run on the same model and batch.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"

	"github.com/tsamgo/tsam/backend"
	modelfns "github.com/tsamgo/tsam/models"
	"github.com/tsamgo/tsam/sam"
)

// MethodSetup is the model and batch TimeMethods times every method on.
type MethodSetup struct {
	Backend        backends.Backend
	Model          train.ModelFn
	Loss           train.LossFn
	Inputs, Labels []*tensors.Tensor
	// Warmup steps (the first compiles the graph) and timed Steps per method.
	Warmup, Steps int
	// Seed of every method's context (same initial weights for all).
	Seed int64
	// AfterRound, when set, runs after each timed round (one step of every case), outside
	// the timings: tsam bench engine steps its PyTorch peer there.
	AfterRound func() error
}

// MethodCase names a configuration to time.
type MethodCase struct {
	Name   string
	Config sam.Config
}

// MethodRow is one method's measurement. Ratios are to the first case (normally ERM).
type MethodRow struct {
	Name      string        `json:"name"`
	GradEvals int           `json:"grad_evals"` // forward+backward passes per step (sam.Config.GradEvalsPerStep)
	Forwards  int           `json:"forwards"`   // extra forward-only passes per step
	StepTime  time.Duration `json:"step_ns"`    // median wall time over the timed steps
	CPUTime   time.Duration `json:"cpu_ns"`     // median process CPU time (all threads) per step
	TimeRatio float64       `json:"time_ratio"` // StepTime / first case's StepTime
	CPURatio  float64       `json:"cpu_ratio"`  // CPUTime / first case's CPUTime
	EvalRatio float64       `json:"eval_ratio"` // GradEvals / first case's GradEvals
}

// Overhead is TimeRatio/EvalRatio: 1 means the extra passes cost exactly what the passes
// themselves cost; the project's target is ≤ 1.15.
func (r MethodRow) Overhead() float64 { return r.TimeRatio / r.EvalRatio }

// CPUOverhead is CPURatio/EvalRatio, the same measure in CPU time, which the load of other
// processes on a shared machine does not distort.
func (r MethodRow) CPUOverhead() float64 { return r.CPURatio / r.EvalRatio }

// DefaultMethodCases are ERM, SAM, TSAM s = 3 and 5 (practical sampler, Gaussian start), TSAM
// s = 3 with the uniform start and TSAM with HMC N = 2 (s = 3), each from sam.DefaultConfig,
// plus PGN and ESAM2, whose extra passes draw no random noise (they separate the cost of the
// passes from that of the noise).
func DefaultMethodCases() []MethodCase {
	tsam3 := sam.DefaultConfig(sam.TSAM)
	tsam5 := tsam3
	tsam5.S = 5
	uniform := tsam3
	uniform.Noise = sam.NoiseUniform
	hmc := tsam3
	hmc.Sampler, hmc.HMCSteps = sam.SamplerHMC, 2
	return []MethodCase{
		{"erm", sam.DefaultConfig(sam.ERM)},
		{"sam", sam.DefaultConfig(sam.SAM)},
		{"tsam s=3", tsam3},
		{"tsam s=5", tsam5},
		{"tsam s=3 uniform start", uniform},
		{"tsam hmc N=2 s=3", hmc},
		// Diagnostics: extra passes without any random noise.
		{"pgn", sam.DefaultConfig(sam.PGN)},
		{"esam2", sam.DefaultConfig(sam.ESAM2)},
	}
}

// TimeMethods times one train step of each case, in one run on the same model and batch,
// and returns a row per case with the ratios to the first case. The cases' steps are
// interleaved (one step of each case per round) so that a change in machine load over the
// run affects every case alike; each StepTime is the median over the rounds.
func TimeMethods(setup MethodSetup, cases []MethodCase) ([]MethodRow, error) {
	if len(cases) == 0 || setup.Steps < 1 || setup.Model == nil || len(setup.Inputs) == 0 || setup.Backend == nil {
		return nil, errors.New("bench: TimeMethods needs a backend, a model, inputs, at least one case and Steps ≥ 1")
	}
	trainers := make([]*train.Trainer, len(cases))
	for i, c := range cases {
		opt, err := sam.New(c.Config)
		if err != nil {
			return nil, fmt.Errorf("bench: method %s: %w", c.Name, err)
		}
		ctx := context.New()
		ctx.SetParam(context.ParamInitialSeed, setup.Seed)
		trainers[i] = sam.NewTrainer(setup.Backend, ctx, setup.Model, setup.Loss, opt, nil, nil)
		for range max(setup.Warmup, 1) { // the first step compiles the graph
			if _, err := trainers[i].TrainStep(nil, setup.Inputs, setup.Labels); err != nil {
				return nil, fmt.Errorf("bench: method %s: %w", c.Name, err)
			}
		}
	}
	times := make([][]time.Duration, len(cases))
	cpu := make([][]time.Duration, len(cases))
	for range setup.Steps {
		for i, tr := range trainers {
			start, startCPU := time.Now(), processCPUTime()
			if _, err := tr.TrainStep(nil, setup.Inputs, setup.Labels); err != nil {
				return nil, fmt.Errorf("bench: method %s: %w", cases[i].Name, err)
			}
			times[i] = append(times[i], time.Since(start))
			cpu[i] = append(cpu[i], processCPUTime()-startCPU)
		}
		if setup.AfterRound != nil {
			if err := setup.AfterRound(); err != nil {
				return nil, err
			}
		}
	}
	rows := make([]MethodRow, len(cases))
	for i, c := range cases {
		slices.Sort(times[i])
		slices.Sort(cpu[i])
		rows[i] = MethodRow{Name: c.Name, GradEvals: c.Config.GradEvalsPerStep(),
			Forwards: c.Config.ForwardOnlyPerStep(), StepTime: times[i][len(times[i])/2],
			CPUTime: cpu[i][len(cpu[i])/2]}
	}
	for i := range rows {
		rows[i].TimeRatio = float64(rows[i].StepTime) / float64(rows[0].StepTime)
		rows[i].CPURatio = float64(rows[i].CPUTime) / float64(max(rows[0].CPUTime, 1))
		rows[i].EvalRatio = float64(rows[i].GradEvals) / float64(rows[0].GradEvals)
	}
	return rows, nil
}

// MethodsOptions configure RunMethods.
type MethodsOptions struct {
	// Backend is a GoMLX backend config; empty means backend.FromFlag's default.
	Backend string
	// Model is one of MethodModels (default "mlp").
	Model string
	// Steps is the number of timed rounds (the median is reported); 0 means 7 (1 when Quick).
	Steps int
	// Quick times ERM, SAM and TSAM s = 3 only, on the quick benchmark's batch, one warm-up
	// step each: a smoke test.
	Quick bool
}

// MethodTable is a whole `tsam bench methods` run.
type MethodTable struct {
	Backend string `json:"backend"`
	Date    string `json:"date"`
	Model   string `json:"model"`
	Batch   int    `json:"batch"`
	// LoadAverage is the 1-minute load average at the start and at the end (Linux).
	LoadAverage [2]float64  `json:"load_average"`
	Rows        []MethodRow `json:"methods"`
}

// MethodModels lists the models `tsam bench methods -model` accepts: the engine benchmark's
// (by their PyTorch peer names) and the small CNN of models.CNN on 28×28 images, where
// per-parameter work (noise, vector updates) weighs less than on the MLP.
func MethodModels() []string {
	names := []string{}
	for _, m := range methodModels(false) {
		names = append(names, m.peer)
	}
	return names
}

// methodModels is models(quick) without its second MLP, plus the CNN.
func methodModels(quick bool) []model {
	var out []model
	for _, m := range models(quick) {
		if !slices.ContainsFunc(out, func(o model) bool { return o.peer == m.peer }) {
			out = append(out, m)
		}
	}
	return append(out, cnn(64))
}

// cnn is models.CNN (two conv stages, 32 and 64 channels, dense 128) on 28×28×1 images. Its
// FLOPs are not counted: the method benchmark reports ratios to ERM, not GFLOP/s.
func cnn(batch int) model {
	fn := modelfns.CNN(modelfns.CNNConfig{NumClasses: 10})
	return model{name: "CNN conv32-conv64-dense128", peer: "cnn", batch: batch, input: shapes.Make(dtypes.Float32, batch, 28, 28, 1), classes: 10,
		build: func(ctx *context.Context, x *Node, _ *flopCounter) *Node { return fn(ctx, nil, []*Node{x})[0] }}
}

// RunMethods times DefaultMethodCases (ERM, SAM and TSAM s = 3 when Quick) on one model and
// a fixed random batch, writing a progress line to progress.
func RunMethods(opts MethodsOptions, progress io.Writer) (*MethodTable, error) {
	name := opts.Model
	if name == "" {
		name = "mlp"
	}
	i := slices.IndexFunc(methodModels(opts.Quick), func(m model) bool { return m.peer == name })
	if i < 0 {
		return nil, fmt.Errorf("bench: unknown model %q; use one of %s", name, strings.Join(MethodModels(), ", "))
	}
	m := methodModels(opts.Quick)[i]
	be, err := backend.FromFlag(opts.Backend)
	if err != nil {
		return nil, err
	}
	defer be.Finalize()
	steps, warmup, cases := opts.Steps, 2, DefaultMethodCases()
	if opts.Quick {
		warmup, cases = 1, cases[:3]
	}
	if steps <= 0 {
		steps = 7
		if opts.Quick {
			steps = 1
		}
	}
	loss, err := sam.SmoothedCrossEntropy(0.1)
	if err != nil {
		return nil, err
	}
	res := &MethodTable{Backend: backend.Describe(be), Date: time.Now().UTC().Format(time.RFC3339), Model: m.name, Batch: m.batch}
	res.LoadAverage[0] = loadAverage()
	fmt.Fprintf(progress, "%s\n%s batch %d: %d methods, %d warm-up and %d timed steps each, interleaved\n", res.Backend, m.name, m.batch, len(cases), warmup, steps)
	x, labels := randomBatch(m)
	res.Rows, err = TimeMethods(MethodSetup{Backend: be, Model: methodModelFn(m),
		Loss: loss, Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{labels},
		Warmup: warmup, Steps: steps, Seed: 1,
	}, cases)
	res.LoadAverage[1] = loadAverage()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// methodModelFn is m as a train.ModelFn (its FLOPs counted nowhere).
func methodModelFn(m model) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		return []*Node{m.build(ctx, inputs[0], &flopCounter{})}
	}
}

// WriteTable prints the table: per method its gradient evaluations per step, median step
// and CPU time, and their ratios to ERM's step measured in the same run.
func (t *MethodTable) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s\n%s, batch %d; load average %.2f at the start, %.2f at the end\n\n", t.Backend, t.Model, t.Batch, t.LoadAverage[0], t.LoadAverage[1])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tgrad evals/step\tstep ms\tCPU ms\ttime ratio to ERM\tCPU ratio\teval ratio\ttime/eval\tCPU/eval\t")
	for _, r := range t.Rows {
		evals := fmt.Sprint(r.GradEvals)
		if r.Forwards > 0 {
			evals += fmt.Sprintf(" (+%d fwd)", r.Forwards)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Name, evals, ms(r.StepTime), ms(r.CPUTime),
			r.TimeRatio, r.CPURatio, r.EvalRatio, r.Overhead(), r.CPUOverhead())
	}
	return tw.Flush()
}

// MarshalIndent is the JSON form written by `tsam bench methods -out`.
func (t *MethodTable) MarshalIndent() ([]byte, error) { return json.MarshalIndent(t, "", "  ") }
