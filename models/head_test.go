package models

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
)

// TestHeadInit: with the default zero head every model's first logits are exactly zero, so
// its cross-entropy is ln K whatever the input; with WithHeadInit(HeadHe) the logits start
// spread out (the small CNN on standardised-scale inputs: a spread of order one) and the
// loss above ln K; the two share every variable but the head's values.
func TestHeadInit(t *testing.T) {
	be := projectBackend(t)
	img, imgY := randImages(16, 12, 12, 1, 4)
	tok, tokY := randTokens(16, 8, 50, 4)
	for _, c := range []struct {
		name string
		fn   train.ModelFn
		x, y *tensors.Tensor
	}{
		{"mlp", MLP(MLPConfig{NumClasses: 4, Hidden: []int{64, 64}}), img, imgY},
		{"cnn", CNN(CNNConfig{NumClasses: 4, Channels: []int{16, 32}, Dense: 64}), img, imgY},
		{"resnet8", ResNet(CIFARResNetConfig(4, 8)), img, imgY},
		{"transformer", TextTransformer(TransformerConfig{NumClasses: 4, VocabSize: 50, MaxLen: 8, Dim: 16, Layers: 1, Heads: 2, MLPDim: 32}), tok, tokY},
	} {
		t.Run(c.name, func(t *testing.T) {
			he, err := WithHeadInit(c.fn, HeadHe)
			if err != nil {
				t.Fatal(err)
			}
			zero, err := WithHeadInit(c.fn, HeadZero)
			if err != nil {
				t.Fatal(err)
			}
			lnK := math.Log(4)
			for _, fn := range []train.ModelFn{c.fn, zero} {
				spread, loss := firstLogits(t, be, fn, c.x, c.y)
				if spread != 0 || math.Abs(loss-lnK) > 1e-6 {
					t.Errorf("zero head: logits' spread %.3g (want 0), loss %.6f (want ln 4 = %.6f)", spread, loss, lnK)
				}
			}
			spread, loss := firstLogits(t, be, he, c.x, c.y)
			if spread < 0.05 || loss <= lnK {
				t.Errorf("He head: logits' spread %.3g, loss %.4f: want a spread and a loss above ln 4 = %.4f", spread, loss, lnK)
			}
			t.Logf("He head: logits' spread %.3f, loss %.3f (ln 4 = %.3f)", spread, loss, lnK)
		})
	}
}

// firstLogits builds fn in a fresh seeded context and returns the standard deviation of
// its logits on x and their mean cross-entropy against y.
func firstLogits(t *testing.T, be backends.Backend, fn train.ModelFn, x, y *tensors.Tensor) (spread, loss float64) {
	t.Helper()
	out, err := context.ExecOnceN(be, seededContext(), func(ctx *context.Context, x, y *Node) []*Node {
		ctx.SetTraining(x.Graph(), false)
		logits := ConvertDType(fn(ctx, nil, []*Node{x})[0], dtypes.Float32)
		centred := Sub(logits, ReduceAllMean(logits))
		l := losses.SparseCategoricalCrossEntropyLogits([]*Node{y}, []*Node{logits})
		return []*Node{Sqrt(ReduceAllMean(Square(centred))), ReduceAllMean(l)}
	}, x, y)
	if err != nil {
		t.Fatal(err)
	}
	return float64(out[0].Value().(float32)), float64(out[1].Value().(float32))
}

func TestWithHeadInitRejectsUnknown(t *testing.T) {
	_, err := WithHeadInit(CNN(CNNConfig{NumClasses: 3}), "xavier")
	if err == nil || !strings.Contains(err.Error(), `"xavier"`) || !strings.Contains(err.Error(), "zero, he") {
		t.Errorf("err = %v, want one naming the value and the choices", err)
	}
}
