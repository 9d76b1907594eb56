package bench

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
)

// flopCounter tallies the forward multiply-add FLOPs (2 per multiply-add) of the matrix
// products and convolutions a model builds. Elementwise work is not counted, as is usual.
type flopCounter struct{ flops float64 }

// model is one benchmarked network: its input/label shapes and a graph function.
type model struct {
	name    string
	peer    string // the PyTorch peer's name of the model (peer/torch_step.py)
	batch   int
	input   shapes.Shape // with the batch
	tokens  int          // >0: integer inputs in [0, tokens)
	classes int
	build   func(ctx *context.Context, x *Node, fc *flopCounter) *Node // returns logits [batch, classes]
}

// dense is layers.Dense with FLOP counting.
func dense(ctx *context.Context, x *Node, out int, fc *flopCounter) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	fc.flops += 2 * float64(x.Shape().Size()/in) * float64(in) * float64(out)
	return layers.Dense(ctx, x, true, out)
}

// conv is a 2-D convolution (same padding, no bias: batch-norm follows) with FLOP counting.
func conv(ctx *context.Context, x *Node, filters, kernel, stride int, fc *flopCounter) *Node {
	y := layers.Convolution(ctx, x).Filters(filters).KernelSize(kernel).Strides(stride).PadSame().UseBias(false).Done()
	d := y.Shape().Dimensions
	cin := x.Shape().Dimensions[3]
	fc.flops += 2 * float64(d[0]*d[1]*d[2]*d[3]) * float64(cin*kernel*kernel)
	return y
}

func bn(ctx *context.Context, x *Node) *Node { return batchnorm.New(ctx, x, -1).Done() }

func mlp(batch int) model {
	return model{name: "MLP 784-512-512-10", peer: "mlp", batch: batch, input: shapes.Make(dtypes.Float32, batch, 784), classes: 10,
		build: func(ctx *context.Context, x *Node, fc *flopCounter) *Node {
			x = activations.Relu(dense(ctx.In("l1"), x, 512, fc))
			x = activations.Relu(dense(ctx.In("l2"), x, 512, fc))
			return dense(ctx.In("out"), x, 10, fc)
		}}
}

// resnet is the CIFAR ResNet of He et al. (2016) with blocksPerStage basic blocks in each of
// three stages of 16/32/64 channels: ResNet-8 has 1, ResNet-20 has 3.
func resnet(name string, blocksPerStage, batch int) model {
	return model{name: name, peer: fmt.Sprintf("resnet%d", 6*blocksPerStage+2), batch: batch, input: shapes.Make(dtypes.Float32, batch, 32, 32, 3), classes: 10,
		build: func(ctx *context.Context, x *Node, fc *flopCounter) *Node {
			x = activations.Relu(bn(ctx.In("stem_bn"), conv(ctx.In("stem"), x, 16, 3, 1, fc)))
			for stage, width := range []int{16, 32, 64} {
				for block := range blocksPerStage {
					stride := 1
					if stage > 0 && block == 0 {
						stride = 2
					}
					bctx := ctx.Inf("s%d_b%d", stage, block)
					y := activations.Relu(bn(bctx.In("bn1"), conv(bctx.In("c1"), x, width, 3, stride, fc)))
					y = bn(bctx.In("bn2"), conv(bctx.In("c2"), y, width, 3, 1, fc))
					if stride != 1 || x.Shape().Dimensions[3] != width {
						x = bn(bctx.In("bns"), conv(bctx.In("short"), x, width, 1, stride, fc))
					}
					x = activations.Relu(Add(x, y))
				}
			}
			x = ReduceMean(x, 1, 2)
			return dense(ctx.In("fc"), x, 10, fc)
		}}
}

// Transformer sizes of the benchmark's text model.
const (
	tfWidth, tfHeads, tfSeq, tfVocab, tfLayers, tfFFN = 128, 4, 64, 1000, 2, 512
)

// transformer is a pre-norm encoder: token + position embeddings, tfLayers blocks of
// self-attention and a ReLU feed-forward, mean pooling and a 2-class head.
func transformer(batch int) model {
	return model{name: "Transformer 2×128, seq 64", peer: "transformer", batch: batch, input: shapes.Make(dtypes.Int32, batch, tfSeq),
		tokens: tfVocab, classes: 2,
		build: func(ctx *context.Context, x *Node, fc *flopCounter) *Node {
			g := x.Graph()
			h := layers.Embedding(ctx.In("tok"), x, dtypes.Float32, tfVocab, tfWidth)
			pos := layers.Embedding(ctx.In("pos"), Iota(g, shapes.Make(dtypes.Int32, tfSeq), 0), dtypes.Float32, tfSeq, tfWidth)
			h = Add(h, ExpandAxes(pos, 0))
			headDim := tfWidth / tfHeads
			tokensN := float64(batch * tfSeq)
			for l := range tfLayers {
				lctx := ctx.Inf("layer%d", l)
				a := layers.LayerNormalization(lctx.In("ln1"), h, -1).Done()
				// Q, K, V and output projections, plus the two attention products.
				fc.flops += 4*2*tokensN*tfWidth*tfWidth + 2*2*float64(batch*tfHeads)*tfSeq*tfSeq*float64(headDim)
				a = layers.MultiHeadAttention(lctx.In("mha"), a, a, a, tfHeads, headDim).Done()
				h = Add(h, a)
				f := layers.LayerNormalization(lctx.In("ln2"), h, -1).Done()
				f = activations.Relu(dense(lctx.In("ff1"), f, tfFFN, fc))
				h = Add(h, dense(lctx.In("ff2"), f, tfWidth, fc))
			}
			h = ReduceMean(layers.LayerNormalization(ctx.In("lnf"), h, -1).Done(), 1)
			return dense(ctx.In("cls"), h, 2, fc)
		}}
}

// models lists the benchmark in its run order (small memory users first, so the peak RSS
// read after ResNet-8 is ResNet-8's).
func models(quick bool) []model {
	if quick {
		return []model{mlp(64), resnet("ResNet-8", 1, 16), transformer(8)}
	}
	return []model{mlp(64), mlp(256), resnet("ResNet-8", 1, 64), resnet("ResNet-20", 3, 64), transformer(32)}
}
