package sam

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// BenchSetup is the model and batch BenchmarkMethods times every method on.
type BenchSetup struct {
	Backend        backends.Backend
	Model          train.ModelFn
	Loss           train.LossFn
	Inputs, Labels []*tensors.Tensor
	// Warmup steps (the first compiles the graph) and timed Steps per method.
	Warmup, Steps int
	// Seed of every method's context (same initial weights for all).
	Seed int64
}

// BenchCase names a configuration to time.
type BenchCase struct {
	Name   string
	Config Config
}

// BenchRow is one method's measurement. Ratios are to the first case (normally ERM).
type BenchRow struct {
	Name      string
	GradEvals int           // forward+backward passes per step (Config.GradEvalsPerStep)
	Forwards  int           // extra forward-only passes per step
	StepTime  time.Duration // median wall time over the timed steps
	CPUTime   time.Duration // median process CPU time (all threads) per step
	TimeRatio float64       // StepTime / first case's StepTime
	CPURatio  float64       // CPUTime / first case's CPUTime
	EvalRatio float64       // GradEvals / first case's GradEvals
}

// Overhead is TimeRatio/EvalRatio: 1 means the extra passes cost exactly what the passes
// themselves cost; the project's target is ≤ 1.15.
func (r BenchRow) Overhead() float64 { return r.TimeRatio / r.EvalRatio }

// CPUOverhead is CPURatio/EvalRatio, the same measure in CPU time, which the load of other
// processes on a shared machine does not distort.
func (r BenchRow) CPUOverhead() float64 { return r.CPURatio / r.EvalRatio }

// DefaultBenchCases are the table: ERM, SAM, TSAM s = 3 and 5 (practical sampler)
// and TSAM with HMC N = 2 (s = 3), each from DefaultConfig, plus PGN and ESAM2, whose extra
// passes draw no random noise (they separate the cost of the passes from that of the noise).
func DefaultBenchCases() []BenchCase {
	tsam3 := DefaultConfig(TSAM)
	tsam5 := tsam3
	tsam5.S = 5
	uniform := tsam3
	uniform.Noise = NoiseUniform
	hmc := tsam3
	hmc.Sampler, hmc.HMCSteps = SamplerHMC, 2
	return []BenchCase{
		{"erm", DefaultConfig(ERM)},
		{"sam", DefaultConfig(SAM)},
		{"tsam s=3", tsam3},
		{"tsam s=5", tsam5},
		{"tsam s=3 uniform start", uniform},
		{"tsam hmc N=2 s=3", hmc},
		// Diagnostics: extra passes without any random noise.
		{"pgn", DefaultConfig(PGN)},
		{"esam2", DefaultConfig(ESAM2)},
	}
}

// BenchmarkMethods times one train step of each case, in one run on the same model and
// batch, and returns a row per case with the ratios to the first case. The cases' steps are
// interleaved (one step of each case per round) so that a change in machine load over the
// run affects every case alike; each StepTime is the median over the rounds.
func BenchmarkMethods(setup BenchSetup, cases []BenchCase) ([]BenchRow, error) {
	if len(cases) == 0 || setup.Steps < 1 || setup.Model == nil || len(setup.Inputs) == 0 || setup.Backend == nil {
		return nil, errors.New("sam: BenchmarkMethods needs a backend, a model, inputs, at least one case and Steps ≥ 1")
	}
	trainers := make([]*train.Trainer, len(cases))
	for i, c := range cases {
		opt, err := New(c.Config)
		if err != nil {
			return nil, fmt.Errorf("sam: benchmark %s: %w", c.Name, err)
		}
		ctx := context.New()
		ctx.SetParam(context.ParamInitialSeed, setup.Seed)
		trainers[i] = NewTrainer(setup.Backend, ctx, setup.Model, setup.Loss, opt, nil, nil)
		for range max(setup.Warmup, 1) { // the first step compiles the graph
			if _, err := trainers[i].TrainStep(nil, setup.Inputs, setup.Labels); err != nil {
				return nil, fmt.Errorf("sam: benchmark %s: %w", c.Name, err)
			}
		}
	}
	times := make([][]time.Duration, len(cases))
	cpu := make([][]time.Duration, len(cases))
	for range setup.Steps {
		for i, tr := range trainers {
			start, startCPU := time.Now(), processCPUTime()
			if _, err := tr.TrainStep(nil, setup.Inputs, setup.Labels); err != nil {
				return nil, fmt.Errorf("sam: benchmark %s: %w", cases[i].Name, err)
			}
			times[i] = append(times[i], time.Since(start))
			cpu[i] = append(cpu[i], processCPUTime()-startCPU)
		}
	}
	rows := make([]BenchRow, len(cases))
	for i, c := range cases {
		slices.Sort(times[i])
		slices.Sort(cpu[i])
		rows[i] = BenchRow{Name: c.Name, GradEvals: c.Config.GradEvalsPerStep(),
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

// FormatBenchTable renders rows as a Markdown table with the target check per row.
func FormatBenchTable(rows []BenchRow) string {
	var b strings.Builder
	b.WriteString("| method | grad evals/step | step time | CPU time | time ratio | CPU ratio | eval ratio | time/eval | CPU/eval |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		evals := fmt.Sprint(r.GradEvals)
		if r.Forwards > 0 {
			evals += fmt.Sprintf(" (+%d fwd)", r.Forwards)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f ms | %.1f ms | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r.Name, evals,
			float64(r.StepTime.Microseconds())/1000, float64(r.CPUTime.Microseconds())/1000,
			r.TimeRatio, r.CPURatio, r.EvalRatio, r.Overhead(), r.CPUOverhead())
	}
	return b.String()
}
