package backend

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
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
		{"exp", func() { unaryApply(backends.OpTypeExp, o, x) }},
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

// gaussianNoise is sam's Gaussian draw from uniforms u, w (sam's normalPair): the radius
// √(−2·log(1−u)) and, with v = 2w − 1 and s = v², cos(π·v) and sin(π·v) as Taylor polynomials
// of degree 10 in s by Horner's rule; it returns radius·cos + radius·sin so both are computed.
// As in sam, the radius and v are built twice so that fusion makes each half one program.
func gaussianNoise(xs []*Node) *Node {
	radius := func() *Node { return Sqrt(MulScalar(Log(OneMinus(xs[0])), -2)) }
	v := func() *Node { return AddScalar(MulScalar(xs[1], 2), -1) }
	s := Square(v())
	horner := func(first int) *Node { // Σ_{k≤10} (−1)^k·π^(2k+first)/(2k+first)!·s^k
		coefs := make([]float64, 11)
		for k := range coefs {
			c := 1.0
			for i := 1; i <= 2*k+first; i++ {
				c *= math.Pi / float64(i)
			}
			coefs[10-k] = c * math.Pow(-1, float64(k))
		}
		p := AddScalar(MulScalar(s, coefs[0]), coefs[1])
		for _, c := range coefs[2:] {
			p = AddScalar(Mul(p, s), c)
		}
		return p
	}
	return Add(Mul(radius(), horner(0)), Mul(radius(), Mul(v(), horner(1))))
}

// BenchmarkSIMDFusedGraph times one compiled graph, gaussianNoise over 334,853 float32 values
// of each uniform (an MLP 784-512-512-10 has 2× that many parameters), with the Go loops and the assembly
// alternating in the same run:
//
//	go test -run '^$' -bench SIMDFusedGraph ./backend/
func BenchmarkSIMDFusedGraph(b *testing.B) {
	if !simdSupported {
		b.Skip("no AVX2")
	}
	be := newTestBackend(b, "")
	const n = 334853
	rng := rand.New(rand.NewPCG(3, 4))
	args := []any{
		tensors.FromFlatDataAndDimensions(uniforms[float32](rng, n, 0, 1), n),
		tensors.FromFlatDataAndDimensions(uniforms[float32](rng, n, 0, 1), n),
		tensors.FromFlatDataAndDimensions(uniforms[float32](rng, n, -1, 1), n),
	}
	exec, err := NewExec(be, gaussianNoise)
	if err != nil {
		b.Fatal(err)
	}
	defer exec.Finalize()
	run := func() {
		out, err := exec.Exec(args...)
		if err != nil {
			b.Fatal(err)
		}
		out[0].FinalizeAll()
	}
	run() // Compile.
	var elapsed [2]time.Duration
	for range b.N {
		for i, on := range []bool{false, true} {
			withSIMD(on, func() {
				start := time.Now()
				run()
				elapsed[i] += time.Since(start)
			})
		}
	}
	b.ReportMetric(float64(elapsed[0].Microseconds())/float64(b.N)/1000, "go-ms")
	b.ReportMetric(float64(elapsed[1].Microseconds())/float64(b.N)/1000, "simd-ms")
	b.ReportMetric(float64(elapsed[0])/float64(elapsed[1]), "speedup")
}
