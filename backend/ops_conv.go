package backend

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// convOp is ConvGeneral as im2col + GEMM. Rows of the patch matrix are (batch, output
// position); its columns are (kernel position, input channel), so that for channels-last
// inputs each kernel position copies one contiguous run of channels.
type convOp struct {
	eng                       *engine
	axes                      backends.ConvolveAxesConfig
	strides, inDil, kDil      []int
	padLow                    []int
	groups                    int
	batch, cin, cout          int
	inSp, kSp, outSp, effInSp []int
}

// maxPatchElems bounds the patch matrix one worker builds at once (rows are processed in
// chunks): a large convolution never holds a full copy of its input per kernel position, and a
// chunk (1 MB of float32) stays in cache between im2col writing it and the GEMM reading it
// (measured 9% faster than 8 MB chunks on a conv forward+gradient graph).
const maxPatchElems = 1 << 18

// ConvGeneral implements backends.Builder natively for float32/float64: any axes layout,
// strides, paddings, input and kernel dilations, channel groups. Nil strides or dilations
// mean 1. Batch groups are not supported.
func (b *Builder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int,
	inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	xShape, err := b.OpShape(input)
	if err != nil {
		return nil, err
	}
	kShape, err := b.OpShape(kernel)
	if err != nil {
		return nil, err
	}
	nsp := xShape.Rank() - 2
	ones := func(v []int) []int {
		if len(v) == 0 && nsp > 0 {
			v = make([]int, nsp)
			for i := range v {
				v[i] = 1
			}
		}
		return v
	}
	strides, inputDilations, kernelDilations = ones(strides), ones(inputDilations), ones(kernelDilations)
	if len(paddings) == 0 {
		paddings = make([][2]int, nsp)
	}
	channelGroupCount, batchGroupCount = max(channelGroupCount, 1), max(batchGroupCount, 1)
	outShape, err := shapeinference.ConvGeneralOp(xShape, kShape, axes, strides, paddings, inputDilations, kernelDilations, channelGroupCount, batchGroupCount)
	if err != nil {
		return nil, err
	}
	if batchGroupCount > 1 {
		return nil, fmt.Errorf("ConvGeneral: batchGroupCount=%d is not supported by backend %s; use channel groups or batchGroupCount=1", batchGroupCount, Name)
	}
	if !isFloat(xShape.DType) || kShape.DType != xShape.DType {
		return nil, fmt.Errorf("ConvGeneral: input and kernel must both be float32 or float64, got %s and %s", xShape, kShape)
	}
	op := &convOp{eng: b.backend.engine, axes: axes.Clone(), strides: strides, inDil: inputDilations, kDil: kernelDilations,
		groups: channelGroupCount, batch: xShape.Dimensions[axes.InputBatch], cin: xShape.Dimensions[axes.InputChannels],
		cout: kShape.Dimensions[axes.KernelOutputChannels]}
	for i := range nsp {
		op.padLow = append(op.padLow, paddings[i][0])
		op.inSp = append(op.inSp, xShape.Dimensions[axes.InputSpatial[i]])
		op.kSp = append(op.kSp, kShape.Dimensions[axes.KernelSpatial[i]])
		op.outSp = append(op.outSp, outShape.Dimensions[axes.OutputSpatial[i]])
		op.effInSp = append(op.effInSp, (op.inSp[i]-1)*inputDilations[i]+1)
	}
	return newNativeNode(b.Builder, backends.OpTypeConvGeneral, outShape, op, input, kernel), nil
}

func (op *convOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	switch node.shape.DType {
	case dtypes.Float32:
		convExec[float32](be, op, inputs[0], inputs[1], outM)
	case dtypes.Float64:
		convExec[float64](be, op, inputs[0], inputs[1], outM)
	default:
		sgPutBuffer(be, out)
		return nil, fmt.Errorf("ConvGeneral: dtype %s not supported", node.shape.DType)
	}
	return out, nil
}

// outputPerm returns, for the output layout, the permutation from [batch, spatial..., channels]
// (the GEMM's layout) and whether it is the identity.
func (op *convOp) outputPerm() []int {
	nsp := len(op.outSp)
	perm := make([]int, nsp+2)
	perm[op.axes.OutputBatch] = 0
	perm[op.axes.OutputChannels] = nsp + 1
	for i, a := range op.axes.OutputSpatial {
		perm[a] = i + 1
	}
	return perm
}

// inputIndexTable lists, per spatial axis, the input index read by each (output position,
// kernel position) pair, or -1 where it falls on padding or an input-dilation hole.
func (op *convOp) inputIndexTable() [][]int {
	tables := make([][]int, len(op.outSp))
	for ax := range op.outSp {
		t := make([]int, op.outSp[ax]*op.kSp[ax])
		for o := range op.outSp[ax] {
			for k := range op.kSp[ax] {
				p := o*op.strides[ax] + k*op.kDil[ax] - op.padLow[ax]
				idx := -1
				if p >= 0 && p < op.effInSp[ax] && p%op.inDil[ax] == 0 {
					idx = p / op.inDil[ax]
				}
				t[o*op.kSp[ax]+k] = idx
			}
		}
		tables[ax] = t
	}
	return tables
}

func convExec[T float32 | float64](be *simplego.Backend, op *convOp, xb, kb, outb *bufferMirror) {
	implicit := op.implicitReady(xb.shape.DType)
	if op.swappedLayout() {
		if implicit {
			convImplicitKernelGrad(be, op, xb, kb, outb)
			return
		}
		convSwappedExec[T](be, op, xb, kb, outb)
		return
	}
	if op.transposedForm() {
		if implicit {
			convImplicitTransposed(be, op, xb, kb, outb)
			return
		}
		convTransposedExec[T](be, op, xb, kb, outb)
		return
	}
	if implicit {
		convImplicitExec(be, op, xb, kb, outb)
		return
	}
	x, kernel := flatOf[T](xb), flatOf[T](kb)
	nsp := len(op.outSp)
	ks, os := product(op.kSp), product(op.outSp)
	cinG, coutG := op.cin/op.groups, op.cout/op.groups
	cols := ks * cinG
	rows := op.batch * os

	// Kernel as [group][kernel position][input channel][output channel].
	kStrides := stridesOf(kb.shape.Dimensions)
	wBuf, wm := newBuffer(be, shapes.Make(kb.shape.DType, op.groups*cols*coutG))
	w := flatOf[T](wm)
	kIdx := make([]int, nsp)
	for g := range op.groups {
		for kp := range ks {
			base := 0
			for ax := range nsp {
				base += kIdx[ax] * kStrides[op.axes.KernelSpatial[ax]]
			}
			for c := range cinG {
				row := w[((g*ks+kp)*cinG+c)*coutG:][:coutG]
				src := base + c*kStrides[op.axes.KernelInputChannels] + g*coutG*kStrides[op.axes.KernelOutputChannels]
				for co := range row {
					row[co] = kernel[src+co*kStrides[op.axes.KernelOutputChannels]]
				}
			}
			incr(kIdx, op.kSp)
		}
	}

	// The GEMM writes [batch, spatial..., channels]; other layouts are transposed after.
	perm := op.outputPerm()
	direct := isIdentity(perm)
	res := flatOf[T](outb)
	var tmpBuf *simplego.Buffer
	if !direct {
		var tm *bufferMirror
		tmpBuf, tm = newBuffer(be, outb.shape)
		res = flatOf[T](tm)
	}

	// im2col reads the input as [batch, spatial..., channels], so each kernel position is one
	// contiguous run of channels; other layouts (e.g. the kernel-gradient convolution, whose
	// "channels" are the batch) are transposed once first.
	canonDims := slices.Concat([]int{op.batch}, op.inSp, []int{op.cin})
	inPerm := slices.Concat([]int{op.axes.InputBatch}, op.axes.InputSpatial, []int{op.axes.InputChannels})
	if !isIdentity(inPerm) {
		tBuf, tm := newBuffer(be, shapes.Make(xb.shape.DType, canonDims...))
		defer sgPutBuffer(be, tBuf)
		transposeInto(flatOf[T](tm), x, xb.shape.Dimensions, inPerm)
		x = flatOf[T](tm)
	}
	xStrides := stridesOf(canonDims)
	table := op.inputIndexTable()
	// Row chunks are independent: each worker builds its chunk's patches and multiplies them.
	chunk, numChunks := rowChunks(rows, cols, op.eng.workers)
	patches, release := workerBuffers[T](be, xb.shape.DType, min(op.eng.workers, numChunks), chunk*cols)
	parallelFor(op.eng.workers, numChunks, func(worker, ci int) {
		r0 := ci * chunk
		n := min(chunk, rows-r0)
		p := patches[worker][:n*cols]
		for g := range op.groups {
			im2colRows(op, x, xStrides, table, p, r0, n, g*cinG, cinG)
			gemmT(op.eng.gemm, false, false, n, coutG, cols, p, cols,
				w[g*cols*coutG:(g+1)*cols*coutG], coutG, 0, res[r0*op.cout+g*coutG:], op.cout)
		}
	})
	release()
	sgPutBuffer(be, wBuf)
	if !direct {
		gemmDims := slices.Concat([]int{op.batch}, op.outSp, []int{op.cout})
		// perm maps output axes to GEMM-layout axes: exactly transposeInto's convention.
		transposeInto(flatOf[T](outb), res, gemmDims, perm)
		sgPutBuffer(be, tmpBuf)
	}
}

// im2colRows fills n rows of the patch matrix starting at row r0, for input channels
// [c0, c0+cinG); x is laid out [batch, spatial..., channels] with strides xStrides. Along the
// last spatial axis, without dilations or channel groups, the kernel positions of a row read
// consecutive input positions: they are copied as one run (kernel width × channels).
func im2colRows[T float32 | float64](op *convOp, x []T, xStrides []int, table [][]int, p []T, r0, n, c0, cinG int) {
	nsp := len(op.outSp)
	last := nsp - 1
	kl := op.kSp[last]
	cols := product(op.kSp) * cinG
	outerK := product(op.kSp[:last])
	lastStride := xStrides[nsp]
	contiguous := cinG == op.cin && op.kDil[last] == 1 && op.inDil[last] == 1
	// Per output position on the last axis: the range [k0, k1) of kernel positions that read
	// the input (the others read padding), for the contiguous case.
	k0s, k1s := make([]int, op.outSp[last]), make([]int, op.outSp[last])
	for o := range op.outSp[last] {
		t := table[last][o*kl : (o+1)*kl]
		k0, k1 := 0, kl
		for k0 < kl && t[k0] < 0 {
			k0++
		}
		for k1 > k0 && t[k1-1] < 0 {
			k1--
		}
		k0s[o], k1s[o] = k0, k1
	}
	// Output multi-index of row r0, then advanced row by row.
	oIdx := make([]int, nsp)
	rem := r0
	for ax := last; ax >= 0; ax-- {
		oIdx[ax] = rem % op.outSp[ax]
		rem /= op.outSp[ax]
	}
	bi := rem
	kIdx := make([]int, last)
	for r := range n {
		row := p[r*cols : (r+1)*cols]
		rowBase := bi*xStrides[0] + c0
		ol := oIdx[last]
		lastTable := table[last][ol*kl : (ol+1)*kl]
		k0, k1 := k0s[ol], k1s[ol]
		clear(kIdx)
		for ko := range outerK {
			block := row[ko*kl*cinG : (ko+1)*kl*cinG]
			pos, inside := rowBase, true
			for ax := range last {
				i := table[ax][oIdx[ax]*op.kSp[ax]+kIdx[ax]]
				if i < 0 {
					inside = false
					break
				}
				pos += i * xStrides[1+ax]
			}
			if last > 0 {
				incr(kIdx, op.kSp[:last])
			}
			switch {
			case !inside:
				clear(block)
			case contiguous:
				clear(block[:k0*cinG])
				clear(block[k1*cinG:])
				if k1 > k0 {
					src := pos + lastTable[k0]*lastStride
					copy(block[k0*cinG:k1*cinG], x[src:src+(k1-k0)*cinG])
				}
			default:
				for k, i := range lastTable {
					d := block[k*cinG : (k+1)*cinG]
					if i < 0 {
						clear(d)
					} else {
						src := pos + i*lastStride
						copy(d, x[src:src+cinG])
					}
				}
			}
		}
		// Next row: advance the output index (and the batch index when it wraps).
		for ax := last; ax >= 0; ax-- {
			oIdx[ax]++
			if oIdx[ax] < op.outSp[ax] {
				break
			}
			oIdx[ax] = 0
			if ax == 0 {
				bi++
			}
		}
	}
}

// incr advances a row-major multi-index over dims, wrapping to zero at the end.
func incr(idx, dims []int) {
	for ax := len(idx) - 1; ax >= 0; ax-- {
		idx[ax]++
		if idx[ax] < dims[ax] {
			return
		}
		idx[ax] = 0
	}
}

// swappedLayout reports whether the input is laid out [channels, spatial..., batch] and the
// kernel [input channels, spatial..., output channels]: the convolution GoMLX builds for a
// kernel gradient (its "batch" is the input channels, its "channels" the batch). Then
// convSwappedExec computes it from contiguous data without transposing the input.
func (op *convOp) swappedLayout() bool {
	if op.groups != 1 {
		return false
	}
	in := slices.Concat([]int{op.axes.InputChannels}, op.axes.InputSpatial, []int{op.axes.InputBatch})
	k := slices.Concat([]int{op.axes.KernelInputChannels}, op.axes.KernelSpatial, []int{op.axes.KernelOutputChannels})
	return isIdentity(in) && isIdentity(k)
}

// convSwappedExec computes out[b, o, co] = Σ_{c,k} x[c, o·stride + k·kdil − pad, b] · w[c, k, co]
// as Pᵀ·W, where P[(c, k), (o, b)] is the im2col of the same data seen as a convolution with
// batch and channels swapped and output and kernel positions swapped (stride ↔ kernel
// dilation). The sum runs over P's rows, which are built in chunks, so memory stays bounded.
//
// The rows are cut into groups fixed by the sizes alone (sumGroups); each group's partial
// sum is computed by one goroutine, chunk after chunk in order, and the partials are added in
// group order. The result depends only on the data, not on the schedule or the number of
// workers. (Per-worker partials over chunks handed out as workers came free, as this used to
// keep, made the last bits of every kernel gradient change from run to run.)
func convSwappedExec[T float32 | float64](be *simplego.Backend, op *convOp, xb, kb, outb *bufferMirror) {
	x, w := flatOf[T](xb), flatOf[T](kb)
	view := &convOp{batch: op.cin, cin: op.batch, groups: 1, inSp: op.inSp, effInSp: op.effInSp, padLow: op.padLow,
		inDil: op.inDil, outSp: op.kSp, kSp: op.outSp, strides: op.kDil, kDil: op.strides}
	rows := view.batch * product(view.outSp) // (c, k)
	cols := product(view.kSp) * view.cin     // (o, b)
	xStrides := stridesOf(xb.shape.Dimensions)
	table := view.inputIndexTable()

	resDims, perm := op.kernelGradLayout()
	res := flatOf[T](outb)
	var tmpBuf *simplego.Buffer
	if !isIdentity(perm) {
		var tm *bufferMirror
		tmpBuf, tm = newBuffer(be, outb.shape)
		res = flatOf[T](tm)
	}
	outSize := cols * op.cout
	chunk := min(rows, max(1, maxPatchElems/max(cols, 1)))
	groups := sumGroups(rows, chunk, outSize)
	perGroup := (rows + groups - 1) / groups
	workers := min(op.eng.workers, groups)
	patches, releaseP := workerBuffers[T](be, xb.shape.DType, workers, chunk*cols)
	partials, releaseR := workerBuffers[T](be, xb.shape.DType, groups-1, outSize)
	clear(res)
	parallelFor(workers, groups, func(worker, g int) {
		part := res
		if g > 0 {
			part = partials[g-1]
		}
		first := true
		for r0 := g * perGroup; r0 < min(rows, (g+1)*perGroup); r0 += chunk {
			n := min(chunk, (g+1)*perGroup-r0, rows-r0)
			p := patches[worker][:n*cols]
			im2colRows(view, x, xStrides, table, p, r0, n, 0, view.cin)
			var beta T // The group's first chunk overwrites its partial, the others add to it.
			if !first {
				beta = 1
			}
			first = false
			wc := w[r0*op.cout : (r0+n)*op.cout]
			if groups == 1 { // All the workers on each chunk's product instead.
				gemmPar(op.eng, true, false, cols, op.cout, n, p, cols, wc, op.cout, beta, part, op.cout)
			} else {
				gemmT(op.eng.gemm, true, false, cols, op.cout, n, p, cols, wc, op.cout, beta, part, op.cout)
			}
		}
	})
	addInOrder(op.eng.workers, res, partials)
	releaseP()
	releaseR()
	if tmpBuf != nil {
		transposeInto(flatOf[T](outb), res, resDims, perm)
		sgPutBuffer(be, tmpBuf)
	}
}

const (
	// maxSumGroups bounds the partial sums of a kernel gradient: enough to keep 8 workers busy.
	maxSumGroups = 8
	// maxPartialElems bounds the memory the partial sums of one kernel gradient take.
	maxPartialElems = 1 << 23
)

// sumGroups returns into how many groups of rows a sum over rows (in chunks of chunk rows,
// into a result of outSize elements) is cut: a power of two, so that any even number of
// workers shares the groups evenly, of at least one chunk each, at most maxSumGroups, and
// with the partials within maxPartialElems. It depends on the sizes only.
func sumGroups(rows, chunk, outSize int) int {
	chunks := (rows + chunk - 1) / chunk
	g := 1
	for 2*g <= min(chunks, maxSumGroups) && 2*g*outSize <= maxPartialElems {
		g *= 2
	}
	return g
}

// addInOrder adds the partials to dst, in order, for every element: dst = ((dst + p₀) + p₁) + …
// The elements are split among the workers; each is added by one of them in that fixed order.
func addInOrder[T float32 | float64](workers int, dst []T, partials [][]T) {
	if len(partials) == 0 {
		return
	}
	n := len(dst)
	parallelFor(workers, (n+ewChunk-1)/ewChunk, func(_, ci int) {
		lo, hi := ci*ewChunk, min(n, (ci+1)*ewChunk)
		for _, p := range partials {
			binarySlices(backends.OpTypeAdd, dst[lo:hi], dst[lo:hi], p[lo:hi])
		}
	})
}

// rowChunks splits rows (of cols elements) into chunks of at most maxPatchElems elements,
// their count a multiple of workers so that no worker is left alone with the last one.
func rowChunks(rows, cols, workers int) (chunk, numChunks int) {
	perChunk := max(1, maxPatchElems/max(cols, 1))
	numChunks = (rows + perChunk - 1) / perChunk
	numChunks = min(rows, (numChunks+workers-1)/workers*workers)
	numChunks = max(numChunks, 1)
	chunk = (rows + numChunks - 1) / numChunks
	return chunk, (rows + chunk - 1) / chunk
}

// workerBuffers takes n scratch slices of size elements from the pool; release returns them.
func workerBuffers[T float32 | float64](be *simplego.Backend, dtype dtypes.DType, n, size int) (bufs [][]T, release func()) {
	held := make([]*simplego.Buffer, n)
	bufs = make([][]T, n)
	for i := range n {
		var m *bufferMirror
		held[i], m = newBuffer(be, shapes.Make(dtype, size))
		bufs[i] = flatOf[T](m)
	}
	return bufs, func() {
		for _, b := range held {
			sgPutBuffer(be, b)
		}
	}
}

// transposedForm reports whether the convolution has input dilation but unit strides and
// kernel dilation: the input gradient of a strided convolution. convTransposedExec computes
// it without the holes: im2col would fill (1 − 1/dilation) of the patches with zeros.
func (op *convOp) transposedForm() bool {
	if op.groups != 1 {
		return false
	}
	dilated := false
	for i := range op.inDil {
		if op.strides[i] != 1 || op.kDil[i] != 1 {
			return false
		}
		dilated = dilated || op.inDil[i] > 1
	}
	return dilated
}

// convTransposedExec computes a unit-stride convolution of an input-dilated x as a
// transposed convolution: G = x·W' with W'[c, (k, co)] = w[k, c, co], one row per input
// position (x needs no im2col), then each G row is added at the output positions
// o = i·dilation + padLow − k it reaches. Batch items never share outputs, so workers split
// the batch.
func convTransposedExec[T float32 | float64](be *simplego.Backend, op *convOp, xb, kb, outb *bufferMirror) {
	x, kernel := flatOf[T](xb), flatOf[T](kb)
	nsp := len(op.outSp)
	ks := product(op.kSp)
	ins := product(op.inSp)
	cols := ks * op.cout

	// W' [cin, (k, cout)].
	kStrides := stridesOf(kb.shape.Dimensions)
	wBuf, wm := newBuffer(be, shapes.Make(kb.shape.DType, op.cin*cols))
	defer sgPutBuffer(be, wBuf)
	w := flatOf[T](wm)
	kIdx := make([]int, nsp)
	for kp := range ks {
		base := 0
		for ax := range nsp {
			base += kIdx[ax] * kStrides[op.axes.KernelSpatial[ax]]
		}
		for c := range op.cin {
			row := w[c*cols+kp*op.cout:][:op.cout]
			src := base + c*kStrides[op.axes.KernelInputChannels]
			for co := range row {
				row[co] = kernel[src+co*kStrides[op.axes.KernelOutputChannels]]
			}
		}
		incr(kIdx, op.kSp)
	}

	x, res, finish := canonicalLayout(be, op, xb, outb, x)
	defer finish()
	clear(res)

	// Output position reached from input index i by kernel index k, per axis (−1: outside).
	targets := make([][]int, nsp)
	for ax := range nsp {
		t := make([]int, op.inSp[ax]*op.kSp[ax])
		for i := range op.inSp[ax] {
			for k := range op.kSp[ax] {
				o := i*op.inDil[ax] + op.padLow[ax] - k
				if o < 0 || o >= op.outSp[ax] {
					o = -1
				}
				t[i*op.kSp[ax]+k] = o
			}
		}
		targets[ax] = t
	}
	outStrides := stridesOf(slices.Concat([]int{op.batch}, op.outSp, []int{op.cout}))
	itemsPerChunk := max(1, min(op.batch/max(op.eng.workers, 1), maxPatchElems/max(ins*cols, 1)))
	numChunks := (op.batch + itemsPerChunk - 1) / itemsPerChunk
	gBufs, release := workerBuffers[T](be, xb.shape.DType, min(op.eng.workers, numChunks), itemsPerChunk*ins*cols)
	defer release()
	parallelFor(op.eng.workers, numChunks, func(worker, ci int) {
		b0, b1 := ci*itemsPerChunk, min(op.batch, (ci+1)*itemsPerChunk)
		rows := (b1 - b0) * ins
		g := gBufs[worker][:rows*cols]
		gemmT(op.eng.gemm, false, false, rows, cols, op.cin, x[b0*ins*op.cin:], op.cin, w, cols, 0, g, cols)
		iIdx, kIdx := make([]int, nsp), make([]int, nsp)
		for r := range rows {
			bi := b0 + r/ins
			grow := g[r*cols : (r+1)*cols]
			clear(kIdx)
			for kp := range ks {
				pos, inside := bi*outStrides[0], true
				for ax := range nsp {
					o := targets[ax][iIdx[ax]*op.kSp[ax]+kIdx[ax]]
					if o < 0 {
						inside = false
						break
					}
					pos += o * outStrides[1+ax]
				}
				if inside { // The same additions as a Go loop, in AVX2 for float32.
					dst := res[pos : pos+op.cout]
					binarySlices(backends.OpTypeAdd, dst, dst, grow[kp*op.cout:(kp+1)*op.cout])
				}
				incr(kIdx, op.kSp)
			}
			incr(iIdx, op.inSp)
		}
	})
}

// canonicalLayout returns the input x in (batch, spatial..., channels) order and the slice
// to write the result into in (batch, output spatial..., output channels) order: outb's own
// data when its layout is that one, else a scratch buffer. finish copies such a scratch
// result into outb's layout and frees the scratch buffers; call it once the result is
// written (defer finish()).
func canonicalLayout[T any](be *simplego.Backend, op *convOp, xb, outb *bufferMirror, x []T) (xc, res []T, finish func()) {
	var free []*simplego.Buffer
	canonDims := slices.Concat([]int{op.batch}, op.inSp, []int{op.cin})
	if inPerm := slices.Concat([]int{op.axes.InputBatch}, op.axes.InputSpatial, []int{op.axes.InputChannels}); !isIdentity(inPerm) {
		tBuf, tm := newBuffer(be, shapes.Make(xb.shape.DType, canonDims...))
		free = append(free, tBuf)
		transposeInto(flatOf[T](tm), x, xb.shape.Dimensions, inPerm)
		x = flatOf[T](tm)
	}
	perm := op.outputPerm()
	res = flatOf[T](outb)
	scratch := false
	if !isIdentity(perm) {
		tBuf, tm := newBuffer(be, outb.shape)
		free = append(free, tBuf)
		res, scratch = flatOf[T](tm), true
	}
	finish = func() {
		if scratch {
			transposeInto(flatOf[T](outb), res, slices.Concat([]int{op.batch}, op.outSp, []int{op.cout}), perm)
		}
		for _, b := range free {
			sgPutBuffer(be, b)
		}
	}
	return x, res, finish
}

// kernelGradLayout is the layout a kernel gradient is computed in, (the op's output
// spatial..., batch, output channels) — the kernel's (spatial..., input channels, output
// channels) for the convolution the gradient is — and, for each axis of the op's output
// layout, the axis of that layout it is.
func (op *convOp) kernelGradLayout() (resDims, perm []int) {
	nsp := len(op.outSp)
	resDims = slices.Concat(op.outSp, []int{op.batch, op.cout})
	perm = make([]int, nsp+2)
	perm[op.axes.OutputBatch] = nsp
	perm[op.axes.OutputChannels] = nsp + 1
	for i, a := range op.axes.OutputSpatial {
		perm[a] = i
	}
	return resDims, perm
}
