package models

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX's idiom for graph code
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// graphParamTwice is the graph parameter TwiceDifferentiable sets: the convolutions and
// max-pooling of the graph being built use twiceConv and twiceMaxPool.
const graphParamTwice = "models_twice_differentiable"

// TwiceDifferentiable returns model m (a model function of this package) building graphs
// whose convolutions and max-pooling GoMLX can differentiate twice, as a Hessian-vector
// product ∇⟨∇L, v⟩ needs. GoMLX v0.26 differentiates ConvGeneral and MaxPool once: their
// gradients are made of ops it has no gradient for (Reverse, Pad, SelectAndScatterMax), and
// the gradient of the kernel-gradient convolution it builds assigns the wrong axes. The
// returned model reads the same variables and computes the same function, with each
// convolution written as a gather of the input's k×k windows followed by one matrix
// product, and each max-pooling as a gather of its windows followed by a max: gathers,
// scatter-sums, transposes, reshapes, products and reductions all have gradients that are
// themselves differentiable. It is slower than m; use it only for second-order work.
func TwiceDifferentiable(m train.ModelFn) train.ModelFn {
	return func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		ctx.SetGraphParam(inputs[0].Graph(), graphParamTwice, true)
		return m(ctx, spec, inputs)
	}
}

// twice reports whether the graph x belongs to is built by a TwiceDifferentiable model.
func twice(ctx *context.Context, x *Node) bool {
	return context.GetGraphParamOr(ctx, x.Graph(), graphParamTwice, false)
}

// convolution is a k×k convolution of x [B,H,W,C] with the given output channels and
// stride, same padding ((k−1)/2 before, k/2 after, as GoMLX's PadSame), and an optional
// bias: layers.Convolution, or twiceConv in a TwiceDifferentiable graph (same variables).
func convolution(ctx *context.Context, x *Node, channels, k, stride int, bias bool) *Node {
	if !twice(ctx, x) {
		return layers.Convolution(ctx, x).Channels(channels).KernelSize(k).Strides(stride).PadSame().UseBias(bias).Done()
	}
	return twiceConv(ctx, x, channels, k, stride, bias)
}

// maxPool2 is 2×2 max-pooling with stride 2 and no padding (GoMLX's MaxPool.Window(2)),
// or twiceMaxPool in a TwiceDifferentiable graph.
func maxPool2(ctx *context.Context, x *Node) *Node {
	if !twice(ctx, x) {
		return MaxPool(x).Window(2).Done()
	}
	return twiceMaxPool(x, 2)
}

// twiceConv computes what layers.Convolution(ctx, x).Channels(channels).KernelSize(k)
// .Strides(stride).PadSame().UseBias(bias) computes, with the variables it creates
// (ctx.In("conv"): "weights" [k,k,C,channels], "biases" [channels]), from gathers and one
// matrix product. The patch of output pixel (y, x) lists input pixels (y·s+i−p, x·s+j−p)
// for i, j < k in row-major order, each with its C channels: the order of the weights'
// flattened [k·k·C] axis.
func twiceConv(ctx *context.Context, x *Node, channels, k, stride int, bias bool) *Node {
	ctx = ctx.In("conv")
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[3]
	w := ctx.VariableWithShape("weights", shapes.Make(x.DType(), k, k, c, channels)).ValueGraph(x.Graph())
	patches, oh, ow := windows(x, k, stride, (k-1)/2, k/2) // [B·oh·ow, k·k·C]
	out := Reshape(Dot(patches, Reshape(w, k*k*c, channels)), b, oh, ow, channels)
	if bias {
		bv := ctx.VariableWithShape("biases", shapes.Make(x.DType(), channels)).ValueGraph(x.Graph())
		out = Add(out, Reshape(bv, 1, 1, 1, channels))
	}
	return out
}

// twiceMaxPool is k×k max-pooling with stride k and no padding, as a gather of the windows
// and a max over each: the max's gradient goes to the window's largest input (to each of
// them on a tie, where GoMLX's MaxPool picks one; after a ReLU, ties are windows of zeros,
// whose gradient the ReLU stops).
func twiceMaxPool(x *Node, k int) *Node {
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[3]
	win, oh, ow := windows(x, k, k, 0, 0) // [B·oh·ow, k·k·C]
	return ReduceMax(Reshape(win, b, oh, ow, k*k, c), 3)
}

// windows gathers the k×k windows of x [B,H,W,C] at stride s, with p rows and columns of
// zero padding before and after rows and columns after: [B·oh·ow, k·k·C] with
// oh = ⌊(H+p+after−k)/s⌋+1. Padding positions gather pixel 0 and are multiplied by a
// constant 0, so that no Pad (whose gradient GoMLX lacks) enters the graph.
func windows(x *Node, k, s, p, after int) (out *Node, oh, ow int) {
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	oh, ow = (h+p+after-k)/s+1, (w+p+after-k)/s+1
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("models: %d×%d window at stride %d does not fit a %d×%d image", k, k, s, h, w))
	}
	idx := make([]int32, 0, oh*ow*k*k)
	mask := make([]float64, 0, oh*ow*k*k)
	for y := range oh {
		for xx := range ow {
			for i := range k {
				for j := range k {
					r, col := y*s+i-p, xx*s+j-p
					if r < 0 || r >= h || col < 0 || col >= w {
						idx, mask = append(idx, 0), append(mask, 0)
						continue
					}
					idx, mask = append(idx, int32(r*w+col)), append(mask, 1)
				}
			}
		}
	}
	g := x.Graph()
	pixels := Transpose(Reshape(x, b, h*w, c), 0, 1) // [H·W, B, C]: Gather indexes the leading axis
	gathered := Gather(pixels, Reshape(Const(g, idx), len(idx), 1))
	if p > 0 || after > 0 {
		gathered = Mul(gathered, ConvertDType(Reshape(Const(g, mask), len(mask), 1, 1), x.DType()))
	}
	// [oh·ow·k·k, B, C] → [B, oh·ow, k·k·C]
	gathered = Reshape(gathered, oh*ow, k*k, b, c)
	gathered = TransposeAllDims(gathered, 2, 0, 1, 3)
	return Reshape(gathered, b*oh*ow, k*k*c), oh, ow
}
