package backend

import (
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Implicit-GEMM convolutions (float32, AVX2+FMA). im2col writes every input value once per
// kernel position that reads it (9× the input for a 3×3 kernel) and the GEMM then packs that
// copy again; here the patch matrix is never built. The input is copied once into a padded
// buffer xp ([batch, padded spatial..., channels], zeros where the convolution reads padding;
// the input itself when it reads none), and the register tiles (convTile6x16 in AVX2,
// convTile8x16Z and convTile8x32Z in AVX-512; convTile8x48Z for kernel gradients, see
// kgradSwapped) read each patch row straight from it: for a fixed
// kernel position the channels are contiguous, and without kernel dilation so are the kernel
// positions along the last axis (kernel width × channels), so one patch row is a few contiguous
// runs of xp ("segments") at offsets that are the same for every output position. A tile keeps
// its block of the result in registers over the whole sum.

const (
	tileRows = 6  // rows of convTile6x16's block
	tileCols = 16 // columns: two YMM registers of float32
	// kgradChunkPositions is about how many output positions a kernel-gradient tile sums in
	// registers before adding to the result: the output gradient rows they multiply
	// (positions × channels floats) stay in L1/L2 while every tile of the kernel reads them.
	// (Bounding them to 16 KiB instead, 64 positions for 64 channels, measured no faster.)
	kgradChunkPositions = 256
)

// convImplicitEnabled lets tests compare the implicit-GEMM paths with im2col + GEMM, and
// convTileZEnabled the AVX-512 tiles with the AVX2 one. Setting TSAM_NO_AVX512 (to any value)
// keeps the AVX2 tile: what a CPU without AVX-512 runs, and a way round CPUs whose clock
// drops under AVX-512.
var (
	convImplicitEnabled = true
	convTileZEnabled    = convTileZSupported && os.Getenv("TSAM_NO_AVX512") == ""
)

// convImplicitRuns counts the executions of each implicit path (forward, kernel gradient,
// transposed), so that tests can check a case really took it.
var convImplicitRuns [3]atomic.Int64

// kgradSwappedRuns counts the kernel gradients computed by kgradSwapped; kgradSwapEnabled
// lets benchmarks compare it with the (kernel position, channel)-row tiles.
var (
	kgradSwappedRuns atomic.Int64
	kgradSwapEnabled = true
)

// implicitReady reports whether the tile kernel can run for these sizes: float32 with the
// assembly tile on, no channel groups, output channels a multiple of 16, and no input
// dilation unless the convolution is transposedForm (convImplicitTransposed).
func (op *convOp) implicitReady(dtype dtypes.DType) bool {
	if !convImplicitEnabled || !simdEnabled || !convTileSupported || dtype != dtypes.Float32 ||
		op.groups != 1 || op.cout%tileCols != 0 || len(op.outSp) == 0 {
		return false
	}
	for _, d := range op.inDil {
		if d != 1 && !op.transposedForm() {
			return false
		}
	}
	return op.batch > 0 && op.cin > 0 && op.cout > 0 && product(op.outSp) > 0 && product(op.kSp) > 0
}

// paddedExtent is, per spatial axis, how many input positions (from −padLow on) the
// convolution reads: (out − 1)·stride + (kernel − 1)·dilation + 1.
func paddedExtent(outSp, kSp, strides, kDil []int) []int {
	pd := make([]int, len(outSp))
	for ax := range outSp {
		pd[ax] = (outSp[ax]-1)*strides[ax] + (kSp[ax]-1)*kDil[ax] + 1
	}
	return pd
}

// padInput copies x ([batch, inSp..., c]) into xp ([batch, pd..., c]): xp's position q on
// axis ax holds input position q − padLow[ax], or zeros where that is outside the input
// (negative padding crops). Batch items are split among the workers.
func padInput(workers int, xp, x []float32, batch, c int, inSp, padLow, pd []int) {
	nsp := len(inSp)
	last := nsp - 1
	xStr := stridesOf(slices.Concat([]int{batch}, inSp, []int{c}))
	outer := product(pd[:last])
	lo := min(max(0, padLow[last]), pd[last])
	hi := max(lo, min(pd[last], padLow[last]+inSp[last]))
	rowLen := pd[last] * c
	parallelFor(workers, batch, func(_, b int) {
		q := make([]int, last)
		for qo := range outer {
			row := xp[(b*outer+qo)*rowLen:][:rowLen]
			src, inside := b*xStr[0], true
			for ax := range last {
				i := q[ax] - padLow[ax]
				if i < 0 || i >= inSp[ax] {
					inside = false
					break
				}
				src += i * xStr[1+ax]
			}
			incr(q, pd[:last])
			if !inside || hi == lo {
				clear(row)
				continue
			}
			clear(row[:lo*c])
			src += (lo - padLow[last]) * c
			copy(row[lo*c:hi*c], x[src:src+(hi-lo)*c])
			clear(row[hi*c:])
		}
	})
}

// paddedView returns the input as convTile's kernels read it: xp[base + Σ q·xpStr[1+ax] + c]
// (plus b·xpStr[0]) is input position q − padLow on each axis, for q < pd. When the
// convolution reads no padding (padLow ≤ 0 and pd − padLow ≤ inSp: 1×1 kernels, valid
// convolutions) that is x itself, from −padLow on; otherwise a padded copy, from the buffer
// pool (release returns it).
func paddedView(be *simplego.Backend, workers int, x []float32, batch, c int, inSp, padLow, pd []int) (xp []float32, base int, xpStr []int, release func()) {
	inside := true
	for ax := range inSp {
		inside = inside && padLow[ax] <= 0 && pd[ax]-padLow[ax] <= inSp[ax]
	}
	if inside {
		xpStr = stridesOf(slices.Concat([]int{batch}, inSp, []int{c}))
		for ax := range inSp {
			base -= padLow[ax] * xpStr[1+ax]
		}
		return x, base, xpStr, func() {}
	}
	xpDims := slices.Concat([]int{batch}, pd, []int{c})
	buf, m := newBuffer(be, shapes.Make(dtypes.Float32, product(xpDims)))
	xp = flatOf[float32](m)
	padInput(workers, xp, x, batch, c, inSp, padLow, pd)
	return xp, 0, stridesOf(xpDims), func() { sgPutBuffer(be, buf) }
}

// kernelSegments lists, as (byte offset, length) pairs, the runs of xp (strides xpStr) one
// patch row reads: a run of c channels per kernel position in row-major order, at
// Σ k·step[ax]·xpStr[1+ax], with runs that follow each other in xp merged.
func kernelSegments(kSp, step, xpStr []int, c int) []int {
	var segs []int
	k := make([]int, len(kSp))
	for range product(kSp) {
		off := 0
		for ax := range kSp {
			off += k[ax] * step[ax] * xpStr[1+ax]
		}
		if n := len(segs); n > 0 && segs[n-2]/4+segs[n-1] == off {
			segs[n-1] += c
		} else {
			segs = append(segs, off*4, c)
		}
		incr(k, kSp)
	}
	return segs
}

// checkReach panics unless every element the tiles read lies inside xp (xpLen elements): the
// tiles read, unchecked, from each row start (at most maxRow elements into xp) every segment of
// segs (byte offset, length) with elements astride bytes apart. A wrong padded extent would
// otherwise read other memory.
func checkReach(xpLen, maxRow int, segs []int, astride int) {
	end := 0
	for i := 0; i < len(segs); i += 2 {
		if segs[i+1] > 0 {
			end = max(end, segs[i]+(segs[i+1]-1)*astride+4)
		}
	}
	if maxRow*4+end > xpLen*4 {
		panic(fmt.Sprintf("implicit convolution: tiles would read %d bytes past the padded input", maxRow*4+end-xpLen*4))
	}
}

// positionOffsets lists, for each position of a grid of dims (row-major), the element offset
// Σ i·step[ax]·xpStr[1+ax] at which its patch starts in one batch item of xp.
func positionOffsets(dims, step, xpStr []int) []int {
	offs := make([]int, product(dims))
	idx := make([]int, len(dims))
	for p := range offs {
		for ax := range dims {
			offs[p] += idx[ax] * step[ax] * xpStr[1+ax]
		}
		incr(idx, dims)
	}
	return offs
}

// packKernelBlocks lays the kernel out as [cout/bw][kernel position][cin][bw]: the B operand
// of the tiles, one contiguous K×bw panel per block of bw output channels. taps lists, per
// spatial axis, the kernel indices taken (all of them, or a sub-pixel phase's); inAxis and
// outAxis are the kernel's input- and output-channel axes.
func packKernelBlocks(dst, kernel []float32, kDims []int, spatialAxes []int, taps [][]int, inAxis, outAxis, cin, cout, bw int) {
	kStr := stridesOf(kDims)
	nt := make([]int, len(taps))
	for i, t := range taps {
		nt[i] = len(t)
	}
	K := product(nt) * cin
	tIdx := make([]int, len(nt))
	for kp := range product(nt) {
		base := 0
		for i, a := range spatialAxes {
			base += taps[i][tIdx[i]] * kStr[a]
		}
		for c := range cin {
			src := base + c*kStr[inAxis]
			kc := kp*cin + c
			for co := range cout {
				dst[((co/bw)*K+kc)*bw+co%bw] = kernel[src+co*kStr[outAxis]]
			}
		}
		incr(tIdx, nt)
	}
}

// allTaps lists every kernel index of each axis.
func allTaps(kSp []int) [][]int {
	taps := make([][]int, len(kSp))
	for ax, k := range kSp {
		for i := range k {
			taps[ax] = append(taps[ax], i)
		}
	}
	return taps
}

// convImplicitExec is the forward convolution (and the input gradient of a unit-stride one,
// which GoMLX writes as a forward convolution of the output gradient) without im2col: each
// tile is 8 (AVX-512) or 6 output positions × 16 or 32 output channels, its patch rows read
// from xp.
func convImplicitExec(be *simplego.Backend, op *convOp, xb, kb, outb *bufferMirror) {
	convImplicitRuns[0].Add(1)
	x := flatOf[float32](xb)
	K := product(op.kSp) * op.cin
	bw := blockWidth(op.cout)
	nb := op.cout / bw

	wBuf, wm := newBuffer(be, shapes.Make(dtypes.Float32, nb*K*bw))
	defer sgPutBuffer(be, wBuf)
	w := flatOf[float32](wm)
	packKernelBlocks(w, flatOf[float32](kb), kb.shape.Dimensions, op.axes.KernelSpatial,
		allTaps(op.kSp), op.axes.KernelInputChannels, op.axes.KernelOutputChannels, op.cin, op.cout, bw)

	canonDims := slices.Concat([]int{op.batch}, op.inSp, []int{op.cin})
	if inPerm := slices.Concat([]int{op.axes.InputBatch}, op.axes.InputSpatial, []int{op.axes.InputChannels}); !isIdentity(inPerm) {
		tBuf, tm := newBuffer(be, shapes.Make(dtypes.Float32, canonDims...))
		defer sgPutBuffer(be, tBuf)
		transposeInto(flatOf[float32](tm), x, xb.shape.Dimensions, inPerm)
		x = flatOf[float32](tm)
	}
	pd := paddedExtent(op.outSp, op.kSp, op.strides, op.kDil)
	xp, xpBase, xpStr, releaseXP := paddedView(be, op.eng.workers, x, op.batch, op.cin, op.inSp, op.padLow, pd)
	defer releaseXP()
	segs := kernelSegments(op.kSp, op.kDil, xpStr, op.cin)
	rowOff := positionOffsets(op.outSp, op.strides, xpStr)

	perm := op.outputPerm()
	res := flatOf[float32](outb)
	if !isIdentity(perm) {
		tBuf, tm := newBuffer(be, outb.shape)
		defer func() {
			transposeInto(flatOf[float32](outb), res, slices.Concat([]int{op.batch}, op.outSp, []int{op.cout}), perm)
			sgPutBuffer(be, tBuf)
		}()
		res = flatOf[float32](tm)
	}

	os := len(rowOff)
	checkReach(len(xp), xpBase+(op.batch-1)*xpStr[0]+slices.Max(rowOff), segs, 4)
	run := tileRun{
		a:       func(r int) unsafe.Pointer { return unsafe.Pointer(&xp[xpBase+r/os*xpStr[0]+rowOff[r%os]]) },
		c:       func(r int) unsafe.Pointer { return unsafe.Pointer(&res[r*op.cout]) },
		rs:      op.strides[len(op.strides)-1] * op.cin * 4,
		ldc:     op.cout * 4,
		segs:    segs,
		astride: 4,
		ldb:     bw * 4,
		bw:      bw,
	}
	runTiles(op, newTilePlan(op.batch*os, op.outSp[len(op.outSp)-1], convTileZEnabled), run, w, nb, K, bw, len(segs)/2)
}

// convImplicitKernelGrad is the kernel gradient (the swapped-layout convolution of
// convSwappedExec: input x = [B, spatial..., C] of the forward, kernel dY = [B, output
// spatial..., Cout]) without im2col: dW[(k, c), co] = Σ_(b,o) xp[b, o·stride + k·dilation, c]
// · dY[b, o, co]. A tile is 6 rows (k, c) × 16 output channels; its sum runs over the output
// positions, one segment per line of the last axis (stride × C apart in xp), in chunks of
// about kgradChunkPositions positions added to the result in order. Workers split the tiles,
// so every element's sum runs over the same chunks in the same order for any thread count.
// Where kgradSwapOK, kgradSwapped computes it with the roles of rows and columns swapped.
func convImplicitKernelGrad(be *simplego.Backend, op *convOp, xb, kb, outb *bufferMirror) {
	convImplicitRuns[1].Add(1)
	nsp := len(op.outSp)
	last := nsp - 1
	bsz, c := op.cin, op.batch                                       // the forward's batch and input channels
	fK, fOut, fStride, fDil := op.outSp, op.kSp, op.kDil, op.strides // the forward's kernel, output, stride, dilation
	x, dy := flatOf[float32](xb), flatOf[float32](kb)

	pd := paddedExtent(fOut, fK, fStride, fDil)
	xp, xpBase, xpStr, releaseXP := paddedView(be, op.eng.workers, x, bsz, c, op.inSp, op.padLow, pd)
	defer releaseXP()

	// Tile rows (k, c): their offsets in xp, in bytes.
	kOff := positionOffsets(fK, fDil, xpStr)
	nrows := len(kOff) * c
	rowOff := make([]int, nrows)
	for kp, off := range kOff {
		for ci := range c {
			rowOff[kp*c+ci] = (off + ci) * 4
		}
	}
	// Segments: one per line of output positions along the last axis.
	lineOff := positionOffsets(fOut[:last], fStride[:last], xpStr)
	oLast := fOut[last]
	lines := bsz * len(lineOff)
	segs := make([]int, 0, 2*lines)
	for b := range bsz {
		for _, off := range lineOff {
			segs = append(segs, (b*xpStr[0]+off)*4, oLast)
		}
	}
	astride := fStride[last] * xpStr[nsp] * 4

	resDims, perm := op.kernelGradLayout()
	res := flatOf[float32](outb)
	if !isIdentity(perm) {
		tBuf, tm := newBuffer(be, outb.shape)
		defer func() {
			transposeInto(flatOf[float32](outb), res, resDims, perm)
			sgPutBuffer(be, tBuf)
		}()
		res = flatOf[float32](tm)
	}
	clear(res)
	if op.kgradSwapOK() {
		kgradSwapped(op, xp, xpBase, xpStr, dy, res)
		return
	}

	bw := blockWidth(op.cout)
	nb := op.cout / bw
	linesPerChunk := max(1, kgradChunkPositions/max(oLast, 1))
	checkReach(len(xp), xpBase+slices.Max(rowOff)/4, segs, astride)
	xp0 := unsafe.Pointer(&xp[xpBase])
	run := tileRun{
		a:       func(r int) unsafe.Pointer { return unsafe.Add(xp0, rowOff[r]) },
		c:       func(r int) unsafe.Pointer { return unsafe.Pointer(&res[r*op.cout]) },
		rs:      4,
		ldc:     op.cout * 4,
		segs:    segs,
		astride: astride,
		ldb:     op.cout * 4,
		bw:      bw,
		add:     1,
	}
	plan := newTilePlan(nrows, c, convTileZEnabled)
	tiles := plan.count()
	numGroups := min(tiles, 4*op.eng.workers)
	perGroup := (tiles + numGroups - 1) / numGroups
	parallelFor(op.eng.workers, numGroups, func(_, g int) {
		var scratch tileScratch
		j0, j1 := g*perGroup, min(tiles, (g+1)*perGroup)
		if j0 >= j1 {
			return
		}
		jobs := make([]tileJob, j1-j0)
		for j := range jobs {
			plan.job(j0+j, &jobs[j])
		}
		for l0 := 0; l0 < lines; l0 += linesPerChunk {
			nl := min(linesPerChunk, lines-l0)
			for j := range jobs {
				for jb := range nb {
					run.do(&jobs[j], l0, nl, &dy[l0*oLast*op.cout+jb*bw], jb*bw*4, &scratch)
				}
			}
		}
	})
}

// swapCols is the width of convTile8x48Z: the kernel width × input channels of a 3×3 kernel
// over 16 channels.
const swapCols = 48

// kgradSwapOK reports whether the kernel gradient (swapped layout) takes the swapped tile
// (AVX-512): the (kernel position, channel) × output channel tiles feed one FMA per broadcast
// with 16 output channels and two with more, so the rows become the output channels (in 8s)
// and the columns contiguous runs of xp, 48 floats of the kernel width × input channels (3
// FMAs per broadcast). That needs the run to be a multiple of 48 (a 3×3 kernel over 16, 32,
// 64, … channels) and the forward's kernel dilation 1 along the last axis. Measured on 3×3
// layers at batch 64: 1.55× faster at 16 channels, 1.35× at 32, 1.1× at 64 (history,
// 2026-12-04).
func (op *convOp) kgradSwapOK() bool {
	last := len(op.outSp) - 1
	return kgradSwapEnabled && convTileZEnabled && op.cout%8 == 0 &&
		op.strides[last] == 1 && op.outSp[last]*op.batch%swapCols == 0
}

// kgradSwapped computes res = dW (rows (kernel position, channel), cout columns, cleared) as
// dWᵀ: a tile is 8 output channels × 48 of the (kernel width, channel) columns of one outer
// kernel position ko, C = Σ_(b,o) dY[b, o, co] · xp[b, o·stride + ko, (kw, c)]. Each line of
// output positions (contiguous in dY, strided in xp) is one segment; a tile sums a chunk of
// about kgradChunkPositions positions in registers and adds it to its sums, chunk after chunk,
// every tile of a worker reading a chunk while it is in cache; workers split the tiles, so
// each element is summed in the same order on any thread count.
func kgradSwapped(op *convOp, xp []float32, xpBase int, xpStr []int, dy, res []float32) {
	kgradSwappedRuns.Add(1)
	nsp := len(op.outSp)
	last := nsp - 1
	bsz, cout := op.cin, op.cout
	fK, fOut, fStride, fDil := op.outSp, op.kSp, op.kDil, op.strides
	koOff := positionOffsets(fK[:last], fDil[:last], xpStr)
	lineOff := positionOffsets(fOut[:last], fStride[:last], xpStr)
	oLast, run := fOut[last], fK[last]*op.batch
	lines := bsz * len(lineOff)
	lineX := func(l int) int { return xpBase + l/len(lineOff)*xpStr[0] + lineOff[l%len(lineOff)] }
	ldb := fStride[last] * xpStr[nsp] * 4
	if end := lineX(lines-1) + slices.Max(koOff) + (oLast-1)*ldb/4 + run; end > len(xp) {
		panic(fmt.Sprintf("implicit convolution: swapped tiles would read %d floats past the padded input", end-len(xp)))
	}
	nrb, ncb := cout/8, run/swapCols // row blocks (output channels), column blocks
	nJobs := len(koOff) * nrb * ncb
	linesPerChunk := max(1, kgradChunkPositions/max(oLast, 1))
	workers := min(nJobs, op.eng.workers)
	perGroup := (nJobs + workers - 1) / workers
	parallelFor(op.eng.workers, workers, func(_, g int) {
		j0, j1 := g*perGroup, min(nJobs, (g+1)*perGroup)
		if j0 >= j1 {
			return
		}
		sums := make([]float32, (j1-j0)*8*swapCols)
		segs := make([]int, 0, 3*linesPerChunk)
		for l0 := 0; l0 < lines; l0 += linesPerChunk {
			// One segment per line: its dY rows (contiguous from line l0's) and its xp run.
			segs = segs[:0]
			for l := l0; l < min(lines, l0+linesPerChunk); l++ {
				segs = append(segs, (l-l0)*oLast*cout*4, (lineX(l)-xpBase)*4, oLast)
			}
			for j := j0; j < j1; j++ {
				ko, rb, cb := j/(nrb*ncb), j/ncb%nrb, j%ncb
				convTile8x48Z(unsafe.Pointer(&dy[l0*oLast*cout+rb*8]), 4, &segs[0], len(segs)/3, cout*4,
					&xp[xpBase+koOff[ko]+cb*swapCols], ldb, unsafe.Pointer(&sums[(j-j0)*8*swapCols]), swapCols*4, 1)
			}
		}
		for j := j0; j < j1; j++ {
			ko, rb, cb := j/(nrb*ncb), j/ncb%nrb, j%ncb
			for r := range 8 {
				for col, v := range sums[((j-j0)*8+r)*swapCols:][:swapCols] {
					res[(ko*run+cb*swapCols+col)*cout+rb*8+r] = v
				}
			}
		}
	})
}

// tileJob is one register tile's rows: n rows listed in rows, or (z) the 8 consecutive rows
// from rows[0], which convTile8x16Z takes as evenly spaced (tilePlan).
type tileJob struct {
	z    bool
	n    int
	rows [tileRows]int
}

// tileScratch receives the rows of a partial 6-row tile that are not real rows.
type tileScratch [tileRows * tileCols]float32

// tilePlan numbers the register tiles of rows taken in lines of lineLen consecutive rows,
// without listing them. With the AVX-512 tile, each line's first nz·8 rows make nz tiles of 8
// (evenly spaced in memory: consecutive output positions of a line, or consecutive channels
// of a kernel position), numbered first; the rest of every line (rem rows), all lines' in
// order, make 6-row tiles. Without it every row goes to 6-row tiles, in order.
type tilePlan struct{ lines, lineLen, nz, rem int }

func newTilePlan(rows, lineLen int, z bool) tilePlan {
	p := tilePlan{lines: rows / lineLen, lineLen: lineLen, rem: lineLen}
	if z {
		p.nz, p.rem = lineLen/8, lineLen%8
	}
	return p
}

func (p tilePlan) count() int { return p.lines*p.nz + (p.lines*p.rem+tileRows-1)/tileRows }

// job describes tile j.
func (p tilePlan) job(j int, out *tileJob) {
	if zt := p.lines * p.nz; j < zt {
		out.z, out.n, out.rows[0] = true, 8, j/p.nz*p.lineLen+j%p.nz*8
		return
	}
	q0 := (j - p.lines*p.nz) * tileRows
	out.z, out.n = false, min(tileRows, p.lines*p.rem-q0)
	for i := range out.n {
		q := q0 + i
		out.rows[i] = q/p.rem*p.lineLen + p.nz*8 + q%p.rem
	}
}

// blockWidth is how many output channels a tile covers: 32 with the AVX-512 tile when they
// come in 32s (each broadcast feeds two FMAs), else 16.
func blockWidth(cout int) int {
	if convTileZEnabled && cout%32 == 0 {
		return 32
	}
	return tileCols
}

// tileRun is how the tiles of one convolution find their operands: a(r) and c(r) point at
// row r of A (in xp) and of C; rs and ldc are the bytes between consecutive rows of a z
// tile; segs, astride, ldb and add are the tile kernels'; bw is the block width (16 or 32
// columns of B and C per call of do).
type tileRun struct {
	a, c              func(r int) unsafe.Pointer
	rs, ldc           int
	segs              []int
	astride, ldb, add int
	bw                int
}

// do runs one tile over segments [s0, s0+ns) for a block of bw columns: B from b, C's
// columns from byte cOff. A 6-row tile takes the block 16 columns at a time.
func (t *tileRun) do(job *tileJob, s0, ns int, b *float32, cOff int, scratch *tileScratch) {
	if job.z {
		kernel := convTile8x16Z
		if t.bw == 32 {
			kernel = convTile8x32Z
		}
		kernel(t.a(job.rows[0]), t.rs, &t.segs[2*s0], ns, t.astride, b, t.ldb, unsafe.Add(t.c(job.rows[0]), cOff), t.ldc, t.add)
		return
	}
	var rp, cp [tileRows]unsafe.Pointer
	for h := 0; h < t.bw; h += tileCols {
		for i := range tileRows {
			if i < job.n {
				rp[i], cp[i] = t.a(job.rows[i]), unsafe.Add(t.c(job.rows[i]), cOff+h*4)
			} else {
				rp[i], cp[i] = rp[0], unsafe.Pointer(&scratch[i*tileCols])
			}
		}
		convTile6x16(&rp, &t.segs[2*s0], ns, t.astride, (*float32)(unsafe.Add(unsafe.Pointer(b), h*4)), t.ldb, &cp, t.add)
	}
}

// subPixelAxis is one output phase φ (o = φ + s·j) of a transposed convolution along one axis:
// the kernel taps that reach it (k ≡ padLow − φ mod s), its output count J, and e, the input
// index its first tap reads for j = 0 (tap m reads input j + m + e).
type subPixelAxis struct {
	phase, J, e int
	taps        []int
}

// subPixelPhases splits each axis of a transposedForm convolution (input dilation s, unit
// stride and kernel dilation) into its s output phases.
func (op *convOp) subPixelPhases() [][]subPixelAxis {
	phases := make([][]subPixelAxis, len(op.outSp))
	for ax := range op.outSp {
		s := op.inDil[ax]
		for phi := range s {
			k0 := ((op.padLow[ax]-phi)%s + s) % s
			p := subPixelAxis{phase: phi, J: max(0, (op.outSp[ax]-phi+s-1)/s), e: (phi + k0 - op.padLow[ax]) / s}
			for k := k0; k < op.kSp[ax]; k += s {
				p.taps = append(p.taps, k)
			}
			phases[ax] = append(phases[ax], p)
		}
	}
	return phases
}

// convImplicitTransposed is the input gradient of a strided convolution (transposedForm) as
// one unit-stride convolution per output phase: output positions o = φ + s·j take only the
// kernel taps k ≡ padLow − φ (mod s), which read input j + m + e for their m-th tap. So no
// tile multiplies the zeros of the input dilation, and no partial product is scattered
// (convTransposedExec adds each GEMM row into the outputs it reaches). All phases read one
// padded copy of the input.
func convImplicitTransposed(be *simplego.Backend, op *convOp, xb, kb, outb *bufferMirror) {
	convImplicitRuns[2].Add(1)
	nsp := len(op.outSp)
	x, res, finish := canonicalLayout(be, op, xb, outb, flatOf[float32](xb))
	defer finish()

	// One padded input for every phase: xp position q is input q − lo.
	phases := op.subPixelPhases()
	lo, pd := make([]int, nsp), make([]int, nsp)
	empty := false // Some outputs get no tap: they are zero.
	for ax, ps := range phases {
		hi := 1
		for _, p := range ps {
			if p.J == 0 {
				continue
			}
			if len(p.taps) == 0 {
				empty = true
				continue
			}
			lo[ax] = max(lo[ax], -p.e)
			hi = max(hi, p.J+len(p.taps)-1+p.e)
		}
		pd[ax] = lo[ax] + hi
	}
	if empty {
		clear(res)
	}
	xp, xpBase, xpStr, releaseXP := paddedView(be, op.eng.workers, x, op.batch, op.cin, op.inSp, lo, pd)
	defer releaseXP()

	bw := blockWidth(op.cout)
	nb := op.cout / bw
	ks := product(op.kSp)
	wBuf, wm := newBuffer(be, shapes.Make(dtypes.Float32, ks*op.cin*op.cout))
	defer sgPutBuffer(be, wBuf)
	w := flatOf[float32](wm)
	kernel := flatOf[float32](kb)
	outSpStr := stridesOf(op.outSp)
	ps := make([]subPixelAxis, nsp)
	pIdx := make([]int, nsp)
	for range product(op.inDil) {
		J, taps, ones := make([]int, nsp), make([][]int, nsp), make([]int, nsp)
		phaseBase, phaseOut, skip := xpBase, 0, false
		for ax := range nsp {
			ps[ax] = phases[ax][pIdx[ax]]
			J[ax], taps[ax], ones[ax] = ps[ax].J, ps[ax].taps, 1
			skip = skip || ps[ax].J == 0 || len(ps[ax].taps) == 0
			phaseBase += (ps[ax].e + lo[ax]) * xpStr[1+ax]
			phaseOut += ps[ax].phase * outSpStr[ax]
		}
		incr(pIdx, op.inDil)
		if skip {
			continue
		}
		nt := make([]int, nsp)
		for ax := range nsp {
			nt[ax] = len(taps[ax])
		}
		K := product(nt) * op.cin
		packKernelBlocks(w[:K*op.cout], kernel, kb.shape.Dimensions, op.axes.KernelSpatial, taps,
			op.axes.KernelInputChannels, op.axes.KernelOutputChannels, op.cin, op.cout, bw)
		segs := kernelSegments(nt, ones, xpStr, op.cin)
		aOff := positionOffsets(J, ones, xpStr)
		outStep := slices.Clone(op.inDil)
		cOff := positionOffsets(J, outStep, slices.Concat([]int{0}, outSpStr)) // positions in the output grid
		nj, os := len(aOff), product(op.outSp)
		checkReach(len(xp), phaseBase+(op.batch-1)*xpStr[0]+slices.Max(aOff), segs, 4)
		run := tileRun{
			a:       func(r int) unsafe.Pointer { return unsafe.Pointer(&xp[phaseBase+r/nj*xpStr[0]+aOff[r%nj]]) },
			c:       func(r int) unsafe.Pointer { return unsafe.Pointer(&res[(r/nj*os+phaseOut+cOff[r%nj])*op.cout]) },
			rs:      op.cin * 4,
			ldc:     op.inDil[nsp-1] * op.cout * 4,
			segs:    segs,
			astride: 4,
			ldb:     bw * 4,
			bw:      bw,
		}
		runTiles(op, newTilePlan(op.batch*nj, J[nsp-1], convTileZEnabled), run, w, nb, K, bw, len(segs)/2)
	}
}

// runTiles runs every tile of plan over all nb column blocks of the packed kernel w (K rows
// of bw columns each, nsegs segments per tile), in chunks spread over the workers: each
// output tile is written by one worker, so the result does not depend on their number.
func runTiles(op *convOp, plan tilePlan, run tileRun, w []float32, nb, K, bw, nsegs int) {
	tiles := plan.count()
	numChunks := min(tiles, 8*op.eng.workers)
	perChunk := (tiles + numChunks - 1) / numChunks
	parallelFor(op.eng.workers, numChunks, func(_, ci int) {
		var scratch tileScratch
		var job tileJob
		for j := ci * perChunk; j < min(tiles, (ci+1)*perChunk); j++ {
			plan.job(j, &job)
			for jb := range nb {
				run.do(&job, 0, nsegs, &w[jb*K*bw], jb*bw*4, &scratch)
			}
		}
	})
}
