package models

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX's idiom for graph code
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Initialisations of the logits layer (the "head"), for WithHeadInit.
const (
	// HeadZero starts the logits layer at zero weights and biases: every model's first
	// prediction is uniform, so training starts at the loss ln K of K classes. The default.
	HeadZero = "zero"
	// HeadHe initialises the logits layer as every other layer, with GoMLX's He-normal
	// default (std √(2/fan-in), zero biases): the models' head before this option existed.
	// He's factor 2 is meant for a layer followed by a ReLU; on the linear logits it gives
	// them a spread of about one unit or more at initialisation, so the loss starts well
	// above ln K (the small CNN on standardised Fashion-MNIST: 4.2 against ln 10 = 2.30) and
	// the first SGD steps at lr 0.03 with momentum 0.9 overshoot. Sharpness-aware steps,
	// which take their gradient at a perturbed point of that steep start, then kill the
	// ReLUs on some seeds: SAM and TSAM at ρ = 0.1 ended at the uniform guess on 2 and 3 of
	// 5 seeds of a Fashion-MNIST CNN column, each in its first epoch, where zero heads
	// train on all of them.
	HeadHe = "he"
)

// HeadInits lists the values WithHeadInit accepts.
var HeadInits = []string{HeadZero, HeadHe}

// graphParamHead is the graph parameter WithHeadInit sets: the initialisation of the
// logits layer of the graph being built.
const graphParamHead = "models_head_init"

// WithHeadInit returns model m (a model function of this package) with its logits layer
// initialised as init says (HeadZero, the default of every model here, or HeadHe). The
// initialiser only acts when the layer's variables are created, on the first graph built
// in a fresh context: a model restored from a checkpoint keeps its weights.
func WithHeadInit(m train.ModelFn, init string) (train.ModelFn, error) {
	if err := ValidateHeadInit(init); err != nil {
		return nil, err
	}
	return func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		ctx.SetGraphParam(inputs[0].Graph(), graphParamHead, init)
		return m(ctx, spec, inputs)
	}, nil
}

// ValidateHeadInit reports an error naming the valid values unless init is one of HeadInits.
func ValidateHeadInit(init string) error {
	if slices.Contains(HeadInits, init) {
		return nil
	}
	return fmt.Errorf("unknown head initialisation %q: choose one of %s", init, strings.Join(HeadInits, ", "))
}

// logits is the models' last layer: a dense layer with bias from x [B,F] to numClasses
// logits, under the scope "logits", initialised as the graph's WithHeadInit says.
func logits(ctx *context.Context, x *Node, numClasses int) *Node {
	c := ctx.In("logits")
	if context.GetGraphParamOr(ctx, x.Graph(), graphParamHead, HeadZero) == HeadZero {
		c = c.WithInitializer(initializers.Zero)
	}
	return layers.DenseWithBias(c, x, numClasses)
}
