// Package models holds the model families of the TSAM paper's experiments as GoMLX model
// functions (train.ModelFn): an MLP, a small CNN, CIFAR-style ResNets (depth 6n+2 with
// widths 16/32/64, and ResNet-18 with widths 64–512), WideResNet-16-k, a small ViT with
// 4×4 patches and a text transformer classifier.
//
// Image models take inputs[0] shaped [B,H,W,C] float32; the text model takes [B,L] int32
// token ids (0 is padding). Every model returns one output, the logits [B,NumClasses],
// ready for losses.SparseCategoricalCrossEntropyLogits with labels [B,1] int32.
//
// Variables live under a scope named after the model inside the given context. Batch-norm
// layers follow the context's training flag (set by train.Trainer): batch statistics when
// training, moving averages otherwise. Convolutions, pooling and batch-norm need a backend
// that can differentiate them (the project's backend package, registered as "cpu"); the
// MLP, the ViT and the text transformer also train on stock simplego.
package models

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX's idiom for graph code
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Options gives New what the model cannot infer from its input shape.
type Options struct {
	// NumClasses is the number of output logits (required).
	NumClasses int
	// VocabSize and MaxLen are required by the text transformer: the tokenizer's vocabulary
	// size and its fixed sequence length.
	VocabSize, MaxLen int
}

// entry is one named configuration of the registry.
type entry struct {
	help string
	make func(o Options) train.ModelFn
	text bool
}

var registry = map[string]entry{
	"mlp": {help: "MLP with two hidden layers of 512", make: func(o Options) train.ModelFn {
		return MLP(MLPConfig{NumClasses: o.NumClasses, Hidden: []int{512, 512}})
	}},
	"cnn": {help: "small CNN: two conv3×3+max-pool stages (32, 64 channels), dense 128", make: func(o Options) train.ModelFn {
		return CNN(CNNConfig{NumClasses: o.NumClasses})
	}},
	"resnet18": {help: "CIFAR ResNet-18: widths 64/128/256/512, two basic blocks per stage", make: func(o Options) train.ModelFn {
		return ResNet(ResNet18Config(o.NumClasses))
	}},
	"vit": {help: "small ViT: 4×4 patches, width 128, 4 layers, 4 heads, MLP 256", make: func(o Options) train.ModelFn {
		return ViT(ViTConfig{NumClasses: o.NumClasses})
	}},
	"transformer": {text: true, help: "text transformer: width 128, 2 layers, 4 heads, MLP 256, masked mean pooling", make: func(o Options) train.ModelFn {
		return TextTransformer(TransformerConfig{NumClasses: o.NumClasses, VocabSize: o.VocabSize, MaxLen: o.MaxLen})
	}},
}

// Names lists the model names New accepts, besides the parameterised families
// resnet<6n+2> (e.g. resnet20) and wrn16-<k> (e.g. wrn16-8).
func Names() []string {
	names := []string{"resnet8", "resnet20", "resnet32", "wrn16-2", "wrn16-4", "wrn16-8"}
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsText reports whether the named model takes token ids rather than images.
func IsText(name string) bool { return registry[name].text }

// New returns the named model: mlp, cnn, resnet<depth> (depth = 6n+2, e.g. resnet8,
// resnet20, resnet32), resnet18, wrn16-<k> (e.g. wrn16-8), vit or transformer. Errors list
// the valid names.
func New(name string, o Options) (train.ModelFn, error) {
	if o.NumClasses < 2 {
		return nil, fmt.Errorf("model %s: NumClasses=%d, need at least 2", name, o.NumClasses)
	}
	if e, ok := registry[name]; ok {
		if e.text && (o.VocabSize < 3 || o.MaxLen < 1) {
			return nil, fmt.Errorf("model %s needs the tokenizer's VocabSize (≥3, got %d) and MaxLen (≥1, got %d)", name, o.VocabSize, o.MaxLen)
		}
		return e.make(o), nil
	}
	if d, ok := strings.CutPrefix(name, "wrn16-"); ok {
		if k, err := strconv.Atoi(d); err == nil && k >= 1 {
			return WideResNet(WRNConfig{NumClasses: o.NumClasses, Depth: 16, WidenFactor: k}), nil
		}
	}
	if d, ok := strings.CutPrefix(name, "resnet"); ok {
		if depth, err := strconv.Atoi(d); err == nil && depth >= 8 && (depth-2)%6 == 0 {
			return ResNet(CIFARResNetConfig(o.NumClasses, depth)), nil
		}
	}
	return nil, fmt.Errorf("unknown model %q: valid names are %s (resnet<6n+2> and wrn16-<k> for any n, k ≥ 1)", name, strings.Join(Names(), ", "))
}

// flatten reshapes [B, ...] to [B, prod(...)].
func flatten(x *Node) *Node {
	return Reshape(x, x.Shape().Dimensions[0], -1)
}

// scoped returns ctx.In(format, args...).
func scoped(ctx *context.Context, format string, args ...any) *context.Context {
	return ctx.In(fmt.Sprintf(format, args...))
}

// imageInput checks that inputs[0] is a [B,H,W,C] float tensor.
func imageInput(model string, inputs []*Node) *Node {
	if len(inputs) == 0 || inputs[0].Rank() != 4 || !inputs[0].DType().IsFloat() {
		var got any = "no input"
		if len(inputs) > 0 {
			got = inputs[0].Shape()
		}
		panicf("%s: want images shaped [batch, height, width, channels] (float), got %v", model, got)
	}
	return inputs[0]
}

// panicf reports a misconfigured model while its graph is built; GoMLX's executors turn
// the panic into an error returned to the caller.
func panicf(format string, args ...any) {
	panic(fmt.Errorf(format, args...))
}
