package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// convStepInputs are float32 inputs of convStep: images [16, 28, 28, 8], a 3×3 kernel to 16
// channels, batch-norm scale and offset, a strided 3×3 kernel to 16 channels and a dense
// layer to 10 outputs. Sized so that every parallel op splits into several chunks on two
// workers (the first kernel gradient sums 12,544 patch rows of 72 values: 4 chunks).
func convStepInputs() []*tensors.Tensor {
	rng := rand.New(rand.NewPCG(21, 22))
	f32 := func(scale float64, dims ...int) *tensors.Tensor {
		data := make([]float32, product(dims))
		for i := range data {
			data[i] = float32(scale * rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	return []*tensors.Tensor{
		f32(1, 16, 28, 28, 8), f32(0.2, 3, 3, 8, 16), f32(1, 16), f32(1, 16),
		f32(0.1, 3, 3, 16, 16), f32(0.05, 7*7*16, 10),
	}
}

// convStep is a training step's worth of the ops that split work among goroutines: a
// convolution (forward: row chunks; kernel gradient: a sum over every patch row), batch
// norm (statistics and gradient sums per feature), ReLU, overlapping max-pooling (window 3,
// stride 2: SelectAndScatter adds several values into one element), a strided convolution
// (its input gradient is the transposed form), a dense layer (GEMM) and a full sum. It
// returns the loss and the gradients of every input.
func convStep(xs []*Node) []*Node {
	x, k1, scale, offset, k2, w := xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]
	h := Convolve(x, k1).PadSame().Done()
	h, _, _ = InternalBatchNormForTraining(h, scale, offset, 1e-3, 3)
	h = MaxPool(Max(h, ZerosLike(h))).Window(3).Strides(2).PadSame().Done() // [16, 14, 14, 16]
	h = Convolve(h, k2).Strides(2).PadSame().Done()                         // [16, 7, 7, 16]
	logits := Dot(Reshape(h, 16, 7*7*16), w)
	loss := ReduceAllSum(Mul(logits, logits))
	return append([]*Node{loss}, Gradient(loss, xs...)...)
}

// runConvStep executes convStep reps times on one compiled executable and returns each run's
// outputs as float32 bits.
func runConvStep(t *testing.T, config string, reps int) [][][]uint32 {
	t.Helper()
	be := newTestBackend(t, config)
	exec, err := NewExec(be, convStep)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	inputs := convStepInputs()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	var runs [][][]uint32
	for range reps {
		outs, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		var run [][]uint32
		for _, o := range outs {
			flat := tensors.MustCopyFlatData[float32](o)
			bits := make([]uint32, len(flat))
			for i, v := range flat {
				bits[i] = math.Float32bits(v)
			}
			run = append(run, bits)
		}
		runs = append(runs, run)
	}
	return runs
}

// convStepOutputs names convStep's outputs for messages.
var convStepOutputs = []string{"loss", "∂x", "∂kernel", "∂scale", "∂offset", "∂strided kernel", "∂dense"}

// firstDifference returns a description of the first output where b differs from a in any
// bit, and how many of its elements differ ("" when all agree).
func firstDifference(a, b [][]uint32) string {
	for o := range a {
		n, first := 0, -1
		for i := range a[o] {
			if a[o][i] != b[o][i] {
				if first < 0 {
					first = i
				}
				n++
			}
		}
		if n > 0 {
			return fmt.Sprintf("%s: %d of %d elements differ (first [%d]: %g against %g)", convStepOutputs[o], n, len(a[o]),
				first, math.Float32frombits(a[o][first]), math.Float32frombits(b[o][first]))
		}
	}
	return ""
}

// TestParallelOpsAreDeterministic runs convStep many times on two threads, on both GEMM
// paths, and requires every output bit to be the same each time: no result may depend on
// which goroutine ran which piece of work. (The kernel gradient used to keep one partial sum
// per worker while the workers took chunks in whatever order they came to them, so its last
// bits changed from run to run.)
func TestParallelOpsAreDeterministic(t *testing.T) {
	for _, cfg := range gemmConfigs {
		t.Run(cfg, func(t *testing.T) {
			runs := runConvStep(t, cfg+",threads=2", 24)
			for r := 1; r < len(runs); r++ {
				if d := firstDifference(runs[0], runs[r]); d != "" {
					t.Fatalf("run %d differs from run 0: %s", r, d)
				}
			}
		})
	}
}

// TestKernelGradientIgnoresThreadCount computes a kernel-gradient convolution (the layout
// GoMLX builds for ∂loss/∂kernel of a 3×3 convolution over 28×28 images, batch 16, 8 to 16
// channels: 4 chunks of patch rows) on 1 to 4 threads and requires the right values and the
// same bits: its sum over patch rows is cut into groups by the sizes alone and the groups'
// partials are added in order, whatever the number of workers.
func TestKernelGradientIgnoresThreadCount(t *testing.T) {
	c := convCase{batch: 8, cin: 16, cout: 16, groups: 1, inSp: []int{28, 28}, kSp: []int{28, 28}, pads: [][2]int{{1, 1}, {1, 1}}, swapped: true}
	xDims, kDims := c.dims()
	rng := rand.New(rand.NewPCG(23, 24))
	x, k := randArg(rng, xDims...), randArg(rng, kDims...)
	var ref []float64
	for _, threads := range []int{1, 2, 3, 4} {
		be := newTestBackend(t, fmt.Sprintf("threads=%d", threads))
		got, outDims := eval(t, be, func(xs []*Node) *Node {
			return ConvGeneral(xs[0], xs[1], c.axes(), nil, c.pads, nil, nil, 1, 1)
		}, x, k)
		if ref == nil {
			closeTo(t, "kernel gradient", got, referenceConv(c, x, k, outDims), 1e-12)
			ref = got
			continue
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(ref[i]) {
				t.Fatalf("threads=%d: element %d is %v, on one thread %v", threads, i, got[i], ref[i])
			}
		}
	}
}
