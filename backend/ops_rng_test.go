package backend

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// runRNG runs one RNGBitGenerator node on be and returns the new state and the output bytes.
func runRNG(t *testing.T, be backends.Backend, state [2]uint64, shape shapes.Shape) ([2]uint64, []byte) {
	t.Helper()
	b := be.Builder("rng")
	st, err := b.Constant([]uint64{state[0], state[1], 0}, 3)
	if err != nil {
		t.Fatal(err)
	}
	newState, values, err := b.RNGBitGenerator(st, shape)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := b.Compile([]backends.Op{newState, values}, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Execute(nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ns := make([]uint64, 3)
	if err := be.BufferToFlatData(outs[0], ns); err != nil {
		t.Fatal(err)
	}
	var flat any
	switch shape.DType {
	case dtypes.Uint8:
		flat = make([]uint8, shape.Size())
	case dtypes.Uint32:
		flat = make([]uint32, shape.Size())
	default:
		flat = make([]uint64, shape.Size())
	}
	if err := be.BufferToFlatData(outs[1], flat); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{ns[0], ns[1]}, bytes.Clone(rawBytes(flat))
}

// TestRNGMatchesSimplego checks the native RNGBitGenerator against simplego's own executor:
// same bytes and same new state, for sizes from one byte to several chunks plus a tail.
func TestRNGMatchesSimplego(t *testing.T) {
	be := newTestBackend(t, "")
	sizes := []shapes.Shape{
		shapes.Make(dtypes.Uint8, 1), shapes.Make(dtypes.Uint8, 13), shapes.Make(dtypes.Uint32, 7),
		shapes.Make(dtypes.Uint64, 5, 3), shapes.Make(dtypes.Uint32, 3*rngWordsPerChunk+3),
		shapes.Make(dtypes.Uint8, 2*8*rngWordsPerChunk+5),
	}
	for _, state := range [][2]uint64{{1, 2}, {0xdeadbeef12345678, 0x0123456789abcdef}} {
		for _, shape := range sizes {
			gotState, got := runRNG(t, be, state, shape)
			sgMultiOutputsNodeExecutors[backends.OpTypeRNGBitGenerator] = sgRNGOriginal
			wantState, want := runRNG(t, be, state, shape)
			sgMultiOutputsNodeExecutors[backends.OpTypeRNGBitGenerator] = execRNG
			if gotState != wantState {
				t.Errorf("state %x, %s: new state %x, simplego gives %x", state, shape, gotState, wantState)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("state %x, %s: bytes differ from simplego's", state, shape)
			}
		}
	}
}

// TestRNGThreadsAgree checks that the output does not depend on the number of workers, and
// that jumping ahead equals stepping.
func TestRNGThreadsAgree(t *testing.T) {
	s := u128{42, 7}
	rng := rand.NewPCG(s.hi, s.lo)
	for n := range uint64(300) {
		want, _ := rng.MarshalBinary() // "pcg:" then hi and lo, big-endian.
		got := pcgAdvance(s, n)
		if binary.BigEndian.Uint64(want[4:]) != got.hi || binary.BigEndian.Uint64(want[12:]) != got.lo || got != s.stepped(n) {
			t.Fatalf("pcgAdvance(%d) = %x, math/rand/v2 is at %x", n, got, want[4:])
		}
		rng.Uint64()
	}
	n := 5*8*rngWordsPerChunk + 3
	one, four := make([]byte, n), make([]byte, n)
	s1, s4 := fillPCG(one, s, 1), fillPCG(four, s, 4)
	if s1 != s4 || !bytes.Equal(one, four) {
		t.Fatal("fillPCG output depends on the worker count")
	}
}

// stepped advances s by n single LCG steps.
func (a u128) stepped(n uint64) u128 {
	for range n {
		a = a.mul(pcgMul).add(pcgInc)
	}
	return a
}
