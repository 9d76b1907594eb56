package backend

// The Go loops of the elementwise ops: the float64 path, the float32 path where the CPU has no
// AVX2 (or TSAM_NO_SIMD is set; on arm64 they are the only path), and the reference the
// assembly kernels are tested against bit for bit.
//
// The hottest ones (add, subtract, multiply, multiply-add) are unrolled by four: on the
// fuseBlock-element blocks of fused programs (in L1) the loop overhead is much of a plain
// loop's cost (measured on the Go path: up to 2.2× for the loops with a scalar operand, about
// 18% off sam's Gaussian draw; docs/results/backend-history.md). Each element gets exactly the
// operations of the plain loop.

import (
	"math"

	"github.com/gomlx/gomlx/backends"
)

func binarySlices[T float32 | float64](opType backends.OpType, o, x, y []T) {
	y = y[:len(x)]
	o = o[:len(x)]
	if isF32[T]() && simdVV(opType, f32(o), f32(x), f32(y)) {
		return
	}
	switch opType {
	case backends.OpTypeAdd:
		addVV(o, x, y)
	case backends.OpTypeSub:
		subVV(o, x, y)
	case backends.OpTypeMul:
		mulVV(o, x, y)
	case backends.OpTypeDiv:
		for i, v := range x {
			o[i] = v / y[i]
		}
	case backends.OpTypeMax:
		for i, v := range x {
			o[i] = maxNaN(v, y[i])
		}
	case backends.OpTypeMin:
		for i, v := range x {
			o[i] = minNaN(v, y[i])
		}
	}
}

func binaryScalarRight[T float32 | float64](opType backends.OpType, o, x []T, s T) {
	o = o[:len(x)]
	if isF32[T]() && simdVS(opType, f32(o), f32(x), float32(s)) {
		return
	}
	switch opType {
	case backends.OpTypeAdd:
		addVS(o, x, s)
	case backends.OpTypeSub:
		for i, v := range x {
			o[i] = v - s
		}
	case backends.OpTypeMul:
		mulVS(o, x, s)
	case backends.OpTypeDiv:
		for i, v := range x {
			o[i] = v / s
		}
	case backends.OpTypeMax:
		for i, v := range x {
			o[i] = maxNaN(v, s)
		}
	case backends.OpTypeMin:
		for i, v := range x {
			o[i] = minNaN(v, s)
		}
	}
}

func binaryScalarLeft[T float32 | float64](opType backends.OpType, o []T, s T, y []T) {
	o = o[:len(y)]
	if isF32[T]() && simdSV(opType, f32(o), float32(s), f32(y)) {
		return
	}
	switch opType {
	case backends.OpTypeAdd:
		for i, v := range y {
			o[i] = s + v
		}
	case backends.OpTypeSub:
		for i, v := range y {
			o[i] = s - v
		}
	case backends.OpTypeMul:
		for i, v := range y {
			o[i] = s * v
		}
	case backends.OpTypeDiv:
		for i, v := range y {
			o[i] = s / v
		}
	case backends.OpTypeMax:
		for i, v := range y {
			o[i] = maxNaN(s, v)
		}
	case backends.OpTypeMin:
		for i, v := range y {
			o[i] = minNaN(s, v)
		}
	}
}

// maxNaN and minNaN propagate NaN, as XLA's max and min do (Go's built-ins do too, but also
// order −0 and +0, which costs more).
func maxNaN[T float32 | float64](a, b T) T {
	if a > b || a != a {
		return a
	}
	return b
}

func minNaN[T float32 | float64](a, b T) T {
	if a < b || a != a {
		return a
	}
	return b
}

// maskMulSlice sets o = v·pos, v·neg or v·zero as z > 0, z < 0 or z = 0, and o = z for NaN z.
func maskMulSlice[T float32 | float64](o, v, z []T, pos, zero, neg T) {
	o, v = o[:len(z)], v[:len(z)] // Same lengths: no bounds checks below.
	if isF32[T]() && simdMaskMul(f32(o), f32(v), f32(z), float32(pos), float32(zero), float32(neg)) {
		return
	}
	for i, zv := range z {
		switch {
		case zv > 0:
			o[i] = v[i] * pos
		case zv < 0:
			o[i] = v[i] * neg
		case zv == 0:
			o[i] = v[i] * zero
		default:
			o[i] = zv // NaN, as Sign would give.
		}
	}
}

// mulAddKernel sets o = T(x·y) + z, where y is the scalar sy when nil, z the scalar sz when
// nil. The conversions round the product before the sum, as two separate nodes would.
func mulAddKernel[T float32 | float64](o, x, y []T, sy T, z []T, sz T) {
	if isF32[T]() && simdMulAdd(f32(o), f32(x), f32(y), float32(sy), f32(z), float32(sz)) {
		return
	}
	switch {
	case y == nil && z == nil:
		mulAddSS(o, x, sy, sz)
	case y == nil:
		mulAddSV(o, x, sy, z)
	case z == nil:
		mulAddVS(o, x, y, sz)
	default:
		mulAddVV(o, x, y, z)
	}
}

// unaryApply computes o = f(x) for the native unary ops but Sign (Exp, Neg, Log, Log1p, Sqrt,
// Rsqrt, Sin, Cos, Abs, Tanh, Expm1, Logistic), in float64 for the transcendental ones (as
// simplego does, so float32 results are the correctly rounded float64 values).
func unaryApply[T float32 | float64](opType backends.OpType, o, x []T) {
	o = o[:len(x)]
	if isF32[T]() && simdUnary(opType, f32(o), f32(x)) {
		return
	}
	f := func(g func(float64) float64) {
		for i, v := range x {
			o[i] = T(g(float64(v)))
		}
	}
	switch opType {
	case backends.OpTypeNeg:
		for i, v := range x {
			o[i] = -v
		}
	case backends.OpTypeAbs:
		for i, v := range x {
			if v < 0 {
				v = -v
			}
			o[i] = v
		}
	case backends.OpTypeSqrt:
		for i, v := range x {
			o[i] = T(math.Sqrt(float64(v)))
		}
	case backends.OpTypeRsqrt:
		for i, v := range x {
			o[i] = T(1 / math.Sqrt(float64(v)))
		}
	case backends.OpTypeExp:
		f(math.Exp)
	case backends.OpTypeLog:
		if o32, ok := any(o).([]float32); ok {
			log32Slice(o32, any(x).([]float32))
			return
		}
		f(math.Log)
	case backends.OpTypeLog1p:
		f(math.Log1p)
	case backends.OpTypeSin:
		f(math.Sin)
	case backends.OpTypeCos:
		f(math.Cos)
	case backends.OpTypeTanh:
		f(math.Tanh)
	case backends.OpTypeExpm1:
		f(math.Expm1)
	case backends.OpTypeLogistic:
		f(logistic)
	}
}

// logistic is 1/(1+e^−x) without overflow, written as simplego writes it.
func logistic(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// log32 is the natural log of a float32, computed in float64 (measured 2.5–3.5× faster than math.Log)
// (the method of glibc's logf): x = 2ᵏ·z with z in [0.70, 1.40), split into 128 bins by the
// top 7 bits of its mantissa; with c the bin's centre, log x = k·ln 2 + log c + log(1+r),
// r = z/c − 1, |r| < 0.008, and log(1+r) by its series to r⁵ (error < 1e-13). The two bins
// beside 1 use c = 1, so near x = 1 (where k = 0) nothing cancels. Zero, negatives, subnormals,
// infinities and NaN go to math.Log.
func log32(x float32) float32 {
	ix := math.Float32bits(x)
	if ix-0x00800000 >= 0x7f000000 { // Not a positive normal finite number.
		return float32(math.Log(float64(x)))
	}
	tmp := ix - log32Off
	i := (tmp >> 16) % 128
	k := int32(tmp) >> 23 // Arithmetic shift: k < 0 for x < 0.70.
	z := float64(math.Float32frombits(ix - tmp&0xff800000))
	t := &log32Table[i]
	return float32(float64(float64(k)*math.Ln2) + t.logc + log32Series(float64(z*t.invc)-1))
}

// log32Slice sets o = log32(x): whole groups of 8 by the assembly kernel where there is one,
// the rest (a tail, a group holding a special value, or everything) by log32Go.
func log32Slice(o, x []float32) {
	o = o[:len(x)]
	for len(x) > 0 {
		n := simdLog32(o, x)
		m := len(x)
		if simdEnabled {
			m = min(m, n+8)
		}
		log32Go(o[n:m], x[n:m])
		o, x = o[m:], x[m:]
	}
}

// log32Go sets o = log32(x) with log32's body inlined (the call cost ~20% of it).
func log32Go(o, x []float32) {
	o = o[:len(x)]
	for i, v := range x {
		ix := math.Float32bits(v)
		if ix-0x00800000 >= 0x7f000000 {
			o[i] = float32(math.Log(float64(v)))
			continue
		}
		tmp := ix - log32Off
		t := &log32Table[(tmp>>16)%128]
		z := float64(math.Float32frombits(ix - tmp&0xff800000))
		o[i] = float32(float64(float64(int32(tmp)>>23)*math.Ln2) + t.logc + log32Series(float64(z*t.invc)-1))
	}
}

// log32Series is log(1+r) ≈ r·(1 + r·(−1/2 + r·(1/3 + r·(−1/4 + r/5)))) by Horner's rule. Every
// product is converted explicitly so that no build fuses it into an FMA (Go may, e.g. with
// GOAMD64=v3): log32 gives the same bits in every build and in log32V32.
func log32Series(r float64) float64 {
	p := float64(r * (1.0 / 5))
	p = float64(r * (-1.0/4 + p))
	p = float64(r * (1.0/3 + p))
	p = float64(r * (-1.0/2 + p))
	return float64(r * (1 + p))
}

// log32Off is the bit pattern of 0.6992…: z's range starts there.
const log32Off = 0x3f330000

// log32Table holds 1/c and log c for the centre c of each of log32's bins.
var log32Table = func() (table [128]struct{ invc, logc float64 }) {
	for i := range uint32(128) {
		// Bin i holds the z whose bits are log32Off + i·2¹⁶ + (0 … 2¹⁶−1).
		c := float64(math.Float32frombits(log32Off + i<<16 + 1<<15))
		if lo := log32Off + i<<16; lo == 0x3f800000 || lo+1<<16 == 0x3f800000 {
			c = 1 // The two bins beside 1: r = z − 1 exactly, log c = 0, no cancellation.
		}
		table[i].invc, table[i].logc = 1/c, math.Log(c)
	}
	return table
}()

// mulAddSS sets o = T(x·sy) + sz.
func mulAddSS[T float32 | float64](o, x []T, sy, sz T) {
	o = o[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		o4[0] = T(x4[0]*sy) + sz
		o4[1] = T(x4[1]*sy) + sz
		o4[2] = T(x4[2]*sy) + sz
		o4[3] = T(x4[3]*sy) + sz
	}
	for ; i < len(x); i++ {
		o[i] = T(x[i]*sy) + sz
	}
}

// mulAddSV sets o = T(x·sy) + z.
func mulAddSV[T float32 | float64](o, x []T, sy T, z []T) {
	o = o[:len(x)]
	z = z[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		z4 := z[i : i+4 : i+4]
		o4[0] = T(x4[0]*sy) + z4[0]
		o4[1] = T(x4[1]*sy) + z4[1]
		o4[2] = T(x4[2]*sy) + z4[2]
		o4[3] = T(x4[3]*sy) + z4[3]
	}
	for ; i < len(x); i++ {
		o[i] = T(x[i]*sy) + z[i]
	}
}

// mulAddVS sets o = T(x·y) + sz.
func mulAddVS[T float32 | float64](o, x, y []T, sz T) {
	o = o[:len(x)]
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		y4 := y[i : i+4 : i+4]
		o4[0] = T(x4[0]*y4[0]) + sz
		o4[1] = T(x4[1]*y4[1]) + sz
		o4[2] = T(x4[2]*y4[2]) + sz
		o4[3] = T(x4[3]*y4[3]) + sz
	}
	for ; i < len(x); i++ {
		o[i] = T(x[i]*y[i]) + sz
	}
}

// mulAddVV sets o = T(x·y) + z.
func mulAddVV[T float32 | float64](o, x, y, z []T) {
	o = o[:len(x)]
	y = y[:len(x)]
	z = z[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		y4 := y[i : i+4 : i+4]
		z4 := z[i : i+4 : i+4]
		o4[0] = T(x4[0]*y4[0]) + z4[0]
		o4[1] = T(x4[1]*y4[1]) + z4[1]
		o4[2] = T(x4[2]*y4[2]) + z4[2]
		o4[3] = T(x4[3]*y4[3]) + z4[3]
	}
	for ; i < len(x); i++ {
		o[i] = T(x[i]*y[i]) + z[i]
	}
}

// addVV sets o = x + y.
func addVV[T float32 | float64](o, x, y []T) {
	o = o[:len(x)]
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		y4 := y[i : i+4 : i+4]
		o4[0] = x4[0] + y4[0]
		o4[1] = x4[1] + y4[1]
		o4[2] = x4[2] + y4[2]
		o4[3] = x4[3] + y4[3]
	}
	for ; i < len(x); i++ {
		o[i] = x[i] + y[i]
	}
}

// subVV sets o = x − y.
func subVV[T float32 | float64](o, x, y []T) {
	o = o[:len(x)]
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		y4 := y[i : i+4 : i+4]
		o4[0] = x4[0] - y4[0]
		o4[1] = x4[1] - y4[1]
		o4[2] = x4[2] - y4[2]
		o4[3] = x4[3] - y4[3]
	}
	for ; i < len(x); i++ {
		o[i] = x[i] - y[i]
	}
}

// mulVV sets o = x·y.
func mulVV[T float32 | float64](o, x, y []T) {
	o = o[:len(x)]
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		y4 := y[i : i+4 : i+4]
		o4[0] = x4[0] * y4[0]
		o4[1] = x4[1] * y4[1]
		o4[2] = x4[2] * y4[2]
		o4[3] = x4[3] * y4[3]
	}
	for ; i < len(x); i++ {
		o[i] = x[i] * y[i]
	}
}

// addVS sets o = x + s.
func addVS[T float32 | float64](o, x []T, s T) {
	o = o[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		o4[0] = x4[0] + s
		o4[1] = x4[1] + s
		o4[2] = x4[2] + s
		o4[3] = x4[3] + s
	}
	for ; i < len(x); i++ {
		o[i] = x[i] + s
	}
}

// mulVS sets o = x·s.
func mulVS[T float32 | float64](o, x []T, s T) {
	o = o[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		o4 := o[i : i+4 : i+4]
		x4 := x[i : i+4 : i+4]
		o4[0] = x4[0] * s
		o4[1] = x4[1] * s
		o4[2] = x4[2] * s
		o4[3] = x4[3] * s
	}
	for ; i < len(x); i++ {
		o[i] = x[i] * s
	}
}
