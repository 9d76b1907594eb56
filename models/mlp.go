package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// MLPConfig configures MLP.
type MLPConfig struct {
	NumClasses int
	// Hidden lists the widths of the hidden layers (ReLU); none gives logistic regression.
	Hidden []int
}

// MLP flattens its input (any shape [B, ...]) and applies dense ReLU layers of widths
// cfg.Hidden, then a dense layer to the logits. Parameters: Σ (in·out + out) over layers.
func MLP(cfg MLPConfig) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		ctx = ctx.In("mlp")
		x := flatten(inputs[0])
		if !x.DType().IsFloat() {
			panicf("mlp: want a float input, got %s", x.Shape())
		}
		for i, h := range cfg.Hidden {
			x = activations.Relu(layers.DenseWithBias(scoped(ctx, "hidden_%d", i), x, h))
		}
		return []*Node{logits(ctx, x, cfg.NumClasses)}
	}
}
