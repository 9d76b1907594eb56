package backend

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// selectScatterOp is SelectAndScatterMax/Min: for each window of operand (one per element of
// source), it adds the source value at the window's first maximum (minimum). Padding
// positions are never selected. It is the gradient of max (min) pooling.
type selectScatterOp struct {
	eng   *engine
	isMin bool
	plan  *windowPlan
	// batchSplit: windows never overlap along axis 0 (window ≤ stride there), so source
	// indices along it scatter into disjoint rows of the output and can run in parallel.
	batchSplit bool
	// disjoint: windows overlap on no axis (window ≤ stride everywhere), so every operand
	// element receives at most one source value and each window writes its own elements
	// directly (0 or 0 + the value); covered: the windows cover every operand element, so
	// no clearing pass is needed either.
	disjoint, covered bool
}

// SelectAndScatterMax implements backends.Builder natively (float32, float64).
func (b *Builder) SelectAndScatterMax(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	return b.selectAndScatter(false, operand, source, windowDimensions, windowStrides, paddings)
}

// SelectAndScatterMin implements backends.Builder natively (float32, float64).
func (b *Builder) SelectAndScatterMin(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	return b.selectAndScatter(true, operand, source, windowDimensions, windowStrides, paddings)
}

func (b *Builder) selectAndScatter(isMin bool, operand, source backends.Op, window, strides []int, paddings [][2]int) (backends.Op, error) {
	name := "SelectAndScatterMax"
	opType := backends.OpTypeSelectAndScatterMax
	if isMin {
		name, opType = "SelectAndScatterMin", backends.OpTypeSelectAndScatterMin
	}
	xShape, err := b.OpShape(operand)
	if err != nil {
		return nil, err
	}
	srcShape, err := b.OpShape(source)
	if err != nil {
		return nil, err
	}
	rank := xShape.Rank()
	if !isFloat(xShape.DType) || srcShape.DType != xShape.DType {
		return nil, fmt.Errorf("%s: operand and source must both be float32 or float64, got %s and %s", name, xShape, srcShape)
	}
	if len(window) != rank || srcShape.Rank() != rank {
		return nil, fmt.Errorf("%s: window %v and source %s must match the operand's rank %d", name, window, srcShape, rank)
	}
	if len(strides) == 0 {
		strides = window
	}
	if len(paddings) == 0 {
		paddings = make([][2]int, rank)
	}
	if len(strides) != rank || len(paddings) != rank {
		return nil, fmt.Errorf("%s: strides %v and paddings %v must have one entry per axis (%d)", name, strides, paddings, rank)
	}
	for ax := range rank {
		if strides[ax] < 1 || window[ax] < 1 {
			return nil, fmt.Errorf("%s: window %v and strides %v must be positive", name, window, strides)
		}
		padded := xShape.Dimensions[ax] + paddings[ax][0] + paddings[ax][1]
		want := 0
		if padded >= window[ax] {
			want = (padded-window[ax])/strides[ax] + 1
		}
		if srcShape.Dimensions[ax] != want {
			return nil, fmt.Errorf("%s: source %s does not match the pooled shape of %s (axis %d should be %d)", name, srcShape, xShape, ax, want)
		}
	}
	plan := newWindowPlan(xShape.Dimensions, srcShape.Dimensions, window, strides, nil, nil, paddings)
	if xShape.Size() >= 1<<31 {
		return nil, fmt.Errorf("%s: operand %s has 2³¹ elements or more (positions are int32)", name, xShape)
	}
	op := newSelectScatterOp(b.backend.engine, isMin, plan, xShape.Dimensions, window, strides)
	return newNativeNode(b.Builder, opType, xShape, op, operand, source), nil
}

// newSelectScatterOp plans the op and tells which case it is (see the fields).
func newSelectScatterOp(eng *engine, isMin bool, plan *windowPlan, xDims, window, strides []int) *selectScatterOp {
	op := &selectScatterOp{eng: eng, isMin: isMin, plan: plan, disjoint: true, covered: true}
	op.batchSplit = len(plan.outDims) > 0 && window[0] <= strides[0]
	for ax := range plan.outDims {
		op.disjoint = op.disjoint && window[ax] <= strides[ax]
		seen := 0
		for _, offs := range plan.offsets[ax] {
			seen += len(offs)
		}
		op.covered = op.covered && seen == xDims[ax]
	}
	return op
}

func (op *selectScatterOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	switch node.shape.DType {
	case dtypes.Float32:
		selectScatter(op, flatOf[float32](inputs[0]), flatOf[float32](inputs[1]), flatOf[float32](outM))
	case dtypes.Float64:
		selectScatter(op, flatOf[float64](inputs[0]), flatOf[float64](inputs[1]), flatOf[float64](outM))
	}
	return out, nil
}

// selectScatter adds every source value at its window's first extreme (out starts at 0),
// visiting sources in row-major order. Windows are planned over the outer axes and the
// trailing untouched axes (NHWC channels) run as vectors: for each channel, the first
// position holding the window's extreme (strictly greater, or less, replaces; a NaN first
// stays) receives the value.
func selectScatter[T float32 | float64](op *selectScatterOp, x, src, out []T) {
	if op.disjoint {
		selectDisjoint(op, x, src, out)
		return
	}
	selectOverlapping(op, x, src, out)
}

// selectDisjoint is selectScatter for windows that do not overlap: each window writes its
// own operand elements, so any split among the workers gives the same result.
func selectDisjoint[T float32 | float64](op *selectScatterOp, x, src, out []T) {
	if !op.covered {
		clear(out) // Elements in no window stay 0.
	}
	p := op.plan
	n, chunk := p.positions(), p.chunk()
	inner := p.inner
	parallelFor(op.eng.workers, (n+chunk-1)/chunk, func(_, c int) {
		at := make([]int32, inner)
		p.forEach(c*chunk, min(n, (c+1)*chunk), func(pos int, offs []int) {
			if len(offs) == 0 {
				return // The window covers only padding: nothing is selected.
			}
			selectWin(op.isMin, x, at, offs)
			scatterWin(out, at, src[pos*inner:(pos+1)*inner], offs)
		})
	})
}

// selectOverlapping is selectScatter for overlapping windows: out is cleared and each
// source value added at its position. Each output element gets its contributions in source
// order, as in a sequential loop; with batchSplit the source rows along axis 0 go to
// different workers and write disjoint output rows, so the result does not depend on the
// split.
func selectOverlapping[T float32 | float64](op *selectScatterOp, x, src, out []T) {
	clear(out)
	p := op.plan
	n := p.positions()
	rows, perRow := 1, n
	if op.batchSplit {
		rows, perRow = p.outDims[0], n/max(1, p.outDims[0])
	}
	inner := p.inner
	parallelFor(op.eng.workers, rows, func(_, r int) {
		at := make([]int32, inner)
		p.forEach(r*perRow, (r+1)*perRow, func(pos int, offs []int) {
			if len(offs) == 0 {
				return // The window covers only padding: nothing is selected.
			}
			selectWin(op.isMin, x, at, offs)
			for c, v := range src[pos*inner : (pos+1)*inner] {
				out[offs[at[c]]+c] += v
			}
		})
	})
}

// selectWin sets at[c], for every inner element c, to the index in offs (the window's real
// positions, in order) of the first position where x[offs[k]+c] is greatest (least for
// isMin): a later position replaces the best so far only where it is strictly greater, so
// ties and NaNs keep the earlier one. Float32 runs in AVX2 for whole groups of 8; the Go
// loop moves the indices by conditional moves (no branch on the data, which is as random as
// the activations are).
func selectWin[T float32 | float64](isMin bool, x []T, at []int32, offs []int) {
	done := 0
	if isF32[T]() {
		done = simdSelectWin(isMin, at, f32(x), offs)
	}
	for c := done; c < len(at); c++ {
		a, best := int32(0), offs[0]+c
		for k := 1; k < len(offs); k++ {
			n := offs[k] + c
			if (isMin && x[n] < x[best]) || (!isMin && x[n] > x[best]) {
				a, best = int32(k), n
			}
		}
		at[c] = a
	}
}

// scatterWin writes a window's elements of out: at each position k, the source value
// (0 + v, as added to a cleared output) where k was selected, else 0.
func scatterWin[T float32 | float64](out []T, at []int32, v []T, offs []int) {
	done := 0
	if isF32[T]() {
		done = simdScatterWin(f32(out), at, f32(v), offs)
	}
	for k, off := range offs {
		o := out[off : off+len(at)]
		for c := done; c < len(at); c++ {
			var r T
			if at[c] == int32(k) {
				r = 0 + v[c]
			}
			o[c] = r
		}
	}
}
