package backend

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// ewChunk is the number of elements one goroutine handles at a time in elementwise ops.
const ewChunk = 1 << 15

// binaryOp is a float32/float64 elementwise binary op on equal shapes, or with one scalar
// operand, split among the workers. Other cases (implicit broadcasting of unit axes, other
// dtypes) are left to simplego.
type binaryOp struct {
	eng       *engine
	opType    backends.OpType
	broadcast bool // operands of equal rank whose unit axes are broadcast
}

// unaryOp is a float32/float64 elementwise unary op, split among the workers.
type unaryOp struct {
	eng    *engine
	opType backends.OpType
	// steps, when set, makes a Sign node compute Sign(Sign(z) + c) for its input z in one
	// pass: the value for z > 0, z = 0 and z < 0 (NaN stays NaN). GoMLX builds its
	// indicator functions (the gradient of Max, hence of ReLU) this way.
	steps *[3]float64
}

// binary builds opType natively when it can, else with simplego's fallback.
func (b *Builder) binary(opType backends.OpType, x, y backends.Op, fallback func(x, y backends.Op) (backends.Op, error)) (backends.Op, error) {
	xs, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	ys, err := b.OpShape(y)
	if err != nil {
		return nil, err
	}
	// A broadcast scalar (GoMLX's ZerosLike, OnesLike, …) is used as the scalar itself, so the
	// full tensor of one value is never written.
	if xs.Equal(ys) && isFloat(xs.DType) {
		if sx, ok := broadcastScalar(x); ok {
			x, xs = sx, opShape(sx)
		} else if sy, ok := broadcastScalar(y); ok {
			y, ys = sy, opShape(sy)
		}
	}
	if !isFloat(xs.DType) || xs.DType != ys.DType {
		return fallback(x, y)
	}
	if id, ok := identityOperand(opType, x, y, xs, ys); ok {
		return id, nil
	}
	switch {
	case xs.Equal(ys) || ys.IsScalar():
		return newNativeNode(b.Builder, opType, xs, &binaryOp{eng: b.backend.engine, opType: opType}, x, y), nil
	case xs.IsScalar():
		return newNativeNode(b.Builder, opType, ys, &binaryOp{eng: b.backend.engine, opType: opType}, x, y), nil
	}
	// Implicit broadcasting of unit axes (e.g. x − mean with mean [.., 1]).
	out, err := shapeinference.BinaryOp(opType, xs, ys)
	if err != nil || xs.Rank() != ys.Rank() {
		return fallback(x, y)
	}
	return newNativeNode(b.Builder, opType, out, &binaryOp{eng: b.backend.engine, opType: opType, broadcast: true}, x, y), nil
}

// identityOperand returns the operand an op leaves unchanged: x+0, 0+y, x−0, x·1, 1·y, x/1
// (GoMLX's ReLU gradient subtracts a zero tensor; its optimizers multiply by one).
func identityOperand(opType backends.OpType, x, y backends.Op, xs, ys shapes.Shape) (backends.Op, bool) {
	neutral := func(op backends.Op, v float64) bool {
		c, ok := scalarConstant(opNode(op))
		return ok && c == v
	}
	switch {
	case ys.IsScalar() && !xs.IsScalar() || xs.Equal(ys) && ys.IsScalar():
		switch opType {
		case backends.OpTypeAdd, backends.OpTypeSub:
			return x, neutral(y, 0)
		case backends.OpTypeMul, backends.OpTypeDiv:
			return x, neutral(y, 1)
		}
	case xs.IsScalar() && !ys.IsScalar():
		switch opType {
		case backends.OpTypeAdd:
			return y, neutral(x, 0)
		case backends.OpTypeMul:
			return y, neutral(x, 1)
		}
	}
	return nil, false
}

// broadcastScalar returns s when op is BroadcastInDim(s) of a scalar s.
func broadcastScalar(op backends.Op) (backends.Op, bool) {
	n := opNode(op)
	if _, ok := n.data.(*broadcastOp); !ok || n.opType != backends.OpTypeBroadcastInDim || len(n.inputs) != 1 {
		return nil, false
	}
	if in := nodeOf(n.inputs[0]); in.shape.IsScalar() {
		return n.inputs[0], true
	}
	return nil, false
}

// Add implements backends.Builder (natively for floats of equal shapes or with a scalar).
func (b *Builder) Add(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeAdd, x, y, b.Builder.Add)
}

// Sub implements backends.Builder (natively for floats of equal shapes or with a scalar).
func (b *Builder) Sub(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeSub, x, y, b.Builder.Sub)
}

// Mul implements backends.Builder (natively for floats of equal shapes or with a scalar).
// v·indicator(z), with the indicator one of the fused Sign(Sign(z)+c) nodes (how GoMLX
// writes the gradient of ReLU), is computed from v and z in one pass.
func (b *Builder) Mul(x, y backends.Op) (backends.Op, error) {
	for _, pair := range [2][2]backends.Op{{x, y}, {y, x}} {
		v, ind := pair[0], pair[1]
		in := opNode(ind)
		u, ok := in.data.(*unaryOp)
		if !ok || u.steps == nil || in.builder != b.Builder {
			continue
		}
		if vs, err := b.OpShape(v); err == nil && vs.Equal(in.shape) {
			op := &maskMulOp{eng: b.backend.engine, steps: u.steps}
			return newNativeNode(b.Builder, backends.OpTypeMul, vs, op, v, in.inputs[0]), nil
		}
	}
	return b.binary(backends.OpTypeMul, x, y, b.Builder.Mul)
}

// maskMulOp computes v·s(z), s being a Sign(Sign(z)+c) step function (see unaryOp.steps).
type maskMulOp struct {
	eng   *engine
	steps *[3]float64
}

func (op *maskMulOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	if node.shape.DType == dtypes.Float32 {
		maskMulExec[float32](op, inputs[0], inputs[1], outM)
	} else {
		maskMulExec[float64](op, inputs[0], inputs[1], outM)
	}
	return out, nil
}

func maskMulExec[T float32 | float64](op *maskMulOp, vb, zb, outb *bufferMirror) {
	v, z, out := flatOf[T](vb), flatOf[T](zb), flatOf[T](outb)
	pos, zero, neg := T(op.steps[0]), T(op.steps[1]), T(op.steps[2])
	n := len(out)
	parallelFor(op.eng.workers, (n+ewChunk-1)/ewChunk, func(_, ci int) {
		lo, hi := ci*ewChunk, min(n, (ci+1)*ewChunk)
		maskMulSlice(out[lo:hi], v[lo:hi], z[lo:hi], pos, zero, neg)
	})
}

// Div implements backends.Builder (natively for floats of equal shapes or with a scalar).
func (b *Builder) Div(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeDiv, x, y, b.Builder.Div)
}

// Max implements backends.Builder (natively for floats of equal shapes or with a scalar).
func (b *Builder) Max(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMax, x, y, b.Builder.Max)
}

// Min implements backends.Builder (natively for floats of equal shapes or with a scalar).
func (b *Builder) Min(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMin, x, y, b.Builder.Min)
}

// Sign implements backends.Builder (natively for floats): −1, 0 or 1, and NaN for NaN.
func (b *Builder) Sign(x backends.Op) (backends.Op, error) {
	xs, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if !isFloat(xs.DType) {
		return b.Builder.Sign(x)
	}
	op := &unaryOp{eng: b.backend.engine, opType: backends.OpTypeSign}
	if z, c, ok := signPlusConstant(x); ok {
		sign := func(v float64) float64 {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return -1
			}
			return 0
		}
		op.steps = &[3]float64{sign(1 + c), sign(c), sign(c - 1)}
		x = z
	}
	return newNativeNode(b.Builder, backends.OpTypeSign, xs, op, x), nil
}

// Exp implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Exp(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeExp, x, b.Builder.Exp)
}

// Neg implements backends.Builder (natively for floats).
func (b *Builder) Neg(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeNeg, x, b.Builder.Neg)
}

// Log implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Log(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLog, x, b.Builder.Log)
}

// Log1p implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Log1p(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLog1p, x, b.Builder.Log1p)
}

// Sqrt implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Sqrt(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeSqrt, x, b.Builder.Sqrt)
}

// Rsqrt implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Rsqrt(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeRsqrt, x, b.Builder.Rsqrt)
}

// Sin implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Sin(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeSin, x, b.Builder.Sin)
}

// Cos implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Cos(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeCos, x, b.Builder.Cos)
}

// Abs implements backends.Builder (natively for floats; −0 stays −0, as in simplego).
func (b *Builder) Abs(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeAbs, x, b.Builder.Abs)
}

// Tanh implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Tanh(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeTanh, x, b.Builder.Tanh)
}

// Expm1 implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Expm1(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeExpm1, x, b.Builder.Expm1)
}

// Logistic implements backends.Builder (natively for floats, split among the workers).
func (b *Builder) Logistic(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogistic, x, b.Builder.Logistic)
}

func (b *Builder) unary(opType backends.OpType, x backends.Op, fallback func(backends.Op) (backends.Op, error)) (backends.Op, error) {
	xs, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if !isFloat(xs.DType) {
		return fallback(x)
	}
	return newNativeNode(b.Builder, opType, xs, &unaryOp{eng: b.backend.engine, opType: opType}, x), nil
}

// signPlusConstant matches x = Add(Sign(z), c) (either order) with c a scalar constant.
func signPlusConstant(x backends.Op) (z backends.Op, c float64, ok bool) {
	add := opNode(x)
	if _, native := add.data.(*binaryOp); !native || add.opType != backends.OpTypeAdd || len(add.inputs) != 2 {
		return nil, 0, false
	}
	for i := range 2 {
		sgn, cst := nodeOf(add.inputs[i]), nodeOf(add.inputs[1-i])
		if u, isSign := sgn.data.(*unaryOp); !isSign || u.steps != nil || sgn.opType != backends.OpTypeSign {
			continue
		}
		if v, isConst := scalarConstant(cst); isConst && sgn.shape.Equal(add.shape) {
			return sgn.inputs[0], v, true
		}
	}
	return nil, 0, false
}

// scalarConstant returns the value of a float scalar Constant node.
func scalarConstant(n *nodeMirror) (float64, bool) {
	if n.opType != backends.OpTypeConstant || !n.shape.IsScalar() {
		return 0, false
	}
	buf, ok := n.data.(*simplego.Buffer)
	if !ok {
		return 0, false
	}
	switch flat := bufferOf(buf).flat.(type) {
	case []float32:
		return float64(flat[0]), true
	case []float64:
		return flat[0], true
	}
	return 0, false
}

func (op *binaryOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	if node.shape.DType == dtypes.Float32 {
		binaryExec[float32](op, inputs[0], inputs[1], outM, node.shape)
	} else {
		binaryExec[float64](op, inputs[0], inputs[1], outM, node.shape)
	}
	return out, nil
}

func binaryExec[T float32 | float64](op *binaryOp, xb, yb, outb *bufferMirror, shape shapes.Shape) {
	x, y, out := flatOf[T](xb), flatOf[T](yb), flatOf[T](outb)
	if op.broadcast {
		binaryBroadcast(op, x, y, out, xb.shape.Dimensions, yb.shape.Dimensions, shape.Dimensions)
		return
	}
	n := len(out)
	parallelFor(op.eng.workers, (n+ewChunk-1)/ewChunk, func(_, ci int) {
		lo, hi := ci*ewChunk, min(n, (ci+1)*ewChunk)
		o := out[lo:hi]
		switch {
		case len(x) == 1 && len(y) != 1:
			binaryScalarLeft(op.opType, o, x[0], y[lo:hi])
		case len(y) == 1 && len(x) != 1:
			binaryScalarRight(op.opType, o, x[lo:hi], y[0])
		default:
			if len(x) == 1 { // Both scalars.
				binaryScalarRight(op.opType, o, x, y[0])
			} else {
				binarySlices(op.opType, o, x[lo:hi], y[lo:hi])
			}
		}
	})
}

// binaryBroadcast walks the output row by row (rows of its last axis); each operand gives a
// row or, where its last axis is a broadcast unit axis, a scalar.
func binaryBroadcast[T float32 | float64](op *binaryOp, x, y, out []T, xDims, yDims, dims []int) {
	rank := len(dims)
	bstrides := func(d []int) []int {
		st := stridesOf(d)
		for i := range d {
			if d[i] == 1 && dims[i] != 1 {
				st[i] = 0
			}
		}
		return st
	}
	xs, ys := bstrides(xDims), bstrides(yDims)
	inner := dims[rank-1]
	rows := len(out) / max(inner, 1)
	rowsPerChunk := max(1, ewChunk/max(inner, 1))
	parallelFor(op.eng.workers, (rows+rowsPerChunk-1)/rowsPerChunk, func(_, ci int) {
		idx := make([]int, rank)
		r0 := ci * rowsPerChunk
		rem := r0
		for ax := rank - 2; ax >= 0; ax-- {
			idx[ax] = rem % dims[ax]
			rem /= dims[ax]
		}
		for r := r0; r < min(rows, r0+rowsPerChunk); r++ {
			xp, yp := 0, 0
			for ax := range rank - 1 {
				xp += idx[ax] * xs[ax]
				yp += idx[ax] * ys[ax]
			}
			o := out[r*inner : (r+1)*inner]
			switch {
			case xs[rank-1] == 0 && ys[rank-1] == 0:
				binaryScalarRight(op.opType, o, []T{x[xp]}, y[yp])
				for j := 1; j < len(o); j++ {
					o[j] = o[0]
				}
			case xs[rank-1] == 0:
				binaryScalarLeft(op.opType, o, x[xp], y[yp:yp+inner])
			case ys[rank-1] == 0:
				binaryScalarRight(op.opType, o, x[xp:xp+inner], y[yp])
			default:
				binarySlices(op.opType, o, x[xp:xp+inner], y[yp:yp+inner])
			}
			for ax := rank - 2; ax >= 0; ax-- {
				idx[ax]++
				if idx[ax] < dims[ax] {
					break
				}
				idx[ax] = 0
			}
		}
	})
}

func (op *unaryOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	if node.shape.DType == dtypes.Float32 {
		unaryExec[float32](op, inputs[0], outM)
	} else {
		unaryExec[float64](op, inputs[0], outM)
	}
	return out, nil
}

func unaryExec[T float32 | float64](op *unaryOp, xb, outb *bufferMirror) {
	x, out := flatOf[T](xb), flatOf[T](outb)
	n := len(out)
	parallelFor(op.eng.workers, (n+ewChunk-1)/ewChunk, func(_, ci int) {
		lo, hi := ci*ewChunk, min(n, (ci+1)*ewChunk)
		xs := x[lo:hi]
		o := out[lo : lo+len(xs)] // Same length: no bounds checks below.
		switch {
		case op.steps != nil:
			pos, zero, neg := T(op.steps[0]), T(op.steps[1]), T(op.steps[2])
			for i, v := range xs {
				switch {
				case v > 0:
					o[i] = pos
				case v < 0:
					o[i] = neg
				case v == 0:
					o[i] = zero
				default:
					o[i] = v // NaN.
				}
			}
		case op.opType == backends.OpTypeSign:
			for i, v := range xs {
				switch {
				case v > 0:
					o[i] = 1
				case v < 0:
					o[i] = -1
				default:
					o[i] = v // 0, −0 or NaN.
				}
			}
		default:
			unaryApply(op.opType, o, xs)
		}
	})
}
