package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// CNNConfig configures CNN.
type CNNConfig struct {
	NumClasses int
	// Channels lists the output channels of the conv stages; nil means {32, 64}.
	Channels []int
	// Dense is the width of the hidden dense layer; 0 means 128.
	Dense int
}

// CNN is a small convolutional network: per stage a 3×3 convolution (same padding, bias),
// ReLU and 2×2 max-pooling; then flatten, a dense ReLU layer and the logits.
// Parameters: Σ (9·in·out + out) + (H/2^s · W/2^s · last)·Dense + Dense + Dense·K + K.
func CNN(cfg CNNConfig) train.ModelFn {
	if cfg.Channels == nil {
		cfg.Channels = []int{32, 64}
	}
	if cfg.Dense == 0 {
		cfg.Dense = 128
	}
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		ctx = ctx.In("cnn")
		x := imageInput("cnn", inputs)
		for i, c := range cfg.Channels {
			x = convolution(scoped(ctx, "conv_%d", i), x, c, 3, 1, true)
			x = maxPool2(ctx, activations.Relu(x))
		}
		x = activations.Relu(layers.DenseWithBias(ctx.In("dense"), flatten(x), cfg.Dense))
		return []*Node{logits(ctx, x, cfg.NumClasses)}
	}
}

// conv3 is a 3×3 convolution without bias (a batch-norm follows), same padding.
func conv3(ctx *context.Context, x *Node, channels, stride int) *Node {
	return convolution(ctx, x, channels, 3, stride, false)
}

// conv1 is a 1×1 projection without bias.
func conv1(ctx *context.Context, x *Node, channels, stride int) *Node {
	return convolution(ctx, x, channels, 1, stride, false)
}

// bn is batch-norm over the channels (last) axis; its scale and offset are the trainable
// parameters (2·C), its moving mean and variance are not.
func bn(ctx *context.Context, x *Node) *Node {
	return batchnorm.New(ctx, x, -1).Done()
}

// globalAvgPool averages over the spatial axes: [B,H,W,C] → [B,C].
func globalAvgPool(x *Node) *Node {
	return ReduceMean(x, 1, 2)
}
