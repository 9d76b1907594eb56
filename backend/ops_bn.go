package backend

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Batch normalisation runs as four native ops, each one or two passes over the data:
//
//	bnStats:    x → [2, C]: batch mean and biased variance per feature
//	bnApply:    x, scale, offset, mean, variance → (x − mean)/√(variance + ε)·scale + offset
//	bnGradSums: x, mean, variance, g → [2, C]: Σg and Σg·x̂, with x̂ = (x − mean)/√(variance + ε)
//	bnGradX:    x, scale, mean, variance, g, sums → scale/√(variance + ε)/n · (n·g − Σg − x̂·Σg·x̂)
//
// Composed from generic ops the same step took about ten passes (and ten full-size buffers).
type bnOp struct {
	eng     *engine
	kind    bnKind
	axis    int
	epsilon float64
}

type bnKind int

const (
	bnStats bnKind = iota
	bnApply
	bnGradSums
	bnGradX
)

// bnLayout views x as [outer, C, inner] around the feature axis.
func bnLayout(shape shapes.Shape, axis int) (outer, c, inner int) {
	d := shape.Dimensions
	return product(d[:axis]), d[axis], product(d[axis+1:])
}

func checkFeatureAxis(name string, shape shapes.Shape, featureAxis int) error {
	if featureAxis < 0 || featureAxis >= shape.Rank() {
		return fmt.Errorf("%s: feature axis %d out of range for operand %s", name, featureAxis, shape)
	}
	if !isFloat(shape.DType) {
		return fmt.Errorf("%s: operand must be float32 or float64, got %s", name, shape)
	}
	return nil
}

// featureVectors checks that each op is a [C] vector of x's dtype.
func (b *Builder) featureVectors(name string, x shapes.Shape, axis int, ops ...backends.Op) error {
	c := x.Dimensions[axis]
	for _, op := range ops {
		s, err := b.OpShape(op)
		if err != nil {
			return err
		}
		if s.Rank() != 1 || s.Dimensions[0] != c || s.DType != x.DType {
			return fmt.Errorf("%s: scale, offset, mean and variance must be [%d] %s vectors (feature axis %d of %s), got %s", name, c, x.DType, axis, x, s)
		}
	}
	return nil
}

func (b *Builder) bnNode(kind bnKind, opType backends.OpType, shape shapes.Shape, axis int, eps float32, inputs ...backends.Op) backends.Op {
	op := &bnOp{eng: b.backend.engine, kind: kind, axis: axis, epsilon: float64(eps)}
	return newNativeNode(b.Builder, opType, shape, op, inputs...)
}

// splitRows returns rows 0 and 1 of a [2, C] op as two [C] ops.
func (b *Builder) splitRows(pair backends.Op, c int) (backends.Op, backends.Op, error) {
	var rows [2]backends.Op
	for i := range rows {
		s, err := b.Slice(pair, []int{i, 0}, []int{i + 1, c}, []int{1, 1})
		if err != nil {
			return nil, nil, err
		}
		if rows[i], err = b.Reshape(s, c); err != nil {
			return nil, nil, err
		}
	}
	return rows[0], rows[1], nil
}

// BatchNormForInference implements backends.Builder natively.
func (b *Builder) BatchNormForInference(x, scale, offset, mean, variance backends.Op, epsilon float32, featureAxis int) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if err := checkFeatureAxis("BatchNormForInference", shape, featureAxis); err != nil {
		return nil, err
	}
	if err := b.featureVectors("BatchNormForInference", shape, featureAxis, scale, offset, mean, variance); err != nil {
		return nil, err
	}
	return b.bnNode(bnApply, backends.OpTypeBatchNormForInference, shape, featureAxis, epsilon, x, scale, offset, mean, variance), nil
}

// BatchNormForTraining implements backends.Builder natively: statistics over every axis but
// featureAxis, biased (1/n) variance computed from centred values.
func (b *Builder) BatchNormForTraining(x, scale, offset backends.Op, epsilon float32, featureAxis int) (normalized, mean, variance backends.Op, err error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkFeatureAxis("BatchNormForTraining", shape, featureAxis); err != nil {
		return nil, nil, nil, err
	}
	if err := b.featureVectors("BatchNormForTraining", shape, featureAxis, scale, offset); err != nil {
		return nil, nil, nil, err
	}
	c := shape.Dimensions[featureAxis]
	stats := b.bnNode(bnStats, backends.OpTypeBatchNormForTraining, shapes.Make(shape.DType, 2, c), featureAxis, epsilon, x)
	if mean, variance, err = b.splitRows(stats, c); err != nil {
		return nil, nil, nil, err
	}
	normalized = b.bnNode(bnApply, backends.OpTypeBatchNormForInference, shape, featureAxis, epsilon, x, scale, offset, mean, variance)
	return normalized, mean, variance, nil
}

// BatchNormGradient implements backends.Builder natively.
func (b *Builder) BatchNormGradient(x, scale, mean, variance, gradOutput backends.Op, epsilon float32, featureAxis int) (gradX, gradScale, gradOffset backends.Op, err error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkFeatureAxis("BatchNormGradient", shape, featureAxis); err != nil {
		return nil, nil, nil, err
	}
	if err := b.featureVectors("BatchNormGradient", shape, featureAxis, scale, mean, variance); err != nil {
		return nil, nil, nil, err
	}
	if gs, err := b.OpShape(gradOutput); err != nil || !gs.Equal(shape) {
		return nil, nil, nil, fmt.Errorf("BatchNormGradient: gradOutput %s must have the operand's shape %s (%v)", gs, shape, err)
	}
	c := shape.Dimensions[featureAxis]
	sums := b.bnNode(bnGradSums, backends.OpTypeBatchNormGradient, shapes.Make(shape.DType, 2, c), featureAxis, epsilon, x, mean, variance, gradOutput)
	if gradOffset, gradScale, err = b.splitRows(sums, c); err != nil {
		return nil, nil, nil, err
	}
	gradX = b.bnNode(bnGradX, backends.OpTypeBatchNormGradient, shape, featureAxis, epsilon, x, scale, mean, variance, gradOutput, sums)
	return gradX, gradScale, gradOffset, nil
}

func (op *bnOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	if node.shape.DType == dtypes.Float32 {
		bnExec[float32](op, inputs, outM)
	} else {
		bnExec[float64](op, inputs, outM)
	}
	return out, nil
}

func bnExec[T float32 | float64](op *bnOp, in []*bufferMirror, out *bufferMirror) {
	outer, c, inner := bnLayout(in[0].shape, op.axis)
	x := flatOf[T](in[0])
	o := flatOf[T](out)
	n := float64(outer * inner)
	switch op.kind {
	case bnStats:
		zero := make([]T, c)
		sum := bnSums(op.eng, sumCentred, x, nil, zero, outer, c, inner)
		mean := make([]T, c)
		for ch := range c {
			mean[ch] = T(sum[ch] / n)
		}
		// Second pass on centred values: no cancellation when |mean| ≫ deviation.
		sq := bnSums(op.eng, sumSquares, x, nil, mean, outer, c, inner)
		for ch := range c {
			o[ch], o[c+ch] = mean[ch], T(sq[ch]/n)
		}
	case bnApply:
		scale, offset, mean, variance := flatOf[T](in[1]), flatOf[T](in[2]), flatOf[T](in[3]), flatOf[T](in[4])
		inv := bnInv(variance, op.epsilon)
		a, d := make([]T, c), make([]T, c)
		for ch := range c {
			af := float64(scale[ch]) * inv[ch]
			a[ch], d[ch] = T(af), T(float64(offset[ch])-float64(mean[ch])*af)
		}
		bnAffine(op.eng, o, x, a, nil, nil, d, outer, c, inner)
	case bnGradSums:
		mean, variance, g := flatOf[T](in[1]), flatOf[T](in[2]), flatOf[T](in[3])
		inv := bnInv(variance, op.epsilon)
		sumG := bnSums(op.eng, sumCentred, g, nil, make([]T, c), outer, c, inner)
		// Σ g·(x − mean), scaled by inv afterwards: Σ g·x̂.
		sumGX := bnSums(op.eng, sumWeighted, x, g, mean, outer, c, inner)
		for ch := range c {
			o[ch], o[c+ch] = T(sumG[ch]), T(sumGX[ch]*inv[ch])
		}
	case bnGradX:
		scale, mean, variance, g, sums := flatOf[T](in[1]), flatOf[T](in[2]), flatOf[T](in[3]), flatOf[T](in[4]), flatOf[T](in[5])
		inv := bnInv(variance, op.epsilon)
		// dx = a·g + b·x + d per feature, with a = scale·inv, b = −a·inv·Σgx̂/n and
		// d = −a·Σg/n − b·mean: two multiply-adds per element.
		a, bb, d := make([]T, c), make([]T, c), make([]T, c)
		for ch := range c {
			af := float64(scale[ch]) * inv[ch]
			bf := -af * inv[ch] * float64(sums[c+ch]) / n
			a[ch], bb[ch], d[ch] = T(af), T(bf), T(-af*float64(sums[ch])/n-bf*float64(mean[ch]))
		}
		bnAffine(op.eng, o, g, a, x, bb, d, outer, c, inner)
	}
}

func bnInv[T float32 | float64](variance []T, eps float64) []float64 {
	inv := make([]float64, len(variance))
	for ch, v := range variance {
		inv[ch] = 1 / math.Sqrt(float64(v)+eps)
	}
	return inv
}

// bnChunks splits the outer axis so that each piece holds about ewChunk elements.
func bnChunks(outer, c, inner int) (per, chunks int) {
	per = max(1, ewChunk/max(c*inner, 1))
	return per, (outer + per - 1) / per
}

// bnSum selects what bnSums adds up.
type bnSum int

const (
	sumCentred  bnSum = iota // Σ (x − shift)
	sumSquares               // Σ (x − shift)²
	sumWeighted              // Σ (x − shift)·w
)

// bnSums returns, per feature, the sum selected by mode, accumulated in float64 and split
// among the workers.
func bnSums[T float32 | float64](e *engine, mode bnSum, x, w, shift []T, outer, c, inner int) []float64 {
	per, chunks := bnChunks(outer, c, inner)
	workers := min(e.workers, chunks)
	partial := make([][]float64, workers)
	for i := range partial {
		partial[i] = make([]float64, c)
	}
	parallelFor(workers, chunks, func(wk, ci int) {
		acc := partial[wk]
		for o := ci * per; o < min(outer, (ci+1)*per); o++ {
			base := o * c * inner
			if inner == 1 { // Features last: one row of c values.
				xs := x[base : base+c]
				switch mode {
				case sumCentred:
					for ch, v := range xs {
						acc[ch] += float64(v - shift[ch])
					}
				case sumSquares:
					for ch, v := range xs {
						d := float64(v - shift[ch])
						acc[ch] += d * d
					}
				default:
					ws := w[base : base+c]
					for ch, v := range xs {
						acc[ch] += float64(v-shift[ch]) * float64(ws[ch])
					}
				}
				continue
			}
			for ch := range c {
				xs := x[base+ch*inner : base+(ch+1)*inner]
				sh := shift[ch]
				var s float64
				switch mode {
				case sumCentred:
					for _, v := range xs {
						s += float64(v - sh)
					}
				case sumSquares:
					for _, v := range xs {
						d := float64(v - sh)
						s += d * d
					}
				default:
					ws := w[base+ch*inner : base+(ch+1)*inner]
					for i, v := range xs {
						s += float64(v-sh) * float64(ws[i])
					}
				}
				acc[ch] += s
			}
		}
	})
	for i := 1; i < workers; i++ {
		for ch, v := range partial[i] {
			partial[0][ch] += v
		}
	}
	return partial[0]
}

// bnAffine sets out = a·x + b·y + d per feature (y and b may be nil), split among the workers.
func bnAffine[T float32 | float64](e *engine, out, x, a, y, b, d []T, outer, c, inner int) {
	per, chunks := bnChunks(outer, c, inner)
	parallelFor(e.workers, chunks, func(_, ci int) {
		for o := ci * per; o < min(outer, (ci+1)*per); o++ {
			base := o * c * inner
			if inner == 1 {
				os, xs := out[base:base+c], x[base:base+c]
				if y == nil {
					for ch, v := range xs {
						os[ch] = a[ch]*v + d[ch]
					}
				} else {
					ys := y[base : base+c]
					for ch, v := range xs {
						os[ch] = a[ch]*v + b[ch]*ys[ch] + d[ch]
					}
				}
				continue
			}
			for ch := range c {
				lo, hi := base+ch*inner, base+(ch+1)*inner
				os, xs := out[lo:hi], x[lo:hi]
				ac, dc := a[ch], d[ch]
				if y == nil {
					for i, v := range xs {
						os[i] = ac*v + dc
					}
				} else {
					ys, bc := y[lo:hi], b[ch]
					for i, v := range xs {
						os[i] = ac*v + bc*ys[i] + dc
					}
				}
			}
		}
	})
}
