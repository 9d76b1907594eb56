package backend

// simplego's RNGBitGenerator fills its output one byte at a time from a single math/rand/v2
// PCG stream (~1 ns per byte): on an MLP with 670k parameters, drawing TSAM's random starts
// cost more than the extra gradient evaluations. The native version here produces exactly the
// same bytes and the same new state (TestRNGMatchesSimplego): the stream is a pure function of
// the state, whatever the number of threads, so checkpoints resume bit-exactly on either. It
// writes whole 64-bit words, and splits long outputs into chunks whose starting PCG state is
// computed by jumping the generator's 128-bit LCG ahead in O(log n) steps.

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"

	"github.com/gomlx/gomlx/backends/simplego"
)

// sgRNGOriginal is simplego's own RNGBitGenerator executor, kept for the tests that compare.
var sgRNGOriginal sgMultiExecutor

// u128 is an unsigned 128-bit integer (arithmetic mod 2¹²⁸).
type u128 struct{ hi, lo uint64 }

func (a u128) mul(b u128) u128 {
	hi, lo := bits.Mul64(a.lo, b.lo)
	hi += a.hi*b.lo + a.lo*b.hi
	return u128{hi, lo}
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	return u128{a.hi + b.hi + c, lo}
}

// The LCG constants of math/rand/v2's PCG (state = state·pcgMul + pcgInc).
var (
	pcgMul = u128{2549297995355413924, 4865540595714422341}
	pcgInc = u128{6364136223846793005, 1442695040888963407}
)

// pcgAdvance returns the PCG state after n steps from s (Brown, "Random number generation
// with arbitrary strides", 1994: square-and-multiply on the affine map).
func pcgAdvance(s u128, n uint64) u128 {
	accMul, accAdd := u128{0, 1}, u128{}
	curMul, curAdd := pcgMul, pcgInc
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			accMul = accMul.mul(curMul)
			accAdd = accAdd.mul(curMul).add(curAdd)
		}
		curAdd = curMul.add(u128{0, 1}).mul(curAdd)
		curMul = curMul.mul(curMul)
	}
	return accMul.mul(s).add(accAdd)
}

// rngWordsPerChunk is how many 64-bit words one goroutine generates per chunk (256 KiB).
const rngWordsPerChunk = 1 << 15

// fillPCG writes the little-endian bytes of consecutive Uint64 draws of PCG(state) to out,
// the last word truncated, as simplego does; it returns the state after the draws.
func fillPCG(out []byte, state u128, workers int) u128 {
	words := (len(out) + 7) / 8
	chunks := (words + rngWordsPerChunk - 1) / rngWordsPerChunk
	parallelFor(workers, chunks, func(_, ci int) {
		w0, w1 := ci*rngWordsPerChunk, min(words, (ci+1)*rngWordsPerChunk)
		s := pcgAdvance(state, uint64(w0))
		rng := rand.NewPCG(s.hi, s.lo)
		full := min(w1, len(out)/8) // Words that fit whole.
		for w := w0; w < full; w++ {
			binary.LittleEndian.PutUint64(out[8*w:], rng.Uint64())
		}
		if full < w1 { // The tail: the low bytes of one more draw.
			v := rng.Uint64()
			for i := 8 * full; i < len(out); i++ {
				out[i] = byte(v)
				v >>= 8
			}
		}
	})
	return pcgAdvance(state, uint64(words))
}

// execRNG is the native RNGBitGenerator executor (see the file comment).
func execRNG(be *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) ([]*simplego.Buffer, error) {
	n := nodeOf(node)
	if len(n.multiOutputsShapes) != 2 || len(inputs) != 1 {
		return nil, fmt.Errorf("RNGBitGenerator: expected 1 input and 2 outputs, got %d and %d", len(inputs), len(n.multiOutputsShapes))
	}
	stateIn, ok := bufferOf(inputs[0]).flat.([]uint64)
	if !ok || len(stateIn) < 2 {
		return nil, fmt.Errorf("RNGBitGenerator: state must be a uint64 tensor of 2 or more elements, got %s", bufferOf(inputs[0]).shape)
	}
	data, dataM := newBuffer(be, n.multiOutputsShapes[1])
	next := fillPCG(rawBytes(dataM.flat), u128{stateIn[0], stateIn[1]}, runtime.GOMAXPROCS(0))

	state := inputs[0]
	if owned[0] {
		inputs[0] = nil // Reused for the new state, as simplego does.
	} else {
		state, _ = newBuffer(be, n.multiOutputsShapes[0])
	}
	stateOut := bufferOf(state).flat.([]uint64)
	// simplego stores PCG's MarshalBinary bytes (big-endian) read as little-endian words.
	marshalled, err := rand.NewPCG(next.hi, next.lo).MarshalBinary()
	if err != nil || len(marshalled) != 20 {
		return nil, fmt.Errorf("RNGBitGenerator: unexpected PCG state encoding (%d bytes, %v)", len(marshalled), err)
	}
	stateOut[0] = binary.LittleEndian.Uint64(marshalled[4:12])
	stateOut[1] = binary.LittleEndian.Uint64(marshalled[12:20])
	return []*simplego.Buffer{state, data}, nil
}
