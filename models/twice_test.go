package models

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// TestTwiceDifferentiableMatchesModel: the TwiceDifferentiable form of each convolutional
// model reads the same variables and gives the same logits and the same gradient of a
// weighted logit sum (first order, which GoMLX's own ops also give) as the model itself,
// in inference and in training mode (batch statistics), on odd image sizes (strided same
// padding, max-pooling that drops a row) as well as even ones; and its gradient can be
// differentiated again, which the model's cannot.
// heHead gives fn the He-normal logits layer: with the default zero head, every gradient
// below the logits would vanish at initialisation and the comparisons would test nothing.
func heHead(fn train.ModelFn) train.ModelFn {
	m, err := WithHeadInit(fn, HeadHe)
	if err != nil {
		panic(err)
	}
	return m
}

func TestTwiceDifferentiableMatchesModel(t *testing.T) {
	be := projectBackend(t)
	for _, c := range []struct {
		name string
		fn   train.ModelFn
		side int
		ch   int
		bn   bool // batch-norm: GoMLX has no gradient of it in inference mode
	}{
		{"cnn", heHead(CNN(CNNConfig{NumClasses: 3, Channels: []int{4, 5}, Dense: 6})), 14, 1, false},
		{"cnn-odd", heHead(CNN(CNNConfig{NumClasses: 3, Channels: []int{4}, Dense: 6})), 9, 2, false},
		{"resnet8", heHead(ResNet(CIFARResNetConfig(3, 8))), 9, 3, true},
		{"wrn10-1", heHead(WideResNet(WRNConfig{NumClasses: 3, Depth: 10, WidenFactor: 1})), 8, 3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, _ := randImages(2, c.side, c.side, c.ch, 3)
			ctx := seededContext()
			if _, err := context.ExecOnce(be, ctx, func(ctx *context.Context, x *Node) *Node { return c.fn(ctx, nil, []*Node{x})[0] }, x); err != nil {
				t.Fatal(err)
			}
			before := trainableParams(ctx)
			for _, training := range []bool{false, true} {
				grads := training || !c.bn
				want := logitsAndGrads(t, be, ctx, c.fn, x, training, grads)
				got := logitsAndGrads(t, be, ctx, TwiceDifferentiable(c.fn), x, training, grads)
				for i := range want {
					if d := relDiff(got[i], want[i]); d > 2e-5 {
						t.Errorf("training=%v: output %d (of logits, then gradients) differs by %.3g relative", training, i, d)
					}
				}
			}
			if after := trainableParams(ctx); after != before {
				t.Errorf("TwiceDifferentiable created variables: %d parameters, then %d", before, after)
			}
			hvp := func(fn train.ModelFn) error {
				_, err := context.ExecOnce(be, ctx.Reuse(), func(ctx *context.Context, x *Node) *Node {
					ctx.SetTraining(x.Graph(), false)
					out := ReduceAllSum(Square(fn(ctx, nil, []*Node{x})[0]))
					var at []*Node
					for v := range ctx.IterVariables() {
						if v.Trainable && v.Shape().DType == x.DType() {
							at = append(at, v.ValueGraph(x.Graph()))
						}
					}
					var dot *Node
					for _, g := range Gradient(out, at...) {
						term := ReduceAllSum(g)
						if dot == nil {
							dot = term
						} else {
							dot = Add(dot, term)
						}
					}
					return ReduceAllSum(Gradient(dot, at[0])[0])
				}, x)
				return err
			}
			if c.bn {
				return // sharpness registers the inference batch-norm gradient and tests the rest
			}
			if err := hvp(TwiceDifferentiable(c.fn)); err != nil {
				t.Errorf("second derivative of the TwiceDifferentiable model: %v", err)
			}
			if err := hvp(c.fn); err == nil {
				t.Log("GoMLX now differentiates its convolution's gradient: TwiceDifferentiable may be retired")
			}
		})
	}
}

// logitsAndGrads returns the logits of fn on x and the gradient of Σ logits·r (r a fixed
// pattern) with respect to every trainable variable (when grads), flattened, in the
// context's order.
func logitsAndGrads(t *testing.T, be backends.Backend, ctx *context.Context, fn train.ModelFn, x *tensors.Tensor, training, grads bool) [][]float32 {
	t.Helper()
	outs, err := context.ExecOnceN(be, ctx.Reuse(), func(ctx *context.Context, x *Node) []*Node {
		g := x.Graph()
		ctx.SetTraining(g, training)
		logits := fn(ctx, nil, []*Node{x})[0]
		if !grads {
			return []*Node{logits}
		}
		r := Sin(Iota(g, logits.Shape(), 1))
		obj := ReduceAllSum(Mul(logits, r))
		var at []*Node
		for v := range ctx.IterVariables() {
			if v.Trainable {
				at = append(at, v.ValueGraph(g))
			}
		}
		return append([]*Node{logits}, Gradient(obj, at...)...)
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		var err error
		if res[i], err = tensors.CopyFlatData[float32](o); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// relDiff is max|a−b| / (1 + max|b|).
func relDiff(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / (1 + m)
}
