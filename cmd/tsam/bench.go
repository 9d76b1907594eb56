package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tsamgo/tsam/bench"
	"github.com/tsamgo/tsam/internal/atomicfile"
)

func init() {
	register("bench", "benchmark the compute engine (tsam bench engine) or the methods' steps against ERM's (tsam bench methods)", cmdBench)
}

const benchUsage = `tsam bench engine times, in one run, a training step of an MLP 784-512-512-10 (batch 64
and 256), ResNet-8 and ResNet-20 on 32×32×3 (batch 64) and a 2-layer text transformer
(width 128, 4 heads, sequence 64, batch 32), and the machine's float32 GEMM rate (1024³).
Each step's effective GFLOP/s (3× forward FLOPs) is reported with its ratio to that rate.
Right after each model's steps the PyTorch peer (the same model in PyTorch, run by -peer,
on as many threads as ours) times its step, and the ratio of the two medians is reported; then
TSAM's step (s = 3) is timed against ERM's on ResNet-8, ours and PyTorch's. Without
PyTorch (Debian: apt-get install python3-torch) the peer is skipped with a message.`

const benchMethodsUsage = `tsam bench methods times, in one run on one model and a fixed batch, a train step of ERM,
SAM, TSAM s = 3 and s = 5, TSAM s = 3 with the uniform start, TSAM with HMC N = 2, PGN and
ESAM2 (the paper's defaults), their steps interleaved round by round so that a change in the
machine's load affects all alike. Each method's median step (wall and process CPU time) is
reported with its ratio to ERM's and its gradient evaluations per step; time/eval near 1 means
the extra passes cost what the passes themselves cost.`

const benchVerbs = `the benchmarks are "engine" and "methods": run tsam bench engine [flags] or tsam bench methods [flags] (-h for flags)`

func cmdBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: benchVerbs}
	}
	switch args[0] {
	case "engine":
		return cmdBenchEngine(args[1:], stdout, stderr)
	case "methods":
		return cmdBenchMethods(args[1:], stdout, stderr)
	case "-h", "--help", "-help":
		fmt.Fprintf(stderr, "usage: tsam bench engine [flags]\n\n%s\n\nusage: tsam bench methods [flags]\n\n%s\n", benchUsage, benchMethodsUsage)
		return errHelp
	}
	return &usageError{msg: fmt.Sprintf("unknown benchmark %q; %s", args[0], benchVerbs)}
}

// benchFlags are the flags both benchmarks take.
type benchFlags struct {
	backend, gemm, out *string
	quick              *bool
	steps              *int
}

func addBenchFlags(fs *flag.FlagSet, defaultSteps string) benchFlags {
	return benchFlags{
		backend: fs.String("backend", "", `GoMLX backend config, e.g. "cpu", "cpu:threads=2" (default: $GOMLX_BACKEND, else cpu)`),
		gemm:    fs.String("gemm", "", `GEMM path of the cpu backend: "openblas", "go" or "auto" (default auto); not with a -backend other than cpu`),
		out:     fs.String("out", "", "write the results as JSON to this file"),
		quick:   fs.Bool("quick", false, "a smoke test: smaller and fewer runs"),
		steps:   fs.Int("steps", 0, "timed steps, median reported (default "+defaultSteps+")"),
	}
}

// config checks the shared flags and returns the backend configuration -backend and -gemm name.
func (f benchFlags) config() (string, error) {
	if *f.steps < 0 {
		return "", badFlag("steps", "must be positive, got %d", *f.steps)
	}
	config := *f.backend
	if *f.gemm == "" {
		return config, nil
	}
	if *f.gemm != "openblas" && *f.gemm != "go" && *f.gemm != "auto" {
		return "", badFlag("gemm", "%q is not a GEMM path: use openblas, go or auto", *f.gemm)
	}
	switch {
	case config == "":
		return "cpu:gemm=" + *f.gemm, nil
	case config == "cpu":
		return config + ":gemm=" + *f.gemm, nil
	case strings.HasPrefix(config, "cpu:"):
		return config + ",gemm=" + *f.gemm, nil
	}
	return "", badFlag("gemm", "only applies to the cpu backend, but -backend is %q", config)
}

// benchResult is what both benchmarks return: a table for the terminal and its JSON.
type benchResult interface {
	WriteTable(w io.Writer) error
	MarshalIndent() ([]byte, error)
}

// report prints res's table and writes its JSON to -out, whole or not at all.
func (f benchFlags) report(stdout io.Writer, res benchResult) error {
	fmt.Fprintln(stdout)
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	if *f.out == "" {
		return nil
	}
	data, err := res.MarshalIndent()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(*f.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", *f.out)
	return nil
}

func cmdBenchEngine(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench engine", benchUsage, stderr)
	f := addBenchFlags(fs, "10, 3 with -quick")
	peer := fs.String("peer", "", `Python interpreter of the PyTorch peer, or "none" (default `+bench.DefaultPeerPython+`, skipped with a message when it lacks torch)`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	config, err := f.config()
	if err != nil {
		return err
	}
	res, err := bench.Run(bench.Options{Backend: config, Quick: *f.quick, Steps: *f.steps, Peer: *peer}, stderr)
	if err != nil {
		return err
	}
	return f.report(stdout, res)
}

func cmdBenchMethods(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench methods", benchMethodsUsage, stderr)
	f := addBenchFlags(fs, "7, 1 with -quick, which also times only ERM, SAM and TSAM s = 3")
	model := fs.String("model", "mlp", "model to time the methods on: "+strings.Join(bench.MethodModels(), ", ")+" (the engine benchmark's, at its batch; cnn on 28×28 images)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	config, err := f.config()
	if err != nil {
		return err
	}
	if !slices.Contains(bench.MethodModels(), *model) {
		return badFlag("model", "unknown model %q: use one of %s", *model, strings.Join(bench.MethodModels(), ", "))
	}
	res, err := bench.RunMethods(bench.MethodsOptions{Backend: config, Model: *model, Steps: *f.steps, Quick: *f.quick}, stderr)
	if err != nil {
		return err
	}
	return f.report(stdout, res)
}
