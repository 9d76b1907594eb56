package backend

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
)

// BenchmarkSIMDKernels times each float32 kernel on one fused-program block (fuseBlock
// elements, in L1) with the Go loop and with the assembly, alternating in the same run, and
// reports both in ns per element and their ratio:
//
//	go test -run '^$' -bench SIMDKernels ./backend/
func BenchmarkSIMDKernels(b *testing.B) {
	if !simdSupported {
		b.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = fuseBlock
	x, y, z, o := uniforms[float32](rng, n, -2, 2), uniforms[float32](rng, n, -2, 2), uniforms[float32](rng, n, -2, 2), make([]float32, n)
	u := make([]uint32, n)
	for i := range u {
		u[i] = rng.Uint32()
	}
	pos := uniforms[float32](rng, n, 0, 4)
	var acc [sumLanes]float64
	kernels := []struct {
		name string
		f    func()
	}{
		{"mulAddSS", func() { mulAddKernel(o, x, nil, 1.5, nil, 0.25) }},
		{"mulAddSV", func() { mulAddKernel(o, x, nil, 1.5, z, 0) }},
		{"mulAddVS", func() { mulAddKernel(o, x, y, 0, nil, 0.25) }},
		{"mulAddVV", func() { mulAddKernel(o, x, y, 0, z, 0) }},
		{"addVV", func() { binarySlices(backends.OpTypeAdd, o, x, y) }},
		{"subVV", func() { binarySlices(backends.OpTypeSub, o, x, y) }},
		{"mulVV", func() { binarySlices(backends.OpTypeMul, o, x, y) }},
		{"divVV", func() { binarySlices(backends.OpTypeDiv, o, x, y) }},
		{"maxVV", func() { binarySlices(backends.OpTypeMax, o, x, y) }},
		{"mulVS", func() { binaryScalarRight(backends.OpTypeMul, o, x, 1.5) }},
		{"subVS", func() { binaryScalarRight(backends.OpTypeSub, o, x, 1.5) }},
		{"subSV", func() { binaryScalarLeft(backends.OpTypeSub, o, 1, x) }},
		{"minVS", func() { binaryScalarRight(backends.OpTypeMin, o, x, 0.5) }},
		{"neg", func() { unaryApply(backends.OpTypeNeg, o, x) }},
		{"abs", func() { unaryApply(backends.OpTypeAbs, o, x) }},
		{"sqrt", func() { unaryApply(backends.OpTypeSqrt, o, pos) }},
		{"log", func() { unaryApply(backends.OpTypeLog, o, pos) }},
		{"convertU32", func() { convertInto(o, u, 0) }},
		{"maskMul", func() { maskMulSlice(o, x, y, 1, 0, 0) }},
		{"addLanes", func() { addLanes(&acc, x) }},
		{"addProducts", func() { addProducts(&acc, x, y) }},
	}
	for _, k := range kernels {
		b.Run(k.name, func(b *testing.B) {
			var elapsed [2]time.Duration
			for range b.N {
				for i, on := range []bool{false, true} {
					withSIMD(on, func() {
						start := time.Now()
						for range 64 {
							k.f()
						}
						elapsed[i] += time.Since(start)
					})
				}
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*64*n) }
			b.ReportMetric(per(elapsed[0]), "go-ns/elem")
			b.ReportMetric(per(elapsed[1]), "simd-ns/elem")
			b.ReportMetric(per(elapsed[0])/per(elapsed[1]), "speedup")
		})
	}
}
