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
		// One pass over x − s, with s each feature's first value: mean = s + Σ/n and
		// variance = Σ²/n − (Σ/n)². Shifting by a sample keeps the subtraction from
		// cancelling when |mean| ≫ deviation.
		shift := make([]T, c)
		for ch := range c {
			shift[ch] = x[ch*inner]
		}
		s1, s2 := bnSums(op.eng, x, shift, x, shift, outer, c, inner)
		for ch := range c {
			m := s1[ch] / n
			o[ch], o[c+ch] = T(float64(shift[ch])+m), T(max(s2[ch]/n-m*m, 0))
		}
	case bnApply:
		scale, offset, mean, variance := flatOf[T](in[1]), flatOf[T](in[2]), flatOf[T](in[3]), flatOf[T](in[4])
		inv := bnInv(variance, op.epsilon)
		a := make([]T, c)
		for ch := range c {
			a[ch] = T(float64(scale[ch]) * inv[ch])
		}
		// (x − mean)·a + offset: centring first keeps precision when |mean| ≫ deviation.
		bnAffine(op.eng, o, x, mean, a, nil, nil, nil, offset, outer, c, inner)
	case bnGradSums:
		mean, variance, g := flatOf[T](in[1]), flatOf[T](in[2]), flatOf[T](in[3])
		inv := bnInv(variance, op.epsilon)
		// Σg and Σ g·(x − mean) in one pass; the second, scaled by inv, is Σ g·x̂.
		sumG, sumGX := bnSums(op.eng, g, make([]T, c), x, mean, outer, c, inner)
		for ch := range c {
			o[ch], o[c+ch] = T(sumG[ch]), T(sumGX[ch]*inv[ch])
		}
	case bnGradX:
		scale, mean, variance, g, sums := flatOf[T](in[1]), flatOf[T](in[2]), flatOf[T](in[3]), flatOf[T](in[4]), flatOf[T](in[5])
		inv := bnInv(variance, op.epsilon)
		// dx = a·g + b·(x − mean) + d per feature, with a = scale·inv,
		// b = −a·inv·Σgx̂/n and d = −a·Σg/n.
		a, bb, d := make([]T, c), make([]T, c), make([]T, c)
		for ch := range c {
			af := float64(scale[ch]) * inv[ch]
			a[ch], bb[ch], d[ch] = T(af), T(-af*inv[ch]*float64(sums[c+ch])/n), T(-af*float64(sums[ch])/n)
		}
		bnAffine(op.eng, o, g, make([]T, c), a, x, mean, bb, d, outer, c, inner)
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

// bnSums returns, per feature, Σ (x − xShift) and Σ (x − xShift)·(w − wShift), accumulated
// in float64 and split among the workers. Each chunk has its own partial sums, added in chunk
// order: the result does not depend on which worker ran which chunk (per-worker partials
// did, by the last bits, as TestSIMDBatchNormMatchesGo found).
func bnSums[T float32 | float64](e *engine, x, xShift, w, wShift []T, outer, c, inner int) (s1, s2 []float64) {
	per, chunks := bnChunks(outer, c, inner)
	partial := make([][]float64, chunks)
	for i := range partial {
		partial[i] = make([]float64, 2*c)
	}
	parallelFor(e.workers, chunks, func(_, ci int) {
		a1, a2 := partial[ci][:c], partial[ci][c:]
		o0, o1 := ci*per, min(outer, (ci+1)*per)
		if inner == 1 {
			// Features last: walk each feature down the chunk (stride c) so that both sums
			// stay in registers; the chunk (≤ ewChunk values) stays in cache across features.
			lo, hi := o0*c, o1*c
			if bnSumsSIMD(a1, a2, x[lo:hi], xShift, w[lo:hi], wShift) {
				return
			}
			for ch := range c {
				xsh, wsh := xShift[ch], wShift[ch]
				var t1, t2 float64
				for i := lo + ch; i < hi; i += c {
					d := float64(x[i] - xsh)
					t1 += d
					t2 += float64(d * float64(w[i]-wsh)) // Converted: never fused (see bnAffine).
				}
				a1[ch] += t1
				a2[ch] += t2
			}
			return
		}
		for o := o0; o < o1; o++ {
			base := o * c * inner
			for ch := range c {
				lo, hi := base+ch*inner, base+(ch+1)*inner
				xs, ws := x[lo:hi], w[lo:hi]
				xsh, wsh := xShift[ch], wShift[ch]
				var t1, t2 float64
				for i, v := range xs {
					d := float64(v - xsh)
					t1 += d
					t2 += float64(d * float64(ws[i]-wsh))
				}
				a1[ch] += t1
				a2[ch] += t2
			}
		}
	})
	for i := 1; i < chunks; i++ {
		for j, v := range partial[i] {
			partial[0][j] += v
		}
	}
	return partial[0][:c], partial[0][c:]
}

// bnSumsSIMD adds one chunk's sums for features last (rows of c features) to a1 and a2 as
// the Go loop of bnSums does (each feature's sum from zero down the chunk, then added), and
// reports whether it could.
func bnSumsSIMD[T float32 | float64](a1, a2 []float64, x, xShift, w, wShift []T) bool {
	if !isF32[T]() {
		return false
	}
	c := len(xShift)
	t := make([]float64, 2*c)
	if !simdBNSums(t[:c], t[c:], f32(x), f32(xShift), f32(w), f32(wShift)) {
		return false
	}
	for ch := range c {
		a1[ch] += t[ch]
		a2[ch] += t[c+ch]
	}
	return true
}

// bnAffine sets out = a·(x − xShift) + b·(y − yShift) + d per feature (y, yShift and b may
// be nil), split among the workers. The products are converted to T explicitly: Go may
// otherwise fuse them with the sum into an FMA (it does with GOAMD64=v3), and the SIMD
// kernels, like the default build, round each product.
func bnAffine[T float32 | float64](e *engine, out, x, xShift, a, y, yShift, b, d []T, outer, c, inner int) {
	per, chunks := bnChunks(outer, c, inner)
	parallelFor(e.workers, chunks, func(_, ci int) {
		if inner == 1 {
			// Features last: walk each feature down the chunk (stride c), with its
			// coefficients in registers; the chunk stays in cache across features.
			lo, hi := ci*per*c, min(outer, (ci+1)*per)*c
			if isF32[T]() {
				yc := y // nil when there is no second term.
				if y != nil {
					yc = y[lo:hi]
				}
				if simdBNAffine(f32(out[lo:hi]), f32(x[lo:hi]), f32(xShift), f32(a), f32(yc), f32(yShift), f32(b), f32(d)) {
					return
				}
			}
			for ch := range c {
				ac, xsh, dc := a[ch], xShift[ch], d[ch]
				if y == nil {
					for i := lo + ch; i < hi; i += c {
						out[i] = T(ac*(x[i]-xsh)) + dc
					}
				} else {
					bc, ysh := b[ch], yShift[ch]
					for i := lo + ch; i < hi; i += c {
						out[i] = T(ac*(x[i]-xsh)) + T(bc*(y[i]-ysh)) + dc
					}
				}
			}
			return
		}
		for o := ci * per; o < min(outer, (ci+1)*per); o++ {
			base := o * c * inner
			for ch := range c {
				lo, hi := base+ch*inner, base+(ch+1)*inner
				os, xs := out[lo:hi], x[lo:hi]
				ac, xsh, dc := a[ch], xShift[ch], d[ch]
				if y == nil {
					for i, v := range xs {
						os[i] = T(ac*(v-xsh)) + dc
					}
				} else {
					ys, bc, ysh := y[lo:hi], b[ch], yShift[ch]
					for i, v := range xs {
						os[i] = T(ac*(v-xsh)) + T(bc*(ys[i]-ysh)) + dc
					}
				}
			}
		}
	})
}
