package models

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// encoderConfig is what the ViT and the text transformer share.
type encoderConfig struct {
	Dim, Layers, Heads, MLPDim int
}

func (c *encoderConfig) defaults(dim, layers, heads, mlp int) {
	if c.Dim == 0 {
		c.Dim = dim
	}
	if c.Layers == 0 {
		c.Layers = layers
	}
	if c.Heads == 0 {
		c.Heads = heads
	}
	if c.MLPDim == 0 {
		c.MLPDim = mlp
	}
	if c.Dim%c.Heads != 0 {
		panicf("transformer: width %d is not a multiple of %d heads", c.Dim, c.Heads)
	}
}

// encoder applies cfg.Layers pre-norm transformer blocks to x [B,T,D]:
// x += MHA(LN(x)); x += MLP(LN(x)) with a GELU hidden layer. keyMask [B,T] (true for real
// tokens) may be nil. Parameters per block: 2D (LN) + 4D²+4D (attention: query, key,
// value, output projections with biases) + 2D (LN) + D·M+M + M·D+D (MLP).
func encoder(ctx *context.Context, x, keyMask *Node, cfg encoderConfig) *Node {
	for l := range cfg.Layers {
		c := scoped(ctx, "layer_%d", l)
		h := layers.LayerNormalization(c.In("ln1"), x, -1).Done()
		mha := layers.MultiHeadAttention(c.In("attention"), h, h, h, cfg.Heads, cfg.Dim/cfg.Heads)
		if keyMask != nil {
			mha = mha.SetKeyMask(keyMask)
		}
		x = Add(x, mha.Done())
		h = layers.LayerNormalization(c.In("ln2"), x, -1).Done()
		h = activations.Gelu(layers.DenseWithBias(c.In("mlp_in"), h, cfg.MLPDim))
		x = Add(x, layers.DenseWithBias(c.In("mlp_out"), h, cfg.Dim))
	}
	return layers.LayerNormalization(ctx.In("final_ln"), x, -1).Done()
}

// TransformerConfig configures TextTransformer.
type TransformerConfig struct {
	NumClasses int
	// VocabSize is the number of token ids (the tokenizer's VocabSize); id 0 is padding.
	VocabSize int
	// MaxLen is the sequence length of every batch (the tokenizer's MaxLen).
	MaxLen int
	// Dim (default 128), Layers (2), Heads (4) and MLPDim (256) shape the encoder.
	Dim, Layers, Heads, MLPDim int
}

// TextTransformer classifies token sequences [B,MaxLen] int32: token embedding plus a
// learned position embedding, pre-norm encoder blocks whose attention ignores padding,
// mean pooling over the real tokens, and a dense layer. Parameters: V·D + L·D + blocks +
// 2D (final LN) + D·K + K.
func TextTransformer(cfg TransformerConfig) train.ModelFn {
	enc := encoderConfig{cfg.Dim, cfg.Layers, cfg.Heads, cfg.MLPDim}
	enc.defaults(128, 2, 4, 256)
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		ctx = ctx.In("transformer")
		tokens := inputs[0]
		if tokens.Rank() != 2 || !tokens.DType().IsInt() || tokens.Shape().Dimensions[1] != cfg.MaxLen {
			panicf("transformer: want token ids shaped [batch, %d] (integer), got %s", cfg.MaxLen, tokens.Shape())
		}
		g := tokens.Graph()
		mask := NotEqual(tokens, ScalarZero(g, tokens.DType()))
		x := layers.Embedding(ctx.In("tokens"), tokens, dtypes.Float32, cfg.VocabSize, enc.Dim)
		pos := ctx.In("positions").VariableWithShape("embeddings", shapes.Make(x.DType(), 1, x.Shape().Dimensions[1], enc.Dim)).ValueGraph(g)
		x = encoder(ctx.In("encoder"), Add(x, pos), mask, enc)
		// Mean over the real tokens; an all-padding row divides by 1 instead of 0.
		m := ConvertDType(ExpandAxes(mask, -1), x.DType())
		pooled := Div(ReduceSum(Mul(x, m), 1), Max(ReduceSum(m, 1), OnesLike(ReduceSum(m, 1))))
		return []*Node{logits(ctx, pooled, cfg.NumClasses)}
	}
}

// ViTConfig configures ViT.
type ViTConfig struct {
	NumClasses int
	// Patch is the side of the square patches (default 4); it must divide the image sides.
	Patch int
	// Dim (default 128), Layers (4), Heads (4) and MLPDim (256) shape the encoder.
	Dim, Layers, Heads, MLPDim int
}

// ViT is a small vision transformer: non-overlapping Patch×Patch patches, each flattened
// and projected to Dim, plus a learned position embedding; pre-norm encoder blocks; mean
// pooling over patches (no class token) and a dense layer. Parameters: (P²C)·D + D +
// N·D (N = HW/P² patches) + blocks + 2D + D·K + K.
func ViT(cfg ViTConfig) train.ModelFn {
	if cfg.Patch == 0 {
		cfg.Patch = 4
	}
	enc := encoderConfig{cfg.Dim, cfg.Layers, cfg.Heads, cfg.MLPDim}
	enc.defaults(128, 4, 4, 256)
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		ctx = ctx.In("vit")
		x := imageInput("vit", inputs)
		dims := x.Shape().Dimensions
		b, h, w, c, p := dims[0], dims[1], dims[2], dims[3], cfg.Patch
		if h%p != 0 || w%p != 0 {
			panicf("vit: patch size %d does not divide the %dx%d images", p, h, w)
		}
		// [B,H,W,C] → [B,H/p,p,W/p,p,C] → [B,H/p,W/p,p,p,C] → [B,N,p·p·C].
		x = Reshape(x, b, h/p, p, w/p, p, c)
		x = TransposeAllDims(x, 0, 1, 3, 2, 4, 5)
		x = Reshape(x, b, (h/p)*(w/p), p*p*c)
		x = layers.DenseWithBias(ctx.In("patch_embedding"), x, enc.Dim)
		pos := ctx.In("positions").VariableWithShape("embeddings", shapes.Make(x.DType(), 1, x.Shape().Dimensions[1], enc.Dim)).ValueGraph(x.Graph())
		x = encoder(ctx.In("encoder"), Add(x, pos), nil, enc)
		return []*Node{logits(ctx, ReduceMean(x, 1), cfg.NumClasses)}
	}
}
