package backend

import (
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// windowPlan is how a windowed op (ReduceWindow, SelectAndScatter) walks its operand. The
// trailing axes that the window does not touch (window 1, stride 1, no padding or dilation:
// the channels of NHWC pooling) are one contiguous block of inner elements, processed as a
// vector; the other ("outer") axes are walked per output position. For every outer axis and
// output index, offsets lists the element offsets (input index × input stride) of the
// window's positions that fall on real input, in window order. Since an input position is
// real exactly when it is real on every axis, the window's real positions are the Cartesian
// product of these lists, in row-major window order: the order simplego visits them in.
type windowPlan struct {
	outDims []int     // output dimensions of the outer axes
	offsets [][][]int // [outer axis][output index] → input element offsets
	inner   int       // elements per position in the contiguous trailing block
	window  int       // window positions over the outer axes (before dropping padding)
}

// newWindowPlan plans a window over in (dims) producing out (dims); nil slices mean 1 (and
// no padding).
func newWindowPlan(in, out, window, strides, baseDil, winDil []int, pads [][2]int) *windowPlan {
	rank := len(in)
	at := func(s []int, ax int) int {
		if s == nil {
			return 1
		}
		return s[ax]
	}
	pad := func(ax int) [2]int {
		if pads == nil {
			return [2]int{}
		}
		return pads[ax]
	}
	outer := rank
	for outer > 0 {
		ax := outer - 1
		if window[ax] != 1 || strides[ax] != 1 || pad(ax) != [2]int{} || at(baseDil, ax) != 1 {
			break
		}
		outer--
	}
	inStrides := stridesOf(in)
	p := &windowPlan{outDims: out[:outer], offsets: make([][][]int, outer), inner: product(in[outer:]), window: product(window[:outer])}
	for ax := range outer {
		p.offsets[ax] = make([][]int, out[ax])
		for o := range out[ax] {
			var list []int
			for k := range window[ax] {
				// Same test order as simplego's execReduceWindow.
				pos := o*strides[ax] - pad(ax)[0] + k*at(winDil, ax)
				if pos < 0 {
					continue
				}
				if bd := at(baseDil, ax); bd > 1 {
					if pos%bd != 0 {
						continue
					}
					pos /= bd
				}
				if pos >= in[ax] {
					continue
				}
				list = append(list, pos*inStrides[ax])
			}
			p.offsets[ax][o] = list
		}
	}
	return p
}

// positions returns the number of outer output positions.
func (p *windowPlan) positions() int { return product(p.outDims) }

// chunk is how many outer output positions one parallelFor task takes: about 32k element
// visits, so small ops stay on one goroutine.
func (p *windowPlan) chunk() int { return max(1, (1<<15)/max(1, p.inner*p.window)) }

// forEach calls fn(pos, offs) for the outer output positions [from, to) in row-major order,
// offs holding the input offsets of the window's real positions in window order (scratch
// reused between calls; empty when the window covers only padding).
func (p *windowPlan) forEach(from, to int, fn func(pos int, offs []int)) {
	n := len(p.outDims)
	idx := make([]int, n)
	rest := from
	for ax := n - 1; ax >= 0; ax-- {
		idx[ax] = rest % p.outDims[ax]
		rest /= p.outDims[ax]
	}
	offs := make([]int, 0, p.window)
	next := make([]int, 0, p.window)
	for pos := from; pos < to; pos++ {
		offs = append(offs[:0], 0)
		for ax := range n {
			next = next[:0]
			for _, base := range offs {
				for _, o := range p.offsets[ax][idx[ax]] {
					next = append(next, base+o)
				}
			}
			offs, next = next, offs
		}
		fn(pos, offs)
		for ax := n - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < p.outDims[ax] {
				break
			}
			idx[ax] = 0
		}
	}
}

// reduceWindowOp is ReduceWindow (max, min, sum, product) for float32 and float64.
type reduceWindowOp struct {
	eng  *engine
	kind backends.ReduceOpType
	plan *windowPlan
}

// ReduceWindow implements backends.Builder natively for float32 and float64 (max, min, sum,
// product; any rank, strides, padding, dilations); other dtypes go to simplego. Each output
// starts at the reduction's identity (−inf for max, +inf for min, 0, 1) and takes the
// window's real positions in row-major window order, as simplego's does, so results are
// bit-identical to it (padding and base-dilation holes contribute nothing).
func (b *Builder) ReduceWindow(x backends.Op, kind backends.ReduceOpType, window, strides, baseDil, winDil []int, pads [][2]int) (backends.Op, error) {
	xShape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	supported := kind == backends.ReduceOpMax || kind == backends.ReduceOpMin || kind == backends.ReduceOpSum || kind == backends.ReduceOpProduct
	if !isFloat(xShape.DType) || !supported || xShape.Rank() == 0 || len(window) != xShape.Rank() || xShape.Size() == 0 {
		return b.Builder.ReduceWindow(x, kind, window, strides, baseDil, winDil, pads)
	}
	outShape, err := shapeinference.ReduceWindowOp(xShape, window, strides, baseDil, winDil, pads)
	if err != nil {
		return nil, err
	}
	if len(strides) == 0 {
		strides = window
	}
	if len(pads) == 0 {
		pads = nil
	}
	if len(baseDil) == 0 {
		baseDil = nil
	}
	if len(winDil) == 0 {
		winDil = nil
	}
	plan := newWindowPlan(xShape.Dimensions, outShape.Dimensions, window, strides, baseDil, winDil, pads)
	op := &reduceWindowOp{eng: b.backend.engine, kind: kind, plan: plan}
	return newNativeNode(b.Builder, backends.OpTypeReduceWindow, outShape, op, x), nil
}

func (op *reduceWindowOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	if node.shape.DType == dtypes.Float64 {
		reduceWindow(op, flatOf[float64](inputs[0]), flatOf[float64](outM))
	} else {
		reduceWindow(op, flatOf[float32](inputs[0]), flatOf[float32](outM))
	}
	return out, nil
}

// reduceWindow fills out, chunks of output positions on the workers (each output is
// computed by one worker alone, so the split does not change the result).
func reduceWindow[T float32 | float64](op *reduceWindowOp, x, out []T) {
	p := op.plan
	n, chunk := p.positions(), p.chunk()
	init := T(0)
	switch op.kind {
	case backends.ReduceOpMax:
		init = T(math.Inf(-1))
	case backends.ReduceOpMin:
		init = T(math.Inf(1))
	case backends.ReduceOpProduct:
		init = 1
	}
	inner := p.inner
	parallelFor(op.eng.workers, (n+chunk-1)/chunk, func(_, c int) {
		p.forEach(c*chunk, min(n, (c+1)*chunk), func(pos int, offs []int) {
			acc := out[pos*inner : (pos+1)*inner]
			done := 0
			if isF32[T]() {
				done = simdReduceWin(op.kind, f32(acc), f32(x), offs, float32(init))
			}
			if done == inner {
				return
			}
			acc = acc[done:]
			for i := range acc {
				acc[i] = init
			}
			for _, off := range offs {
				windowStep(op.kind, acc, x[off+done:off+inner])
			}
		})
	})
}

// windowStep folds one window position v into acc with Go's built-in max/min (which order
// −0 below +0 and propagate NaN), +, ×: the operations simplego uses. (Float32 groups of 8
// run in the AVX2 kernels, simdReduceWin, with the same operations lane by lane: the same
// bits.)
func windowStep[T float32 | float64](kind backends.ReduceOpType, acc, v []T) {
	v = v[:len(acc)]
	switch kind {
	case backends.ReduceOpMax:
		for i, a := range acc {
			acc[i] = max(a, v[i])
		}
	case backends.ReduceOpMin:
		for i, a := range acc {
			acc[i] = min(a, v[i])
		}
	case backends.ReduceOpSum:
		for i, a := range acc {
			acc[i] = a + v[i]
		}
	case backends.ReduceOpProduct:
		for i, a := range acc {
			acc[i] = a * v[i]
		}
	}
}
