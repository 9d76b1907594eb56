package backend

//go:generate go run simd_gen.go

import (
	"github.com/gomlx/gomlx/backends"
	"golang.org/x/sys/cpu"
)

// simdSupported: AVX2 for the 256-bit integer instructions (shifts, compares, broadcasts),
// and AVX, which x/sys/cpu reports only when the OS saves the YMM registers.
var simdSupported = cpu.X86.HasAVX2 && cpu.X86.HasAVX

// simdExp: exp32V32 repeats the FMA branch of Go's math.Exp (exp_amd64.s), which math takes
// exactly on CPUs with AVX and FMA; elsewhere math.Exp rounds differently and Exp stays in Go.
// These are the only fused multiply-adds in the kernels: they are math.Exp's own.
var simdExp = simdSupported && cpu.X86.HasFMA

// The kernels of simd_amd64.s. Each computes len(o) elements; every other slice is at
// least that long (the wrappers below cut them to it, panicking if one is shorter).

//go:noescape
func addVV32(o, x, y []float32)

//go:noescape
func subVV32(o, x, y []float32)

//go:noescape
func mulVV32(o, x, y []float32)

//go:noescape
func divVV32(o, x, y []float32)

//go:noescape
func maxVV32(o, x, y []float32)

//go:noescape
func minVV32(o, x, y []float32)

//go:noescape
func addVS32(o, x []float32, s float32)

//go:noescape
func subVS32(o, x []float32, s float32)

//go:noescape
func mulVS32(o, x []float32, s float32)

//go:noescape
func divVS32(o, x []float32, s float32)

//go:noescape
func maxVS32(o, x []float32, s float32)

//go:noescape
func minVS32(o, x []float32, s float32)

//go:noescape
func addSV32(o []float32, s float32, y []float32)

//go:noescape
func subSV32(o []float32, s float32, y []float32)

//go:noescape
func mulSV32(o []float32, s float32, y []float32)

//go:noescape
func divSV32(o []float32, s float32, y []float32)

//go:noescape
func maxSV32(o []float32, s float32, y []float32)

//go:noescape
func minSV32(o []float32, s float32, y []float32)

//go:noescape
func reduceWinSum32(o, x []float32, offs []int, init float32)

//go:noescape
func reduceWinProd32(o, x []float32, offs []int, init float32)

//go:noescape
func reduceWinMin32(o, x []float32, offs []int, init float32)

//go:noescape
func reduceWinMax32(o, x []float32, offs []int, init float32)

//go:noescape
func selectWinGT32(at []int32, x []float32, offs []int)

//go:noescape
func selectWinLT32(at []int32, x []float32, offs []int)

//go:noescape
func scatterWin32(o []float32, at []int32, v []float32, offs []int)

//go:noescape
func mulAddSS32(o, x []float32, sy, sz float32)

//go:noescape
func mulAddSV32(o, x []float32, sy float32, z []float32)

//go:noescape
func mulAddVS32(o, x, y []float32, sz float32)

//go:noescape
func mulAddVV32(o, x, y, z []float32)

//go:noescape
func negV32(o, x []float32)

//go:noescape
func absV32(o, x []float32)

//go:noescape
func sqrtV32(o, x []float32)

//go:noescape
func cvtU32V32(o []float32, x []uint32)

//go:noescape
func log32V32(o, x []float32) int

//go:noescape
func maskMulV32(o, v, z []float32, pos, zero, neg float32)

//go:noescape
func bnAffineRows32(o, x, sh, a, d []float32)

//go:noescape
func bnAffine2Rows32(o, x, sh, a, y, ysh, b, d []float32)

//go:noescape
func bnSumsRows32(t1, t2 []float64, x, xsh, w, wsh []float32)

//go:noescape
func exp32V32(o, x []float32)

//go:noescape
func addLanes32(acc *[sumLanes]float64, x []float32)

//go:noescape
func addProducts32(acc *[sumLanes]float64, x, y []float32)

// simdVV sets o = x op y for Add, Sub, Mul, Div, Max, Min.
func simdVV(op backends.OpType, o, x, y []float32) bool {
	if !simdEnabled {
		return false
	}
	o, y = o[:len(x)], y[:len(x)]
	switch op {
	case backends.OpTypeAdd:
		addVV32(o, x, y)
	case backends.OpTypeSub:
		subVV32(o, x, y)
	case backends.OpTypeMul:
		mulVV32(o, x, y)
	case backends.OpTypeDiv:
		divVV32(o, x, y)
	case backends.OpTypeMax:
		maxVV32(o, x, y)
	case backends.OpTypeMin:
		minVV32(o, x, y)
	default:
		return false
	}
	return true
}

// simdVS sets o = x op s for Add, Sub, Mul, Div, Max, Min.
func simdVS(op backends.OpType, o, x []float32, s float32) bool {
	if !simdEnabled {
		return false
	}
	o = o[:len(x)]
	switch op {
	case backends.OpTypeAdd:
		addVS32(o, x, s)
	case backends.OpTypeSub:
		subVS32(o, x, s)
	case backends.OpTypeMul:
		mulVS32(o, x, s)
	case backends.OpTypeDiv:
		divVS32(o, x, s)
	case backends.OpTypeMax:
		maxVS32(o, x, s)
	case backends.OpTypeMin:
		minVS32(o, x, s)
	default:
		return false
	}
	return true
}

// simdSV sets o = s op y for Add, Sub, Mul, Div, Max, Min.
func simdSV(op backends.OpType, o []float32, s float32, y []float32) bool {
	if !simdEnabled {
		return false
	}
	o = o[:len(y)]
	switch op {
	case backends.OpTypeAdd:
		addSV32(o, s, y)
	case backends.OpTypeSub:
		subSV32(o, s, y)
	case backends.OpTypeMul:
		mulSV32(o, s, y)
	case backends.OpTypeDiv:
		divSV32(o, s, y)
	case backends.OpTypeMax:
		maxSV32(o, s, y)
	case backends.OpTypeMin:
		minSV32(o, s, y)
	default:
		return false
	}
	return true
}

// simdMulAdd sets o = (x·y) + z, y the scalar sy when nil, z the scalar sz when nil.
func simdMulAdd(o, x, y []float32, sy float32, z []float32, sz float32) bool {
	if !simdEnabled {
		return false
	}
	o = o[:len(x)]
	switch {
	case y == nil && z == nil:
		mulAddSS32(o, x, sy, sz)
	case y == nil:
		mulAddSV32(o, x, sy, z[:len(x)])
	case z == nil:
		mulAddVS32(o, x, y[:len(x)], sz)
	default:
		mulAddVV32(o, x, y[:len(x)], z[:len(x)])
	}
	return true
}

// simdUnary sets o = f(x) for Neg, Abs, Sqrt and (where math.Exp uses FMA) Exp.
func simdUnary(op backends.OpType, o, x []float32) bool {
	if !simdEnabled {
		return false
	}
	o = o[:len(x)]
	switch op {
	case backends.OpTypeNeg:
		negV32(o, x)
	case backends.OpTypeAbs:
		absV32(o, x)
	case backends.OpTypeSqrt:
		sqrtV32(o, x)
	case backends.OpTypeExp:
		if !simdExp {
			return false
		}
		exp32V32(o, x)
	default:
		return false
	}
	return true
}

// simdLog32 sets o = log32(x) for whole groups of 8 values up to the first group holding a
// value log32 leaves to math.Log, and returns how many values it set.
func simdLog32(o, x []float32) int {
	if !simdEnabled {
		return 0
	}
	return log32V32(o[:len(x)], x)
}

// simdMaskMul sets o = v·pos, v·neg or v·zero as z > 0, z < 0 or z = 0, and o = z for NaN z.
func simdMaskMul(o, v, z []float32, pos, zero, neg float32) bool {
	if !simdEnabled {
		return false
	}
	maskMulV32(o[:len(z)], v[:len(z)], z, pos, zero, neg)
	return true
}

// simdBNAffine sets o = a·(x − sh) + b·(y − ysh) + d (without the b term when y is nil) for
// rows of c = len(a) features, len(o) a multiple of c.
func simdBNAffine(o, x, sh, a, y, ysh, b, d []float32) bool {
	c := len(a)
	if !simdEnabled || c == 0 || len(o)%c != 0 {
		return false
	}
	x, sh, d = x[:len(o)], sh[:c], d[:c]
	if y == nil {
		bnAffineRows32(o, x, sh, a, d)
	} else {
		bnAffine2Rows32(o, x, sh, a, y[:len(o)], ysh[:c], b[:c], d)
	}
	return true
}

// simdBNSums adds, per feature j of rows of c = len(xsh) features, δ = x − xsh to t1[j] and
// δ·(w − wsh) to t2[j] in float64, row after row.
func simdBNSums(t1, t2 []float64, x, xsh, w, wsh []float32) bool {
	c := len(xsh)
	if !simdEnabled || c == 0 || len(x)%c != 0 {
		return false
	}
	bnSumsRows32(t1[:c], t2[:c], x, xsh, w[:len(x)], wsh[:c])
	return true
}

// simdConvertU32 sets o = float32(x).
func simdConvertU32(o []float32, x []uint32) bool {
	if !simdEnabled {
		return false
	}
	cvtU32V32(o[:len(x)], x)
	return true
}

// simdAddLanes adds the longest prefix of x that is a multiple of sumLanes to the lanes, as
// addLanes does, and returns its length.
func simdAddLanes(acc *[sumLanes]float64, x []float32) int {
	if !simdEnabled {
		return 0
	}
	n := len(x) &^ (sumLanes - 1)
	addLanes32(acc, x[:n])
	return n
}

// simdAddProducts is simdAddLanes of the products x[i]·y[i] rounded to float32.
func simdAddProducts(acc *[sumLanes]float64, x, y []float32) int {
	if !simdEnabled {
		return 0
	}
	n := len(x) &^ (sumLanes - 1)
	addProducts32(acc, x[:n], y[:n])
	return n
}

// simdReduceWin computes ReduceWindow's output position o (len(o) inner elements) from the
// window's real positions offs in x (non-empty and increasing, or empty: o = init), for the
// first len(o) &^ 7 elements; it returns how many it did (0 when the kernels are off).
func simdReduceWin(kind backends.ReduceOpType, o, x []float32, offs []int, init float32) int {
	n := len(o) &^ 7
	if !simdEnabled || n == 0 {
		return 0
	}
	if len(offs) > 0 {
		_ = x[offs[0]:][offs[len(offs)-1]-offs[0]+n-1] // Every read is inside x.
	}
	o = o[:n]
	switch kind {
	case backends.ReduceOpMax:
		reduceWinMax32(o, x, offs, init)
	case backends.ReduceOpMin:
		reduceWinMin32(o, x, offs, init)
	case backends.ReduceOpSum:
		reduceWinSum32(o, x, offs, init)
	default:
		reduceWinProd32(o, x, offs, init)
	}
	return n
}

// simdSelectWin sets at[i], for the first len(at) &^ 7 inner elements, to the index k in
// offs of the window position whose x[offs[k]+i] is first greatest (least with isMin); it
// returns how many it did (0 when the kernels are off). offs must be non-empty and
// increasing, x long enough for its last position.
func simdSelectWin(isMin bool, at []int32, x []float32, offs []int) int {
	n := len(at) &^ 7
	if !simdEnabled || n == 0 {
		return 0
	}
	_ = x[offs[0]:][offs[len(offs)-1]-offs[0]+n-1] // Every read is inside x.
	if isMin {
		selectWinLT32(at[:n], x, offs)
	} else {
		selectWinGT32(at[:n], x, offs)
	}
	return n
}

// simdScatterWin sets o[offs[k]+i] = at[i] == k ? 0 + v[i] : 0 for every window position k
// and the first len(at) &^ 7 inner elements; it returns how many it did (0 when the kernels
// are off). offs as for simdSelectWin, o as long as x was.
func simdScatterWin(o []float32, at []int32, v []float32, offs []int) int {
	n := len(at) &^ 7
	if !simdEnabled || n == 0 {
		return 0
	}
	_ = o[offs[0]:][offs[len(offs)-1]-offs[0]+n-1] // Every write is inside o.
	scatterWin32(o, at[:n], v[:n], offs)
	return n
}
