package run

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
)

// modelFn returns the GoMLX model function of cfg for inputs with numClasses classes.
// Stand-in until the models package lands: the MLP 784-256-256-10 with ReLU.
func modelFn(cfg Config, numClasses int) (train.ModelFn, error) {
	switch cfg.Model {
	case "mlp":
		return func(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
			x := inputs[0]
			x = graph.Reshape(x, x.Shape().Dimensions[0], -1)
			for i, width := range []int{256, 256} {
				x = layers.DenseWithBias(ctx.In(fmt.Sprintf("dense%d", i)), x, width)
				x = activations.Relu(x)
			}
			return []*graph.Node{layers.DenseWithBias(ctx.In("logits"), x, numClasses)}
		}, nil
	}
	return nil, inputErrorf("model", "unknown model %q: choose one of %v", cfg.Model, Models)
}

// lossFn returns the mean cross-entropy of the logits, with label smoothing ls: the target
// is (1−ls)·onehot + ls/K.
func lossFn(ls float64) train.LossFn {
	if ls == 0 {
		return losses.SparseCategoricalCrossEntropyLogits
	}
	return func(labels, logits []*graph.Node) *graph.Node {
		l := logits[0]
		k := l.Shape().Dimensions[l.Rank()-1]
		y := graph.Reshape(labels[0], labels[0].Shape().Dimensions[0])
		target := graph.OneHot(y, k, l.DType())
		target = graph.AddScalar(graph.MulScalar(target, 1-ls), ls/float64(k))
		return losses.CategoricalCrossEntropyLogits([]*graph.Node{target}, logits)
	}
}
