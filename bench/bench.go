// Package bench times GoMLX training steps on a backend. The engine benchmark behind
// `tsam bench engine` reports each step's effective GFLOP/s (3× the forward FLOPs of its
// matrix products and convolutions, per step) and its ratio to the machine's float32 GEMM rate
// measured in the same run; the method benchmark behind `tsam bench methods` (methods.go)
// times each method's step against ERM's, measured in the same run.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/sam"
)

// Options configure a benchmark run.
type Options struct {
	// Backend is a GoMLX backend config ("cpu", "cpu:gemm=go", …); empty means backend.FromFlag's default.
	Backend string
	// Steps is the number of timed training steps per model (the median is reported); 0 means 10 (3 when Quick).
	Steps int
	// Quick runs smaller batches of fewer models, for smoke tests.
	Quick bool
	// GEMMSize is the side of the square float32 product timed for the GEMM rate; 0 means 1024.
	GEMMSize int
	// Peer is the Python interpreter of the PyTorch peer (peer/torch_step.py), which times
	// the same models' steps alternating with ours, one of its steps after each of ours: "" means DefaultPeerPython, skipped with a
	// message when it cannot import torch; "none" skips the peer; any other path must work.
	Peer string
}

// ModelResult is one model's timing.
type ModelResult struct {
	Name  string `json:"name"`
	Batch int    `json:"batch"`
	// ForwardGFLOP is the forward pass's matrix-product and convolution work, in 1e9 FLOPs.
	ForwardGFLOP float64 `json:"forward_gflop"`
	// StepMS is the median training-step time (forward, backward, SGD update) in milliseconds;
	// BestMS the fastest step.
	StepMS  float64   `json:"step_ms"`
	BestMS  float64   `json:"best_step_ms"`
	StepsMS []float64 `json:"steps_ms"`
	// GFLOPS is 3·ForwardGFLOP per second at the best step. The GEMM rate is a best of 5 too:
	// on a machine shared with other work, best against best compares like with like.
	GFLOPS float64 `json:"gflops"`
	// GEMMGFLOPS is the machine's float32 GEMM rate measured right after this model's steps:
	// on a machine shared with other jobs the load changes during a run, and the ratio should
	// compare the two under the same load.
	GEMMGFLOPS float64 `json:"gemm_gflops"`
	// Ratio is GFLOPS / GEMMGFLOPS; RatioMedian the same at the median step.
	Ratio       float64 `json:"ratio_to_gemm"`
	RatioMedian float64 `json:"ratio_to_gemm_median"`
	// PeakRSSMB is the process's peak resident memory (VmHWM) after this model ran, in MB.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// PyTorch is the peer's step of the same model, its steps alternating with ours (nil
	// without the peer); RatioToPyTorch is StepMS / PyTorch.StepMS (below 1: ours is faster).
	PyTorch        *PeerStep `json:"pytorch,omitempty"`
	RatioToPyTorch float64   `json:"ratio_to_pytorch,omitempty"`
}

// MethodResult compares a SAM-family step with ERM's on one model, for ours and the peer.
type MethodResult struct {
	Model  string `json:"model"`
	Batch  int    `json:"batch"`
	Method string `json:"method"`
	// EvalRatio is the method's gradient evaluations per step over ERM's (6 for TSAM s = 3).
	EvalRatio float64 `json:"eval_ratio"`
	// ERMMS and MethodMS are our median steps (ERM and the method interleaved, SGD with
	// momentum 0.9 and weight decay 5e-4 as the base of both); Ratio = MethodMS / ERMMS.
	ERMMS    float64 `json:"erm_step_ms"`
	MethodMS float64 `json:"method_step_ms"`
	Ratio    float64 `json:"ratio_to_erm"`
	// The same from the PyTorch peer (zero without it).
	PyTorchERMMS    float64 `json:"pytorch_erm_step_ms,omitempty"`
	PyTorchMethodMS float64 `json:"pytorch_method_step_ms,omitempty"`
	PyTorchRatio    float64 `json:"pytorch_ratio_to_erm,omitempty"`
}

// Result is a whole benchmark run.
type Result struct {
	Backend string `json:"backend"` // one-line description, e.g. "backend cpu, GEMM OpenBLAS …"
	Date    string `json:"date"`
	// PathGEMMGFLOPS is the float32 GEMM rate of the backend's own GEMM path.
	PathGEMMGFLOPS float64 `json:"path_gemm_gflops"`
	// MachineGEMMGFLOPS is the best float32 GEMM rate the machine showed in the run (OpenBLAS
	// when present, else the pure-Go GEMM); each model's ratio uses the rate measured right
	// after its steps (ModelResult.GEMMGFLOPS).
	MachineGEMMGFLOPS float64 `json:"machine_gemm_gflops"`
	MachineGEMM       string  `json:"machine_gemm"`
	GEMMSize          int     `json:"gemm_size"`
	// LoadAverage is /proc/loadavg's 1-minute figure at the start and at the end of the run
	// (Linux; zero elsewhere): on a shared machine it says how much other work competed.
	LoadAverage [2]float64 `json:"load_average"`
	// PyTorch describes the peer ("PyTorch 1.13.0 (/usr/bin/python3), 2 threads") or why
	// it was skipped.
	PyTorch string         `json:"pytorch"`
	Models  []ModelResult  `json:"models"`
	Methods []MethodResult `json:"methods"`
}

// Run runs the benchmark, writing progress lines to progress.
func Run(opts Options, progress io.Writer) (*Result, error) {
	be, err := backend.FromFlag(opts.Backend)
	if err != nil {
		return nil, err
	}
	defer be.Finalize()
	steps := opts.Steps
	if steps <= 0 {
		steps = 10
		if opts.Quick {
			steps = 3
		}
	}
	n := opts.GEMMSize
	if n <= 0 {
		n = 1024
	}
	res := &Result{Backend: backend.Describe(be), Date: time.Now().UTC().Format(time.RFC3339), GEMMSize: n}
	res.LoadAverage[0] = loadAverage()
	defer func() { res.LoadAverage[1] = loadAverage() }()
	fmt.Fprintln(progress, res.Backend)
	res.MachineGEMM, res.MachineGEMMGFLOPS, res.PathGEMMGFLOPS, err = gemmRates(be, n)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "float32 GEMM %d³: %.1f GFLOP/s on this path, machine best %.1f (%s)\n", n, res.PathGEMMGFLOPS, res.MachineGEMMGFLOPS, res.MachineGEMM)
	machine, err := backend.NewBackend("gemm=auto")
	if err != nil {
		return nil, err
	}
	var torch *peer
	torch, res.PyTorch, err = startPeer(opts.Peer, be)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(progress, res.PyTorch)
	for _, m := range models(opts.Quick) {
		r, err := timeWithPeer(be, torch, m, steps)
		if err != nil {
			return nil, fmt.Errorf("%s, batch %d: %w", m.name, m.batch, err)
		}
		r.GEMMGFLOPS = machine.MeasureGEMM(n, 5)
		res.MachineGEMMGFLOPS = max(res.MachineGEMMGFLOPS, r.GEMMGFLOPS)
		r.Ratio = r.GFLOPS / r.GEMMGFLOPS
		r.RatioMedian = 3 * r.ForwardGFLOP / (r.StepMS / 1000) / r.GEMMGFLOPS
		fmt.Fprintf(progress, "%s batch %d: %.1f ms/step median, %.1f best, %.1f GFLOP/s, %.3f of GEMM (%.1f GFLOP/s)%s\n", r.Name, r.Batch, r.StepMS, r.BestMS, r.GFLOPS, r.Ratio, r.GEMMGFLOPS, peerNote(r))
		res.Models = append(res.Models, r)
	}
	mr, err := timeTSAM(be, torch, resnet8(opts.Quick), steps)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "%s batch %d, %s: %.1f ms/step, ERM %.1f: %.2f× ERM (%.0f× the gradients)%s\n", mr.Model, mr.Batch, mr.Method, mr.MethodMS, mr.ERMMS, mr.Ratio, mr.EvalRatio, methodPeerNote(mr))
	res.Methods = append(res.Methods, mr)
	return res, nil
}

// timeWithPeer times m's steps and, when there is a peer, the peer's step of the same model
// alternating with ours one by one (each of our timed steps is followed by one of its), so
// that both see the machine's load of the same seconds.
func timeWithPeer(be backends.Backend, torch *peer, m model, steps int) (ModelResult, error) {
	if torch == nil {
		return timeModel(be, m, steps)
	}
	// Our benchmark step is plain SGD (no momentum), and so is the peer's "sgd".
	s, err := torch.serve(m, "sgd")
	if err != nil {
		return ModelResult{}, err
	}
	defer s.close()
	var peerMS []float64
	r, err := timeModelHook(be, m, steps, func(bool) {}, func() error {
		t, err := s.step(0)
		peerMS = append(peerMS, t)
		return err
	})
	if err != nil {
		return ModelResult{}, err
	}
	p := peerStep("sgd", peerMS)
	r.PyTorch, r.RatioToPyTorch = &p, r.StepMS/p.StepMS
	return r, nil
}

// startPeer starts the PyTorch peer as opts.Peer asks (see Options.Peer) with be's thread
// count, returning it (nil when skipped) and its line for the report.
func startPeer(python string, be backends.Backend) (*peer, string, error) {
	if python == "none" {
		return nil, "PyTorch peer: off (-peer none)", nil
	}
	threads := runtime.GOMAXPROCS(0)
	if cpu, ok := be.(*backend.Backend); ok {
		threads = cpu.Threads()
	}
	explicit := python != ""
	if !explicit {
		python = DefaultPeerPython
	}
	p, err := probePeer(python, threads)
	switch {
	case err == nil:
		return p, p.Describe(), nil
	case explicit:
		return nil, "", err
	default:
		return nil, "PyTorch peer skipped: " + err.Error(), nil
	}
}

func peerNote(r ModelResult) string {
	if r.PyTorch == nil {
		return ""
	}
	return fmt.Sprintf("; PyTorch %.1f ms median, ratio %.2f", r.PyTorch.StepMS, r.RatioToPyTorch)
}

func methodPeerNote(r MethodResult) string {
	if r.PyTorchRatio == 0 {
		return ""
	}
	return fmt.Sprintf("; PyTorch %.1f ms, ERM %.1f: %.2f× ERM", r.PyTorchMethodMS, r.PyTorchERMMS, r.PyTorchRatio)
}

// resnet8 is the model the SAM-family comparison runs on.
func resnet8(quick bool) model {
	for _, m := range models(quick) {
		if m.peer == "resnet8" {
			return m
		}
	}
	panic("bench: no ResNet-8 in the model list")
}

// timeTSAM times TSAM's step (s = 3, the paper's defaults) against ERM's on m, interleaved
// round by round (TimeMethods), then the peer's same pair.
func timeTSAM(be backends.Backend, torch *peer, m model, steps int) (MethodResult, error) {
	x, labels := randomBatch(m)
	erm, tsam := sam.DefaultConfig(sam.ERM), sam.DefaultConfig(sam.TSAM)
	erm.LabelSmoothing, tsam.LabelSmoothing = 0, 0 // the peer's plain cross-entropy
	setup := MethodSetup{Backend: be, Model: methodModelFn(m),
		Loss:   losses.SparseCategoricalCrossEntropyLogits,
		Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{labels},
		Warmup: 2, Steps: steps, Seed: 1,
	}
	// With a peer, each round of ours (an ERM and a TSAM step) is followed by one of the
	// peer's, so the four medians come from the same seconds.
	var peerMS [2][]float64
	if torch != nil {
		s, err := torch.serve(m, "erm", "tsam")
		if err != nil {
			return MethodResult{}, err
		}
		defer s.close()
		setup.AfterRound = func() error {
			for i := range peerMS {
				t, err := s.step(i)
				if err != nil {
					return err
				}
				peerMS[i] = append(peerMS[i], t)
			}
			return nil
		}
	}
	rows, err := TimeMethods(setup, []MethodCase{{Name: "erm", Config: erm}, {Name: "tsam s=3", Config: tsam}})
	if err != nil {
		return MethodResult{}, fmt.Errorf("%s, batch %d, TSAM against ERM: %w", m.name, m.batch, err)
	}
	r := MethodResult{Model: m.name, Batch: m.batch, Method: rows[1].Name, EvalRatio: rows[1].EvalRatio,
		ERMMS: ms(rows[0].StepTime), MethodMS: ms(rows[1].StepTime), Ratio: rows[1].TimeRatio}
	if torch != nil {
		r.PyTorchERMMS, r.PyTorchMethodMS = median(peerMS[0]), median(peerMS[1])
		r.PyTorchRatio = r.PyTorchMethodMS / r.PyTorchERMMS
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// gemmRates measures the float32 GEMM of be's path and the machine's best (OpenBLAS if it loads).
func gemmRates(be backends.Backend, n int) (machineName string, machine, path float64, err error) {
	const reps = 5
	if cpu, ok := be.(*backend.Backend); ok {
		path = cpu.MeasureGEMM(n, reps)
	}
	best, err := backend.NewBackend("gemm=auto")
	if err != nil {
		return "", 0, 0, err
	}
	machine = best.MeasureGEMM(n, reps)
	machineName = best.GEMMName()
	if path == 0 { // Another backend (e.g. simplego): time its own DotGeneral instead.
		path = graphGEMMRate(be, n)
	}
	return machineName, max(machine, path), path, nil
}

// graphGEMMRate times a float32 n³ MatMul graph on be (best of 3).
func graphGEMMRate(be backends.Backend, n int) float64 {
	a := tensors.FromFlatDataAndDimensions(make([]float32, n*n), n, n)
	exec := MustNewExec(be, func(x *Node) *Node { return MatMul(x, x) })
	defer exec.Finalize()
	best := 0.0
	for range 3 {
		start := time.Now()
		exec.MustExec(a)
		best = max(best, 2*float64(n*n*n)/time.Since(start).Seconds()/1e9)
	}
	return best
}

// randomBatch is a fixed pseudo-random batch of m's inputs and labels [batch, 1]: a step's
// time does not depend on the values.
func randomBatch(m model) (x, labels *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(1, uint64(m.batch)))
	if m.tokens > 0 {
		ids := make([]int32, m.input.Size())
		for i := range ids {
			ids[i] = int32(rng.IntN(m.tokens))
		}
		x = tensors.FromFlatDataAndDimensions(ids, m.input.Dimensions...)
	} else {
		v := make([]float32, m.input.Size())
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		x = tensors.FromFlatDataAndDimensions(v, m.input.Dimensions...)
	}
	y := make([]int32, m.batch)
	for i := range y {
		y[i] = int32(rng.IntN(m.classes))
	}
	return x, tensors.FromFlatDataAndDimensions(y, m.batch, 1)
}

// timeModel builds m's training step (SGD, softmax cross-entropy) and times it.
func timeModel(be backends.Backend, m model, steps int) (ModelResult, error) {
	return timeModelHook(be, m, steps, func(bool) {}, nil)
}

// timeModelHook is timeModel calling timing(true) before the timed steps and timing(false)
// after, and after (when not nil) after each timed step, outside its time.
func timeModelHook(be backends.Backend, m model, steps int, timing func(bool), after func() error) (ModelResult, error) {
	x, labels := randomBatch(m)
	fc := &flopCounter{}
	ctx := context.New()
	modelFn := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		fc.flops = 0 // Counted afresh each time the graph is built.
		return []*Node{m.build(ctx, inputs[0], fc)}
	}
	trainer := train.NewTrainer(be, ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.StochasticGradientDescent().WithLearningRate(0.01).WithDecay(false).Done(), nil, nil)
	step := func() error {
		_, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{labels})
		return err
	}
	// Two untimed steps: the first compiles, the second fills buffer pools.
	for range 2 {
		if err := step(); err != nil {
			return ModelResult{}, err
		}
	}
	r := ModelResult{Name: m.name, Batch: m.batch, ForwardGFLOP: fc.flops / 1e9}
	timing(true)
	defer timing(false)
	for range steps {
		start := time.Now()
		if err := step(); err != nil {
			return ModelResult{}, err
		}
		r.StepsMS = append(r.StepsMS, float64(time.Since(start).Microseconds())/1000)
		if after != nil {
			if err := after(); err != nil {
				return ModelResult{}, err
			}
		}
	}
	r.StepMS = median(r.StepsMS)
	r.BestMS = slices.Min(r.StepsMS)
	r.GFLOPS = 3 * r.ForwardGFLOP / (r.BestMS / 1000)
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// peakRSSMB reads VmHWM from /proc/self/status (Linux); 0 elsewhere.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// loadAverage is the 1-minute load average from /proc/loadavg (Linux); 0 elsewhere.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// WriteTable prints the result as aligned tables: the models' steps (with the PyTorch peer's
// when it ran) and the SAM-family steps against ERM's.
func (r *Result) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s\nfloat32 GEMM %d³: %.1f GFLOP/s (this path), %.1f GFLOP/s machine best in the run (%s)\n%s\nload average %.2f at the start, %.2f at the end\n\n",
		r.Backend, r.GEMMSize, r.PathGEMMGFLOPS, r.MachineGEMMGFLOPS, r.MachineGEMM, r.PyTorch, r.LoadAverage[0], r.LoadAverage[1])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tbatch\tfwd GFLOP\tmedian ms\tbest ms\tGFLOP/s (best)\tGEMM GFLOP/s\tratio to GEMM (best)\t(median)\tpeak RSS MB\tPyTorch median ms\tratio to PyTorch\t")
	for _, m := range r.Models {
		torch, ratio := "-", "-"
		if m.PyTorch != nil {
			torch, ratio = fmt.Sprintf("%.1f", m.PyTorch.StepMS), fmt.Sprintf("%.2f", m.RatioToPyTorch)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%.0f\t%s\t%s\t\n", m.Name, m.Batch, m.ForwardGFLOP, m.StepMS, m.BestMS, m.GFLOPS, m.GEMMGFLOPS, m.Ratio, m.RatioMedian, m.PeakRSSMB, torch, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Methods) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tbatch\tmethod\tgradients vs ERM\tERM ms\tmethod ms\tratio to ERM\tPyTorch ERM ms\tPyTorch method ms\tPyTorch ratio to ERM\t")
	for _, m := range r.Methods {
		torch := "-\t-\t-"
		if m.PyTorchRatio != 0 {
			torch = fmt.Sprintf("%.1f\t%.1f\t%.2f", m.PyTorchERMMS, m.PyTorchMethodMS, m.PyTorchRatio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.1f\t%.1f\t%.2f\t%s\t\n", m.Model, m.Batch, m.Method, m.EvalRatio, m.ERMMS, m.MethodMS, m.Ratio, torch)
	}
	return tw.Flush()
}

// MarshalIndent is the JSON form written by `tsam bench engine -out`.
func (r *Result) MarshalIndent() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// TraceModel runs steps training steps of the benchmark model whose name starts with prefix
// on the default backend, calling counting(true) around the timed steps (after two warm-up
// steps) so an op tracer can attribute time. For profiling.
func TraceModel(prefix string, steps int, counting func(bool)) (ModelResult, error) {
	be, err := backend.FromFlag("")
	if err != nil {
		return ModelResult{}, err
	}
	for _, m := range models(false) {
		if strings.HasPrefix(m.name, prefix) {
			return timeModelHook(be, m, steps, counting, nil)
		}
	}
	return ModelResult{}, fmt.Errorf("no benchmark model named %q…", prefix)
}
