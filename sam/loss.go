package sam

import (
	"errors"
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// SmoothedCrossEntropy returns the label-smoothed cross-entropy loss the paper trains with
// (smoothing 0.1): with K classes and true class y the target distribution is
// q = (1−eps)·onehot(y) + eps/K, and the loss is the batch mean of −Σ_k q_k·log softmax(logits)_k.
// GoMLX v0.26.0's losses package has no label smoothing. The labels are integer class ids
// shaped [batch] or [batch, 1]; the logits are [batch, K]. log softmax is max-shifted.
// eps = 0 is plain sparse categorical cross-entropy. Extra label tensors (GoMLX's optional
// mask and weights) are not used: the loss is the plain batch mean.
func SmoothedCrossEntropy(eps float64) (train.LossFn, error) {
	if !(eps >= 0 && eps < 1) {
		return nil, fmt.Errorf("sam: label smoothing %g must be in [0, 1) (the paper uses 0.1)", eps)
	}
	return func(labels, predictions []*Node) *Node {
		if len(labels) == 0 || len(predictions) == 0 {
			panic(errors.New("sam.SmoothedCrossEntropy: needs labels and logits"))
		}
		logits, y := predictions[0], labels[0]
		if !y.DType().IsInt() {
			panic(fmt.Errorf("sam.SmoothedCrossEntropy: labels must be integer class ids, got %s", y.DType()))
		}
		k := logits.Shape().Dim(-1)
		if y.Rank() == logits.Rank() {
			y = Reshape(y, y.Shape().Dimensions[:y.Rank()-1]...)
		}
		target := AddScalar(MulScalar(OneHot(y, k, logits.DType()), 1-eps), eps/float64(k))
		return ReduceAllMean(Neg(ReduceSum(Mul(target, LogSoftmax(logits)), -1)))
	}, nil
}

// Loss returns SmoothedCrossEntropy with the optimizer's LabelSmoothing (validated by New).
func (o *Optimizer) Loss() train.LossFn {
	l, err := SmoothedCrossEntropy(o.cfg.LabelSmoothing)
	if err != nil {
		panic(err) // unreachable: New validated the configuration
	}
	return l
}
