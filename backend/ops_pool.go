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
	batchSplit := len(plan.outDims) > 0 && window[0] <= strides[0]
	op := &selectScatterOp{eng: b.backend.engine, isMin: isMin, plan: plan, batchSplit: batchSplit}
	return newNativeNode(b.Builder, opType, xShape, op, operand, source), nil
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
// stays) receives the value. Each output element gets its contributions in source order, as
// in a sequential loop; with batchSplit the source rows along axis 0 go to different workers
// and write disjoint output rows, so the result does not depend on the split.
func selectScatter[T float32 | float64](op *selectScatterOp, x, src, out []T) {
	clear(out)
	p := op.plan
	n := p.positions()
	rows, perRow := 1, n
	if op.batchSplit {
		rows, perRow = p.outDims[0], n/max(1, p.outDims[0])
	}
	inner := p.inner
	parallelFor(op.eng.workers, rows, func(_, r int) {
		bestAt := make([]int, inner)
		p.forEach(r*perRow, (r+1)*perRow, func(pos int, offs []int) {
			if len(offs) == 0 {
				return // The window covers only padding: nothing is selected.
			}
			for c := range bestAt {
				bestAt[c] = offs[0] + c
			}
			for _, off := range offs[1:] {
				if op.isMin {
					selectMin(x, bestAt, off)
				} else {
					selectMax(x, bestAt, off)
				}
			}
			for c, v := range src[pos*inner : (pos+1)*inner] {
				out[bestAt[c]] += v
			}
		})
	})
}

// selectMax moves bestAt[c] to off+c where x there is strictly greater: ties and NaNs keep
// the earlier position. Written as a conditional move of the index (no branch on the data,
// which is as random as the activations are).
func selectMax[T float32 | float64](x []T, bestAt []int, off int) {
	x = x[:off+len(bestAt)]
	for c, a := range bestAt {
		n := off + c
		if x[n] > x[a] {
			a = n
		}
		bestAt[c] = a
	}
}

// selectMin is selectMax for the first strictly smaller value.
func selectMin[T float32 | float64](x []T, bestAt []int, off int) {
	x = x[:off+len(bestAt)]
	for c, a := range bestAt {
		n := off + c
		if x[n] < x[a] {
			a = n
		}
		bestAt[c] = a
	}
}
