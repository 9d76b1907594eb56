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
	isMin           bool
	window, strides []int
	paddings        [][2]int
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
	op := &selectScatterOp{isMin: isMin, window: window, strides: strides, paddings: paddings}
	return newNativeNode(b.Builder, opType, xShape, op, operand, source), nil
}

func (op *selectScatterOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	switch node.shape.DType {
	case dtypes.Float32:
		selectScatter(op, flatOf[float32](inputs[0]), flatOf[float32](inputs[1]), flatOf[float32](outM), node.shape.Dimensions, inputs[1].shape.Dimensions)
	case dtypes.Float64:
		selectScatter(op, flatOf[float64](inputs[0]), flatOf[float64](inputs[1]), flatOf[float64](outM), node.shape.Dimensions, inputs[1].shape.Dimensions)
	}
	return out, nil
}

func selectScatter[T float32 | float64](op *selectScatterOp, x, src, out []T, xDims, srcDims []int) {
	clear(out)
	rank := len(xDims)
	xStrides := stridesOf(xDims)
	srcIdx := make([]int, rank)
	winIdx := make([]int, rank)
	winCount := product(op.window)
	for s := range src {
		best, bestPos := T(0), -1
		// Visit the window in row-major order; keep the first extreme value.
		clear(winIdx)
		for range winCount {
			pos, inside := 0, true
			for ax := range rank {
				p := srcIdx[ax]*op.strides[ax] + winIdx[ax] - op.paddings[ax][0]
				if p < 0 || p >= xDims[ax] {
					inside = false
					break
				}
				pos += p * xStrides[ax]
			}
			if inside {
				v := x[pos]
				if bestPos < 0 || (!op.isMin && v > best) || (op.isMin && v < best) {
					best, bestPos = v, pos
				}
			}
			for ax := rank - 1; ax >= 0; ax-- {
				winIdx[ax]++
				if winIdx[ax] < op.window[ax] {
					break
				}
				winIdx[ax] = 0
			}
		}
		if bestPos >= 0 {
			out[bestPos] += src[s]
		}
		for ax := rank - 1; ax >= 0; ax-- {
			srcIdx[ax]++
			if srcIdx[ax] < srcDims[ax] {
				break
			}
			srcIdx[ax] = 0
		}
	}
}
