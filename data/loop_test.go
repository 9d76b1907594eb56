package data_test

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/tsamgo/tsam/data"
	"github.com/tsamgo/tsam/models"
)

// TestTrainLoopConsumesDatasets runs GoMLX's train.Loop directly on an ImageDataset
// (MNIST) and on a TextDataset, for whole epochs, and checks that the loss falls.
func TestTrainLoopConsumesDatasets(t *testing.T) {
	t.Setenv(data.CacheEnv, t.TempDir())
	be, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	m, err := data.MNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, 512)
	for i := range idx {
		idx[i] = i
	}
	small := m.Subset("mnist/test[:512]", idx)
	norm := data.ChannelStats(small)
	ds, err := data.NewImageDataset(small, data.BatchOptions{BatchSize: 64, Shuffle: true, Seed: 1, DropLast: true}, nil, &norm)
	if err != nil {
		t.Fatal(err)
	}
	runEpochs(t, be, ds, models.MLP(models.MLPConfig{NumClasses: 10, Hidden: []int{64}}), 3)

	text := &data.Text{Name: "toy", NumClasses: 2,
		Sentences: []string{"good fine great", "bad awful", "great good", "awful bad terrible", "fine", "terrible"},
		Y:         []int32{1, 0, 1, 0, 1, 0}}
	tok, err := data.BuildTokenizer(text.Sentences, data.TokenizerOptions{MaxLen: 4})
	if err != nil {
		t.Fatal(err)
	}
	tds, err := data.NewTextDataset(text, tok, data.BatchOptions{BatchSize: 3, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	fn := models.TextTransformer(models.TransformerConfig{NumClasses: 2, VocabSize: tok.VocabSize(), MaxLen: 4, Dim: 8, Layers: 1, Heads: 2, MLPDim: 8})
	runEpochs(t, be, tds, fn, 20)
}

func runEpochs(t *testing.T, be backends.Backend, ds train.Dataset, fn train.ModelFn, epochs int) {
	t.Helper()
	ctx := context.New()
	ctx.SetParam(initializers.ParamInitialSeed, int64(3))
	tr := train.NewTrainer(be, ctx, fn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.Adam().LearningRate(1e-2).Done(), nil, nil)
	loop := train.NewLoop(tr)
	before, err := tr.Eval(ds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loop.RunEpochs(ds, epochs); err != nil {
		t.Fatal(err)
	}
	after, err := tr.Eval(ds)
	if err != nil {
		t.Fatal(err)
	}
	l0, l1 := before[0].Value().(float32), after[0].Value().(float32)
	t.Logf("%s: mean loss %.4f → %.4f after %d epochs", ds.Name(), l0, l1, epochs)
	if !(l1 < 0.5*l0) {
		t.Fatalf("%s: loss %.4f → %.4f: training through train.Loop did not learn", ds.Name(), l0, l1)
	}
}
