package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// ResNetConfig configures ResNet: a 3×3 stem convolution, stages of basic residual blocks
// (conv3×3–BN–ReLU–conv3×3–BN plus shortcut, then ReLU), global average pooling and a
// dense layer. Every stage after the first halves the resolution in its first block.
// Shortcuts are identities, or a 1×1 convolution with batch-norm where the shape changes
// (He et al.'s option B, as in the common CIFAR ResNet-18 code; CIFAR ResNet-20's original
// option A pads with zeros instead and has no such parameters).
type ResNetConfig struct {
	NumClasses int
	// StemWidth is the stem convolution's output channels.
	StemWidth int
	// Widths and Blocks give each stage's channels and number of basic blocks.
	Widths, Blocks []int
}

// CIFARResNetConfig is the CIFAR ResNet of depth 6n+2 (8, 20, 32, ...): stem 16, three
// stages of n blocks with widths 16, 32, 64.
func CIFARResNetConfig(numClasses, depth int) ResNetConfig {
	n := (depth - 2) / 6
	return ResNetConfig{NumClasses: numClasses, StemWidth: 16, Widths: []int{16, 32, 64}, Blocks: []int{n, n, n}}
}

// ResNet18Config is ResNet-18 for 32×32 inputs (3×3 stem, no max-pool): stem 64, four
// stages of two blocks with widths 64, 128, 256, 512 (about 11.2M parameters).
func ResNet18Config(numClasses int) ResNetConfig {
	return ResNetConfig{NumClasses: numClasses, StemWidth: 64, Widths: []int{64, 128, 256, 512}, Blocks: []int{2, 2, 2, 2}}
}

// ResNet returns the residual network described by cfg.
func ResNet(cfg ResNetConfig) train.ModelFn {
	if len(cfg.Widths) != len(cfg.Blocks) || len(cfg.Widths) == 0 {
		panicf("resnet: %d widths for %d stages", len(cfg.Widths), len(cfg.Blocks))
	}
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		ctx = ctx.In("resnet")
		x := imageInput("resnet", inputs)
		x = activations.Relu(bn(ctx.In("stem_bn"), conv3(ctx.In("stem"), x, cfg.StemWidth, 1)))
		for s, width := range cfg.Widths {
			for b := range cfg.Blocks[s] {
				stride := 1
				if s > 0 && b == 0 {
					stride = 2
				}
				x = basicBlock(scoped(ctx, "stage_%d_block_%d", s, b), x, width, stride)
			}
		}
		return []*Node{logits(ctx, globalAvgPool(x), cfg.NumClasses)}
	}
}

// basicBlock is one post-activation residual block. Parameters: 9·in·out + 2·out +
// 9·out·out + 2·out, plus in·out + 2·out for a projection shortcut.
func basicBlock(ctx *context.Context, x *Node, width, stride int) *Node {
	in := x.Shape().Dimensions[3]
	h := activations.Relu(bn(ctx.In("bn1"), conv3(ctx.In("conv1"), x, width, stride)))
	h = bn(ctx.In("bn2"), conv3(ctx.In("conv2"), h, width, 1))
	shortcut := x
	if stride != 1 || in != width {
		shortcut = bn(ctx.In("shortcut_bn"), conv1(ctx.In("shortcut"), x, width, stride))
	}
	return activations.Relu(Add(h, shortcut))
}
