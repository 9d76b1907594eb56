package backend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// convCase is one ConvGeneral configuration; spatial rank is len(inSp).
type convCase struct {
	batch, cin, cout, groups int
	inSp, kSp                []int
	strides, inDil, kDil     []int // nil means 1
	pads                     [][2]int
	channelsFirst            bool
	swapped                  bool // input [channels, spatial..., batch], kernel [in, spatial..., out]
}

func (c convCase) axes() backends.ConvolveAxesConfig {
	nsp := len(c.inSp)
	var a backends.ConvolveAxesConfig
	if c.channelsFirst { // [batch, channels, spatial...], kernel [out, in, spatial...]
		a.InputBatch, a.InputChannels = 0, 1
		a.KernelOutputChannels, a.KernelInputChannels = 0, 1
		a.OutputBatch, a.OutputChannels = 0, 1
		for i := range nsp {
			a.InputSpatial = append(a.InputSpatial, 2+i)
			a.KernelSpatial = append(a.KernelSpatial, 2+i)
			a.OutputSpatial = append(a.OutputSpatial, 2+i)
		}
		return a
	}
	if c.swapped {
		a.InputChannels, a.InputBatch = 0, nsp+1
		a.KernelInputChannels, a.KernelOutputChannels = 0, nsp+1
		a.OutputBatch, a.OutputChannels = 0, nsp+1
		for i := range nsp {
			a.InputSpatial = append(a.InputSpatial, 1+i)
			a.KernelSpatial = append(a.KernelSpatial, 1+i)
			a.OutputSpatial = append(a.OutputSpatial, 1+i)
		}
		return a
	}
	a.InputBatch, a.InputChannels = 0, nsp+1
	a.KernelInputChannels, a.KernelOutputChannels = nsp, nsp+1
	a.OutputBatch, a.OutputChannels = 0, nsp+1
	for i := range nsp {
		a.InputSpatial = append(a.InputSpatial, 1+i)
		a.KernelSpatial = append(a.KernelSpatial, i)
		a.OutputSpatial = append(a.OutputSpatial, 1+i)
	}
	return a
}

func (c convCase) dims() (x, k []int) {
	if c.channelsFirst {
		return append([]int{c.batch, c.cin}, c.inSp...), append([]int{c.cout, c.cin / c.groups}, c.kSp...)
	}
	if c.swapped {
		return append(append([]int{c.cin}, c.inSp...), c.batch), append(append([]int{c.cin / c.groups}, c.kSp...), c.cout)
	}
	x = append(append([]int{c.batch}, c.inSp...), c.cin)
	k = append(append([]int{}, c.kSp...), c.cin/c.groups, c.cout)
	return x, k
}

func at(v []int, i, def int) int {
	if v == nil {
		return def
	}
	return v[i]
}

// referenceConv is a direct float64 convolution straight from the definition.
func referenceConv(c convCase, x, k arg, outDims []int) []float64 {
	a := c.axes()
	nsp := len(c.inSp)
	xs, ks, os := stridesOf(x.dims), stridesOf(k.dims), stridesOf(outDims)
	out := make([]float64, product(outDims))
	outSp := make([]int, nsp)
	for i := range nsp {
		outSp[i] = outDims[a.OutputSpatial[i]]
	}
	cinG, coutG := c.cin/c.groups, c.cout/c.groups
	oIdx := make([]int, nsp)
	for b := range c.batch {
		for range product(outSp) {
			for co := range c.cout {
				g := co / coutG
				sum := 0.0
				kIdx := make([]int, nsp)
				for range product(c.kSp) {
					xPos, inside := b*xs[a.InputBatch], true
					kPos := co * ks[a.KernelOutputChannels]
					for ax := range nsp {
						p := oIdx[ax]*at(c.strides, ax, 1) + kIdx[ax]*at(c.kDil, ax, 1) - c.pads[ax][0]
						d := at(c.inDil, ax, 1)
						if p < 0 || p%d != 0 || p/d >= c.inSp[ax] {
							inside = false
						}
						xPos += p / d * xs[a.InputSpatial[ax]]
						kPos += kIdx[ax] * ks[a.KernelSpatial[ax]]
					}
					if inside {
						for ci := range cinG {
							sum += x.data[xPos+(g*cinG+ci)*xs[a.InputChannels]] * k.data[kPos+ci*ks[a.KernelInputChannels]]
						}
					}
					incr(kIdx, c.kSp)
				}
				pos := b*os[a.OutputBatch] + co*os[a.OutputChannels]
				for ax := range nsp {
					pos += oIdx[ax] * os[a.OutputSpatial[ax]]
				}
				out[pos] = sum
			}
			incr(oIdx, outSp)
		}
	}
	return out
}

var convCases = []convCase{
	{batch: 2, cin: 3, cout: 4, groups: 1, inSp: []int{5, 6}, kSp: []int{3, 3}, pads: [][2]int{{1, 1}, {1, 1}}},
	{batch: 2, cin: 3, cout: 2, groups: 1, inSp: []int{7, 8}, kSp: []int{3, 3}, strides: []int{2, 3}, pads: [][2]int{{1, 1}, {0, 0}}},
	{batch: 1, cin: 2, cout: 3, groups: 1, inSp: []int{8, 7}, kSp: []int{3, 3}, kDil: []int{2, 1}, pads: [][2]int{{2, 2}, {0, 1}}},
	{batch: 2, cin: 4, cout: 6, groups: 2, inSp: []int{5, 5}, kSp: []int{1, 3}, strides: []int{1, 2}, pads: [][2]int{{0, 0}, {1, 1}}},
	{batch: 2, cin: 3, cout: 4, groups: 1, inSp: []int{5, 6}, kSp: []int{3, 3}, strides: []int{2, 2}, pads: [][2]int{{1, 1}, {1, 1}}, channelsFirst: true},
	{batch: 3, cin: 2, cout: 3, groups: 1, inSp: []int{9}, kSp: []int{4}, kDil: []int{2}, pads: [][2]int{{3, 0}}},
	{batch: 2, cin: 3, cout: 2, groups: 1, inSp: []int{6, 5, 4}, kSp: []int{3, 1, 3}, strides: []int{2, 1, 1}, pads: [][2]int{{0, 0}, {0, 0}, {1, 1}}},
}

// convForwardOnly are configurations whose forward pass is checked against the definition but
// whose gradient GoMLX v0.26.0 builds wrongly — even effective kernel sizes: its convVJPWrtX
// assumes a centred kernel ((k-1)/2 before, k/2 after) — or not at all (input dilation).
var convForwardOnly = []convCase{
	{batch: 2, cin: 3, cout: 2, groups: 1, inSp: []int{7, 6}, kSp: []int{3, 2}, strides: []int{2, 3}, pads: [][2]int{{1, 1}, {0, 0}}},
	{batch: 2, cin: 3, cout: 2, groups: 1, inSp: []int{6, 5, 4}, kSp: []int{2, 2, 3}, strides: []int{2, 1, 1}, pads: [][2]int{{0, 0}, {1, 1}, {1, 1}}},
	{batch: 2, cin: 3, cout: 2, groups: 1, inSp: []int{7, 6}, kSp: []int{3, 2}, strides: []int{2, 3}, pads: [][2]int{{1, 0}, {0, 2}}},
	{batch: 2, cin: 2, cout: 2, groups: 1, inSp: []int{4, 3}, kSp: []int{3, 2}, inDil: []int{2, 3}, pads: [][2]int{{2, 1}, {1, 1}}},
	{batch: 2, cin: 2, cout: 3, groups: 1, inSp: []int{9, 8}, kSp: []int{3, 2}, inDil: []int{2, 1}, strides: []int{1, 2}, pads: [][2]int{{-1, 2}, {-2, -1}}},
	{batch: 2, cin: 4, cout: 6, groups: 2, inSp: []int{5, 5}, kSp: []int{2, 3}, strides: []int{1, 2}, pads: [][2]int{{0, 1}, {1, 1}}},
	{batch: 2, cin: 2, cout: 3, groups: 1, inSp: []int{6, 5}, kSp: []int{3, 2}, inDil: []int{2, 2}, kDil: []int{1, 2}, pads: [][2]int{{1, 0}, {0, 1}}, channelsFirst: true},
	{batch: 2, cin: 3, cout: 2, groups: 1, inSp: []int{5, 4}, kSp: []int{2, 3}, inDil: []int{2, 1}, strides: []int{1, 2}, pads: [][2]int{{-1, 1}, {1, 0}}, swapped: true},
	{batch: 3, cin: 4, cout: 2, groups: 1, inSp: []int{9, 8}, kSp: []int{3, 3}, strides: []int{2, 1}, kDil: []int{1, 2}, pads: [][2]int{{1, 1}, {2, 2}}, swapped: true},
}

// TestConvGeneral checks the forward pass against referenceConv and the gradients (which
// GoMLX builds from Reverse, input-dilated and kernel-dilated convolutions) against finite
// differences, on both GEMM paths.
func TestConvGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cfg := range gemmConfigs {
		be := newTestBackend(t, cfg)
		for ci, c := range append(append([]convCase{}, convCases...), convForwardOnly...) {
			t.Run(fmt.Sprintf("%s/%d", cfg, ci), func(t *testing.T) {
				xDims, kDims := c.dims()
				x, k := randArg(rng, xDims...), randArg(rng, kDims...)
				fn := func(xs []*Node) *Node {
					return ConvGeneral(xs[0], xs[1], c.axes(), c.strides, c.pads, c.inDil, c.kDil, c.groups, 1)
				}
				got, outDims := eval(t, be, fn, x, k)
				closeTo(t, "ConvGeneral", got, referenceConv(c, x, k, outDims), 1e-12)
				if ci < len(convCases) {
					checkGradients(t, be, fn, x, k)
				}
			})
		}
	}
}
