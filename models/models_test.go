package models

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/tsamgo/tsam/backend"
)

// stockBackend is GoMLX's pure-Go backend, sequential to avoid its worker-pool deadlock
// on two cores.
func stockBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// projectBackend is the project's CPU backend, which trains convolutions and batch-norm.
func projectBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// randImages returns a [b,h,w,c] batch of uniform values and labels [b,1] cycling
// through k classes.
func randImages(b, h, w, c, k int) (*tensors.Tensor, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, b*h*w*c)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, b)
	for i := range y {
		y[i] = int32(i % k)
	}
	return tensors.FromFlatDataAndDimensions(x, b, h, w, c), tensors.FromFlatDataAndDimensions(y, b, 1)
}

func randTokens(b, l, vocab, k int) (*tensors.Tensor, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]int32, b*l)
	for i := range ids {
		// Rows have different lengths; the rest is padding (id 0).
		if i%l < 2+(i/l)%(l-1) {
			ids[i] = int32(1 + rng.IntN(vocab-1))
		}
	}
	y := make([]int32, b)
	for i := range y {
		y[i] = int32(i % k)
	}
	return tensors.FromFlatDataAndDimensions(ids, b, l), tensors.FromFlatDataAndDimensions(y, b, 1)
}

// forward runs the model once (inference mode) and returns its output dimensions and
// trainable parameter count.
func forward(t *testing.T, be backends.Backend, fn train.ModelFn, x *tensors.Tensor) ([]int, int) {
	t.Helper()
	ctx := seededContext()
	exec, err := context.NewExec(be, ctx, func(ctx *context.Context, x *Node) *Node {
		return fn(ctx, nil, []*Node{x})[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Shape().Dimensions, trainableParams(ctx)
}

// testSeed seeds variable initialisation, so the tests are deterministic.
const testSeed = int64(1)

func seededContext() *context.Context {
	ctx := context.New()
	ctx.SetParam(initializers.ParamInitialSeed, testSeed)
	return ctx
}

func trainableParams(ctx *context.Context) int {
	n := 0
	for v := range ctx.IterVariables() {
		if v.Trainable {
			n += v.Shape().Size()
		}
	}
	return n
}

// lossFalls trains on one fixed batch and checks that the loss drops well below its
// starting value within the given steps.
func lossFalls(t *testing.T, be backends.Backend, fn train.ModelFn, x, y *tensors.Tensor, steps int, lr float64) {
	t.Helper()
	ctx := seededContext()
	tr := train.NewTrainer(be, ctx, fn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.Adam().LearningRate(lr).Done(), nil, nil)
	var first, last float32
	for s := range steps {
		m, err := tr.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		last = m[0].Value().(float32)
		if s == 0 {
			first = last
		}
	}
	t.Logf("loss %.4f → %.4f in %d steps", first, last, steps)
	if !(last < 0.7*first) {
		t.Fatalf("loss did not fall: %.4f → %.4f in %d steps", first, last, steps)
	}
}

func dense(in, out int) int { return in*out + out }

func TestMLP(t *testing.T) {
	be := stockBackend(t)
	fn := MLP(MLPConfig{NumClasses: 10, Hidden: []int{32, 16}})
	x, y := randImages(8, 6, 6, 1, 10)
	dims, n := forward(t, be, fn, x)
	if !slices.Equal(dims, []int{8, 10}) || n != dense(36, 32)+dense(32, 16)+dense(16, 10) {
		t.Fatalf("dims %v params %d", dims, n)
	}
	lossFalls(t, be, fn, x, y, 30, 1e-2)
}

func TestMLPDefaultParams(t *testing.T) {
	fn, err := New("mlp", Options{NumClasses: 10})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := randImages(2, 28, 28, 1, 10)
	dims, n := forward(t, stockBackend(t), fn, x)
	// 784-512-512-10: 669,706 parameters.
	if !slices.Equal(dims, []int{2, 10}) || n != dense(784, 512)+dense(512, 512)+dense(512, 10) || n != 669706 {
		t.Fatalf("dims %v params %d", dims, n)
	}
}

// encoderParams is the hand count of encoder blocks plus the final LayerNorm.
func encoderParams(d, layers, mlp int) int {
	block := 2*d + (4*d*d + 4*d) + 2*d + dense(d, mlp) + dense(mlp, d)
	return layers*block + 2*d
}

func TestTextTransformer(t *testing.T) {
	be := stockBackend(t)
	const vocab, l, k = 50, 8, 2
	fn := TextTransformer(TransformerConfig{NumClasses: k, VocabSize: vocab, MaxLen: l, Dim: 16, Layers: 1, Heads: 2, MLPDim: 32})
	x, y := randTokens(8, l, vocab, k)
	dims, n := forward(t, be, fn, x)
	want := vocab*16 + l*16 + encoderParams(16, 1, 32) + dense(16, k)
	if !slices.Equal(dims, []int{8, k}) || n != want {
		t.Fatalf("dims %v params %d, want %d", dims, n, want)
	}
	lossFalls(t, be, fn, x, y, 25, 1e-2)
}

func TestTextTransformerDefaultParams(t *testing.T) {
	fn, err := New("transformer", Options{NumClasses: 2, VocabSize: 1000, MaxLen: 64})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := randTokens(2, 64, 1000, 2)
	dims, n := forward(t, stockBackend(t), fn, x)
	if want := 1000*128 + 64*128 + encoderParams(128, 2, 256) + dense(128, 2); !slices.Equal(dims, []int{2, 2}) || n != want {
		t.Fatalf("dims %v params %d, want %d", dims, n, want)
	}
}

// TestTextTransformerIgnoresPadding checks the attention key mask and the masked pooling:
// perturbing the position embeddings of padded positions leaves a padded row's logits
// unchanged, while a row with real tokens there does change.
func TestTextTransformerIgnoresPadding(t *testing.T) {
	be := stockBackend(t)
	fn := heHead(TextTransformer(TransformerConfig{NumClasses: 3, VocabSize: 20, MaxLen: 6, Dim: 8, Layers: 1, Heads: 2, MLPDim: 8})) // a zero head hides every change
	ctx := seededContext()
	exec, err := context.NewExec(be, ctx, func(ctx *context.Context, x *Node) *Node { return fn(ctx, nil, []*Node{x})[0] })
	if err != nil {
		t.Fatal(err)
	}
	a := tensors.FromValue([][]int32{{5, 7, 9, 0, 0, 0}, {1, 2, 3, 4, 5, 6}})
	outA, err := exec.Exec(a)
	if err != nil {
		t.Fatal(err)
	}
	pos := ctx.InspectVariable("/transformer/positions", "embeddings")
	if pos == nil {
		t.Fatal("position embedding variable not found")
	}
	v := pos.MustValue().Value().([][][]float32)
	for p := 3; p < 6; p++ {
		for d := range v[0][p] {
			v[0][p][d] += 10
		}
	}
	pos.MustSetValue(tensors.FromValue(v))
	outB, err := exec.Exec(a)
	if err != nil {
		t.Fatal(err)
	}
	la, lb := outA[0].Value().([][]float32), outB[0].Value().([][]float32)
	for c := range la[0] {
		if d := la[0][c] - lb[0][c]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("padding positions changed row 0's logits: %v vs %v", la[0], lb[0])
		}
	}
	if la[1][0] == lb[1][0] {
		t.Fatal("unpadded row 1 should see the changed position embeddings")
	}
}

func TestViT(t *testing.T) {
	be := stockBackend(t)
	fn := ViT(ViTConfig{NumClasses: 4, Dim: 16, Layers: 1, Heads: 2, MLPDim: 32})
	x, y := randImages(8, 8, 8, 3, 4)
	dims, n := forward(t, be, fn, x)
	want := dense(4*4*3, 16) + 4*16 + encoderParams(16, 1, 32) + dense(16, 4)
	if !slices.Equal(dims, []int{8, 4}) || n != want {
		t.Fatalf("dims %v params %d, want %d", dims, n, want)
	}
	lossFalls(t, be, fn, x, y, 25, 1e-2)
}

func TestViTDefaultParams(t *testing.T) {
	fn, _ := New("vit", Options{NumClasses: 10})
	x, _ := randImages(1, 32, 32, 3, 10)
	dims, n := forward(t, stockBackend(t), fn, x)
	if want := dense(48, 128) + 64*128 + encoderParams(128, 4, 256) + dense(128, 10); !slices.Equal(dims, []int{1, 10}) || n != want {
		t.Fatalf("dims %v params %d, want %d", dims, n, want)
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New("resnet9", Options{NumClasses: 10})
	if err == nil || !strings.Contains(err.Error(), "unknown model \"resnet9\"") || !strings.Contains(err.Error(), "resnet20") || !strings.Contains(err.Error(), "wrn16-8") {
		t.Fatalf("error %v", err)
	}
	if _, err := New("transformer", Options{NumClasses: 2}); err == nil || !strings.Contains(err.Error(), "VocabSize") {
		t.Fatalf("error %v", err)
	}
	if _, err := New("mlp", Options{NumClasses: 1}); err == nil || !strings.Contains(err.Error(), "NumClasses") {
		t.Fatalf("error %v", err)
	}
	for _, n := range []string{"resnet8", "resnet20", "resnet32", "resnet44", "resnet18", "wrn16-1", "wrn16-8", "mlp", "cnn", "vit"} {
		if _, err := New(n, Options{NumClasses: 10}); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
}
