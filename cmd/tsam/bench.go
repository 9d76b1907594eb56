package main

import (
	"fmt"
	"io"

	"github.com/tsamgo/tsam/bench"
	"github.com/tsamgo/tsam/internal/atomicfile"
)

func init() {
	register("bench", "benchmark the compute engine (tsam bench engine): training-step speed vs GEMM rate", cmdBench)
}

const benchUsage = `tsam bench engine times, in one run, a training step of an MLP 784-512-512-10 (batch 64
and 256), ResNet-8 and ResNet-20 on 32×32×3 (batch 64) and a 2-layer text transformer
(width 128, 4 heads, sequence 64, batch 32), and the machine's float32 GEMM rate (1024³).
Each step's effective GFLOP/s (3× forward FLOPs) is reported with its ratio to that rate.
Right after each model's steps the PyTorch peer (the same model in PyTorch, run by -peer,
on as many threads as ours) times its step, and the ratio of the two medians is reported; then
TSAM's step (s = 3) is timed against ERM's on ResNet-8, ours and PyTorch's. Without
PyTorch (Debian: apt-get install python3-torch) the peer is skipped with a message.`

func cmdBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "engine" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintf(stderr, "usage: tsam bench engine [flags]\n\n%s\n", benchUsage)
			return errHelp
		}
		return &usageError{msg: "the only benchmark is \"engine\": run tsam bench engine [flags] (tsam bench engine -h for flags)"}
	}
	fs := newFlagSet("bench engine", benchUsage, stderr)
	backendFlag := fs.String("backend", "", `GoMLX backend config, e.g. "cpu", "cpu:threads=2" (default: $GOMLX_BACKEND, else cpu)`)
	gemm := fs.String("gemm", "", `GEMM path of the cpu backend: "openblas", "go" or "auto" (default auto); not with a -backend other than cpu`)
	out := fs.String("out", "", "write the results as JSON to this file")
	quick := fs.Bool("quick", false, "smaller batches, fewer models and steps: a smoke test")
	steps := fs.Int("steps", 0, "timed steps per model, median reported (default 10, 3 with -quick)")
	peer := fs.String("peer", "", `Python interpreter of the PyTorch peer, or "none" (default `+bench.DefaultPeerPython+`, skipped with a message when it lacks torch)`)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *steps < 0 {
		return badFlag("steps", "must be positive, got %d", *steps)
	}
	config := *backendFlag
	if *gemm != "" {
		if *gemm != "openblas" && *gemm != "go" && *gemm != "auto" {
			return badFlag("gemm", "%q is not a GEMM path: use openblas, go or auto", *gemm)
		}
		switch {
		case config == "":
			config = "cpu:gemm=" + *gemm
		case config == "cpu":
			config += ":gemm=" + *gemm
		case len(config) > 4 && config[:4] == "cpu:":
			config += ",gemm=" + *gemm
		default:
			return badFlag("gemm", "only applies to the cpu backend, but -backend is %q", config)
		}
	}
	res, err := bench.Run(bench.Options{Backend: config, Quick: *quick, Steps: *steps, Peer: *peer}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	if *out != "" {
		data, err := res.MarshalIndent()
		if err != nil {
			return err
		}
		if err := atomicfile.Write(*out, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", *out)
	}
	return nil
}
