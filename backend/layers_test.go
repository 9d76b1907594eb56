package backend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	"github.com/gomlx/gomlx/pkg/ml/layers/lstm"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// layerCase is a small model around one layer; it maps x to one output per example.
type layerCase struct {
	name  string
	input []int // example shape; the first dim is the batch
	ints  bool  // integer token inputs in [0, 10)
	model func(ctx *context.Context, x *Node) *Node
}

// spatialHead flattens and projects to one value per example.
func head(ctx *context.Context, x *Node) *Node {
	x = Reshape(x, x.Shape().Dimensions[0], -1)
	return layers.Dense(ctx.In("head"), x, true, 1)
}

var layerCases = []layerCase{
	{"Dense", []int{8, 6}, false, func(ctx *context.Context, x *Node) *Node {
		return head(ctx, activations.Relu(layers.Dense(ctx, x, true, 16)))
	}},
	{"Convolution", []int{8, 6, 6, 2}, false, func(ctx *context.Context, x *Node) *Node {
		x = layers.Convolution(ctx, x).Filters(4).KernelSize(3).Strides(2).PadSame().Done()
		return head(ctx, activations.Relu(x))
	}},
	{"MaxPool", []int{8, 6, 6, 2}, false, func(ctx *context.Context, x *Node) *Node {
		x = layers.Convolution(ctx, x).Filters(4).KernelSize(3).PadSame().Done()
		return head(ctx, MaxPool(x).Window(2).Done())
	}},
	{"MeanPool", []int{8, 6, 6, 2}, false, func(ctx *context.Context, x *Node) *Node {
		x = layers.Convolution(ctx, x).Filters(4).KernelSize(3).PadSame().Done()
		return head(ctx, MeanPool(x).Window(3).Strides(2).PadSame().Done())
	}},
	{"BatchNorm", []int{8, 4, 4, 3}, false, func(ctx *context.Context, x *Node) *Node {
		x = layers.Convolution(ctx, x).Filters(4).KernelSize(3).PadSame().Done()
		return head(ctx, activations.Relu(batchnorm.New(ctx, x, -1).Done()))
	}},
	{"LayerNorm", []int{8, 6}, false, func(ctx *context.Context, x *Node) *Node {
		x = layers.Dense(ctx, x, true, 16)
		return head(ctx, layers.LayerNormalization(ctx, x, -1).Done())
	}},
	{"RMSNorm", []int{8, 6}, false, func(ctx *context.Context, x *Node) *Node {
		x = layers.Dense(ctx, x, true, 16)
		return head(ctx, layers.RMSNorm(ctx, x).Done())
	}},
	{"LSTM", []int{8, 5, 6}, false, func(ctx *context.Context, x *Node) *Node {
		_, last, _ := lstm.New(ctx, x, 7).Done() // [directions=1, batch, hidden]
		return head(ctx, Squeeze(last, 0))
	}},
	{"MultiHeadAttention", []int{8, 5, 6}, false, func(ctx *context.Context, x *Node) *Node {
		return head(ctx, layers.MultiHeadAttention(ctx, x, x, x, 2, 4).UseCausalMask().Done())
	}},
	{"Embedding", []int{8, 5}, true, func(ctx *context.Context, x *Node) *Node {
		return head(ctx, layers.Embedding(ctx, x, dtypes.Float32, 10, 6))
	}},
	{"Dropout", []int{8, 6}, false, func(ctx *context.Context, x *Node) *Node {
		x = activations.Relu(layers.Dense(ctx, x, true, 16))
		return head(ctx, layers.DropoutStatic(ctx, x, 0.2))
	}},
}

// TestLayersTrain trains each layer for a few Adam steps on one fixed batch and requires the
// loss to fall to under half its start. Batch norm is also run in inference mode.
func TestLayersTrain(t *testing.T) {
	be := newTestBackend(t, "")
	steps := 60
	if testing.Short() {
		steps = 40
	}
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, 18))
			n := product(c.input)
			var x *tensors.Tensor
			if c.ints {
				ids := make([]int32, n)
				for i := range ids {
					ids[i] = int32(rng.IntN(10))
				}
				x = tensors.FromFlatDataAndDimensions(ids, c.input...)
			} else {
				vals := make([]float32, n)
				for i := range vals {
					vals[i] = float32(rng.NormFloat64())
				}
				x = tensors.FromFlatDataAndDimensions(vals, c.input...)
			}
			y := make([]float32, c.input[0])
			for i := range y {
				y[i] = float32(rng.NormFloat64())
			}
			labels := tensors.FromFlatDataAndDimensions(y, c.input[0], 1)
			ctx := context.New()
			modelFn := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
				return []*Node{c.model(ctx, inputs[0])}
			}
			trainer := train.NewTrainer(be, ctx, modelFn, losses.MeanSquaredError,
				optimizers.Adam().LearningRate(0.02).Done(), nil, nil)
			var first, last float32
			for step := range steps {
				m, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{labels})
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				last = tensors.ToScalar[float32](m[0])
				if step == 0 {
					first = last
				}
			}
			if !(last < first/2) {
				t.Fatalf("loss went from %.4g to %.4g in %d steps; want under half", first, last, steps)
			}
			m, err := trainer.EvalStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{labels})
			if err != nil {
				t.Fatalf("inference: %v", err)
			}
			t.Log(fmt.Sprintf("loss %.4g -> %.4g, eval %.4g", first, last, tensors.ToScalar[float32](m[0])))
		})
	}
}
