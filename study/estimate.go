package study

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sam"
)

// passCost is the measured wall time, in seconds, of one forward+backward pass of a model
// at batch 64 on the project's "cpu" backend (plain SGD step, models package), measured
// with the 2-core machine shared with other work (so on the slow side). A forward-only
// pass is taken as a third of it. Models and inputs not listed are scaled from the nearest
// entry by input size.
var passCost = map[string]float64{
	"mlp/28x28x1":       0.013,
	"mlp/32x32x3":       0.036, // the 28×28 cost scaled by the MLP's multiply-adds (1.84M vs 0.67M)
	"cnn/28x28x1":       0.023, // fitted with stepOverheads["cnn"] to steps measured through run (2,700 Fashion-MNIST examples, batch 64): ERM ~28 ms, TSAM (s = 3, 6 passes and 3 draws) ~6× that
	"cnn/32x32x3":       0.039, // the 28×28 cost scaled by the first convolution's input (3 channels, 32×32)
	"resnet8/32x32x3":   0.14,  // tsam bench engine: 114–139 ms per step after the SIMD kernels
	"transformer/64tok": 0.24,  // 143 ms per ERM step of batch 32 measured through run (SST-2), less the step overhead, doubled
}

// drawCost is the measured wall time, in seconds, of drawing one random perturbation of a
// million parameters inside a training step (TSAM's random starts, RSAM's noise, naive
// sampling, HMC's ε₀ and momentum), with the norms and updates that go with it: sam's
// BenchmarkMethodTable on an MLP 784-512-512 (0.67M parameters) measured TSAM s = 3 at
// 77 ms per step against 6 passes of 6.5–8 ms, so about 13 ms per draw; rounded up.
const drawCost = 0.02

// stepOverhead is the wall time of a step beyond its passes and draws (data, statistics,
// the training loop): an ERM step of an MLP 784-256-256 measured 25–34 ms through run.
const stepOverhead = 0.025

// stepOverheads replaces stepOverhead for models whose steps were measured through run
// at two methods, so pass cost and overhead could both be fitted: the small CNN's ERM step
// (one pass) took ~28 ms and its TSAM step (6 passes, 3 draws of 0.42M parameters) ~6× that,
// which a 23 ms pass and 5 ms of overhead reproduce.
var stepOverheads = map[string]float64{"cnn": 0.005}

// overheadFor is the per-step overhead of model.
func overheadFor(model string) float64 {
	if o, ok := stepOverheads[model]; ok {
		return o
	}
	return stepOverhead
}

// paramCount is the approximate number of trainable parameters, in millions, of models
// whose size the cost model needs (MLPs are counted from their widths).
var paramCount = map[string]float64{"cnn": 0.42, "resnet8": 0.08, "transformer": 1.5}

// evalPassFraction is the cost of evaluating a batch (forward only, in batches of 500)
// relative to a training pass of the same examples: fitted to the small CNN's evaluation
// of 15,700 Fashion-MNIST examples, 2.5 s per epoch (mean of 40 epochs) against its
// 23 ms pass of 64 examples. A third would be the forward's share of the pass's
// arithmetic alone.
const evalPassFraction = 0.44

// measureCost is the measured wall time, in seconds, of the sharpness measurements of one
// MLP 784-256-256 run on 1,000 training examples (flatness 2 s, Hessian top-5 by Lanczos
// about 90 s, objectives 2 s); other models and sizes are scaled by their pass cost.
const measureCost = 95

// EstimateBasis says where passCost and drawCost come from, for the plan and the report.
const EstimateBasis = "per-pass costs measured on the 2-core machine, cpu backend, batch 64, under load from other work: " +
	"MLP 13 ms (28×28; 36 ms on 32×32×3 by its multiply-adds), small CNN 23 ms (28×28) and 39 ms (32×32×3) with 5 ms of step overhead (fitted to its ERM step of ~28 ms and TSAM step of ~6× that, measured through run), ResNet-8 0.14 s, text transformer 0.24 s (64 tokens; 143 ms per ERM step of batch 32); " +
	"a forward-only pass inside a step counts a third, an evaluation pass 0.44 (fitted to the CNN's evaluations: 2.5 s per epoch for 15,700 examples); each random perturbation drawn in a step costs 0.02 s per million parameters " +
	"and each step 25 ms of overhead unless said otherwise (TSAM with s = 3 and a random start measured 77 ms per step of an MLP 784-512-512 against 6.5–8 ms per pass); plus the evaluations of train (≤10,000), validation and test examples after each evaluated epoch, plus 10 s per run; " +
	"sharpness measurements 95 s per run of an MLP 784-256-256 on 1,000 examples (measured), scaled by pass cost"

// dataShape describes the examples of a data set for the cost model: the key suffix of
// passCost, the input size relative to that key, and the split sizes.
type dataShape struct {
	key                 string
	numTrain, numTest   int
	inputScaleFromEntry float64
}

var dataShapes = map[string]dataShape{
	"mnist":         {key: "28x28x1", numTrain: 60000, numTest: 10000, inputScaleFromEntry: 1},
	"fashion-mnist": {key: "28x28x1", numTrain: 60000, numTest: 10000, inputScaleFromEntry: 1},
	"cifar10":       {key: "32x32x3", numTrain: 50000, numTest: 10000, inputScaleFromEntry: 1},
	"sst2":          {key: "64tok", numTrain: 67349, numTest: 872, inputScaleFromEntry: 1},
}

// SectionEstimate is the compute estimate of one report section.
type SectionEstimate struct {
	ID      string  `json:"id"`
	Seconds float64 `json:"seconds"`
}

// PlanEstimate is Estimate's result.
type PlanEstimate struct {
	// Total counts each run once, even when several sections share it.
	Total    float64           `json:"total_seconds"`
	Sections []SectionEstimate `json:"sections"`
	Basis    string            `json:"basis"`
}

// Estimate predicts the wall time of the plan's training runs from passCost: every
// cell's runs, plus each pick's extra seeds at the costliest candidate's price (the winner
// is not known in advance). Sections are charged for the runs of their rows; shared runs
// count in each section but once in the total.
func Estimate(p *Plan) PlanEstimate {
	rowCost := map[string]float64{}
	total := 0.0
	for _, c := range p.Cells {
		cost := 0.0
		for _, seed := range c.Seeds {
			if cfg, err := resolve(c.Config, c.Extra, seed); err == nil {
				cost += estimateRun(cfg)
				if c.Eval {
					cost += estimateMeasure(cfg, p.Eval)
				}
			}
		}
		rowCost[c.Name] = cost
		total += cost
	}
	for _, pk := range p.Picks {
		worst := 0.0
		for _, c := range p.candidates(pk.Group) {
			if cfg, err := resolve(c.Config, c.Extra, c.Seeds[0]); err == nil {
				worst = math.Max(worst, estimateRun(cfg))
			}
		}
		extra := worst * float64(len(pk.Seeds)-1)
		rowCost[pk.Name] = extra
		total += extra
		for _, c := range p.candidates(pk.Group) {
			rowCost[pk.Name] += rowCost[c.Name]
		}
	}
	est := PlanEstimate{Total: total, Basis: EstimateBasis}
	for i := range p.Sections {
		s := &p.Sections[i]
		sec := 0.0
		for _, r := range s.Rows {
			sec += rowCost[r]
		}
		s.EstimateSeconds = sec
		est.Sections = append(est.Sections, SectionEstimate{ID: s.ID, Seconds: sec})
	}
	return est
}

// estimateMeasure predicts the wall time of the sharpness measurements of one run.
func estimateMeasure(c run.Config, spec EvalSpec) float64 {
	ref := passFor("mlp-256-256", dataShapes["fashion-mnist"])
	return measureCost * passFor(c.Model, shapeOf(c.Data)) / ref * float64(spec.TrainExamples) / 1000
}

// shapeOf is the cost-model shape of a data set (MNIST's for unknown ones).
func shapeOf(data string) dataShape {
	if s, ok := dataShapes[data]; ok {
		return s
	}
	return dataShapes["mnist"]
}

// passFor is the cost of one forward+backward pass of model at batch 64.
func passFor(model string, shape dataShape) float64 {
	if pass, ok := passCost[model+"/"+shape.key]; ok {
		return pass
	}
	return nearestCost(model, shape)
}

// estimateRun predicts the wall time of one run in seconds.
func estimateRun(c run.Config) float64 {
	shape := shapeOf(c.Data)
	pass := passFor(c.Model, shape) * float64(c.Batch) / 64
	nTrain := int(float64(shape.numTrain) * (1 - c.Val))
	nVal := shape.numTrain - nTrain
	if c.Subset > 0 {
		nTrain = min(nTrain, c.Subset)
	}
	stepsPerEpoch := max(nTrain/max(c.Batch, 1), 1)
	steps := run.PlannedSteps(c, stepsPerEpoch)
	if c.MaxSteps > 0 && c.MaxSteps < steps {
		steps = c.MaxSteps
	}
	// A run given TSAM's budget trains more epochs; every EvalEvery-th and the last is evaluated.
	epochs := max(1, (steps+stepsPerEpoch-1)/stepsPerEpoch)
	evals := epochs / max(c.EvalEvery, 1)
	if epochs%max(c.EvalEvery, 1) != 0 {
		evals++
	}
	sc := run.MethodConfig(c, steps)
	perStep := (float64(sc.GradEvalsPerStep())+float64(sc.ForwardOnlyPerStep())/3)*pass + float64(draws(sc))*drawCost*params(c.Model, shape) + overheadFor(c.Model)
	nTest := shape.numTest
	if c.TestSubset > 0 {
		nTest = min(nTest, c.TestSubset)
	}
	evalExamples := float64(evals) * float64(min(nTrain, run.EvalTrainMax)+nVal+nTest)
	return float64(steps)*perStep + evalExamples/float64(max(c.Batch, 1))*pass*evalPassFraction + 10
}

// nearestCost is the cost of a model on some input when the exact pair was not measured:
// an MLP "mlp-W1-W2-..." is the measured MLP scaled by its multiply-adds.
func nearestCost(model string, shape dataShape) float64 {
	if rest, ok := strings.CutPrefix(model, "mlp-"); ok {
		in := map[string]int{"28x28x1": 784, "32x32x3": 3072}[shape.key]
		macs, prev := 0, max(in, 1)
		for _, w := range strings.Split(rest, "-") {
			n, _ := strconv.Atoi(w)
			macs += prev * n
			prev = n
		}
		macs += prev * 10
		const measuredMACs = 784*512 + 512*512 + 512*10 // the "mlp" of passCost
		return passCost["mlp/28x28x1"] * float64(macs) / measuredMACs
	}
	for k, v := range passCost {
		if len(k) > len(model) && k[:len(model)+1] == model+"/" {
			return v
		}
	}
	return passCost["resnet8/32x32x3"] // unknown models: assume a convolutional network
}

// draws is the number of random perturbations of the whole parameter vector one step of
// the method draws.
func draws(sc sam.Config) int {
	switch {
	case sc.Method == sam.RSAM:
		return 1
	case sc.Method != sam.TSAM:
		return 0
	case sc.Sampler == sam.SamplerNaive:
		return sc.S
	case sc.Sampler == sam.SamplerHMC:
		return 2 * sc.S // ε₀ and the momentum p₀ per sample
	case sc.R > 0:
		return sc.S
	}
	return 0
}

// params is the model's parameter count in millions.
func params(model string, shape dataShape) float64 {
	widths := []int{512, 512}
	if rest, ok := strings.CutPrefix(model, "mlp-"); ok {
		widths = widths[:0]
		for _, w := range strings.Split(rest, "-") {
			n, _ := strconv.Atoi(w)
			widths = append(widths, n)
		}
	} else if model != "mlp" {
		if n, ok := paramCount[model]; ok {
			return n
		}
		return 1
	}
	prev, total := map[string]int{"28x28x1": 784, "32x32x3": 3072}[shape.key], 0
	for _, w := range append(widths, 10) {
		total += (prev + 1) * w
		prev = w
	}
	return float64(total) / 1e6
}

// fmtEstimate prints a plan estimate as lines, per section; the study's first line has
// already given the total's basis.
func fmtEstimate(est PlanEstimate) string {
	s := fmt.Sprintf("total %s\n", fmtDuration(est.Total))
	for _, sec := range est.Sections {
		s += fmt.Sprintf("  %-8s %s\n", sec.ID, fmtDuration(sec.Seconds))
	}
	return s
}
