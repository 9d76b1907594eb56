package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// WRNConfig configures WideResNet (Zagoruyko & Komodakis 2016).
type WRNConfig struct {
	NumClasses int
	// Depth is 6n+4 (16 for WRN-16-k: n = 2 blocks per stage).
	Depth int
	// WidenFactor k multiplies the stage widths 16, 32, 64.
	WidenFactor int
	// DropoutRate, when positive, applies dropout between a block's two convolutions
	// during training.
	DropoutRate float64
}

// WideResNet returns WRN-depth-k: a 3×3 stem convolution to 16 channels, three stages of
// n = (depth−4)/6 pre-activation blocks (BN–ReLU–conv3×3–BN–ReLU–conv3×3) of widths 16k,
// 32k, 64k (stride 2 at the start of stages 2 and 3), a final BN–ReLU, global average
// pooling and a dense layer. Convolutions have no bias; a 1×1 convolution projects the
// shortcut where the shape changes.
func WideResNet(cfg WRNConfig) train.ModelFn {
	if cfg.Depth < 10 || (cfg.Depth-4)%6 != 0 || cfg.WidenFactor < 1 {
		panicf("wideresnet: depth %d must be 6n+4 ≥ 10 and widen factor %d ≥ 1", cfg.Depth, cfg.WidenFactor)
	}
	n := (cfg.Depth - 4) / 6
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		ctx = ctx.In("wrn")
		x := imageInput("wideresnet", inputs)
		x = conv3(ctx.In("stem"), x, 16, 1)
		for s, base := range []int{16, 32, 64} {
			for b := range n {
				stride := 1
				if s > 0 && b == 0 {
					stride = 2
				}
				x = wideBlock(scoped(ctx, "stage_%d_block_%d", s, b), x, base*cfg.WidenFactor, stride, cfg.DropoutRate)
			}
		}
		x = activations.Relu(bn(ctx.In("final_bn"), x))
		return []*Node{logits(ctx, globalAvgPool(x), cfg.NumClasses)}
	}
}

// wideBlock is one pre-activation block. Parameters: 2·in + 9·in·out + 2·out + 9·out·out,
// plus in·out for a projection shortcut.
func wideBlock(ctx *context.Context, x *Node, width, stride int, dropout float64) *Node {
	in := x.Shape().Dimensions[3]
	pre := activations.Relu(bn(ctx.In("bn1"), x))
	h := conv3(ctx.In("conv1"), pre, width, stride)
	h = activations.Relu(bn(ctx.In("bn2"), h))
	if dropout > 0 {
		h = layers.DropoutStatic(ctx, h, dropout)
	}
	h = conv3(ctx.In("conv2"), h, width, 1)
	shortcut := x
	if stride != 1 || in != width {
		// As in the reference code, the projection reads the pre-activated input.
		shortcut = conv1(ctx.In("shortcut"), pre, width, stride)
	}
	return Add(h, shortcut)
}
