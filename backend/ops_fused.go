package backend

// Elementwise fusion. Every native elementwise node (binaryOp on equal shapes or with a scalar,
// unaryOp other than Sign) is one pass over memory. Chains of them — a Box–Muller transform,
// a polynomial by Horner's rule, an optimizer's update — cost one pass per op, and on an MLP
// the Gaussian noise of TSAM's random starts was ~40 passes over every parameter. At Compile,
// when every node's consumers are known, fuseElementwise merges each elementwise node whose
// only consumer is another elementwise node of the same shape into that consumer: the
// consumer becomes a fusedOp, a small program run block by block (fuseBlock elements, so
// intermediates stay in L1/L2), reading only the chain's leaves and writing only its result.
// Nothing is computed twice: a node with two consumers, or a graph output, stays a node.
// Per element the program does the same operations in the same order as the unfused nodes,
// each rounded to the dtype, so results are identical (TestFusionIsExact).

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

const (
	// fuseBlock is the number of elements a fused program computes at a time. With the SIMD
	// kernels an instruction costs ~20 ns per 256 elements, about what dispatching it costs, so
	// blocks are 1024 (4 KiB of float32 per register; a Box–Muller draw over 334,853 values
	// measured 1.75–1.81 ms at 256, 1.46–1.56 at 512, 1.23–1.49 at 1024, see
	// docs/results/backend-history.md). A multiple of sumLanes and a divisor of reduceChunk
	// (fused sums depend on both).
	fuseBlock = 1024
	// maxFusedInstrs bounds a fused program (its per-worker scratch is this many blocks).
	maxFusedInstrs = 64
)

// fusionEnabled turns fuseElementwise on; tests turn it off to compare.
var fusionEnabled = true

// ewOperand is an instruction operand: a register (an earlier instruction) or a constant.
type ewOperand struct {
	reg   int
	imm   float64
	isImm bool
}

// ewInstr is one step of a fused program: load input `input`, or apply opType to a (and b).
type ewInstr struct {
	opType backends.OpType
	input  int // For loads (opType == OpTypeInvalid): the input index.
	a, b   ewOperand
	binary bool
	scalar bool // The register holds one value (a scalar input broadcast).
	node   *simplego.Node
	// mulAdd makes the instruction T(a·b) + c (an Add whose operand was a single-use Mul,
	// as in Horner's rule or an affine map), rounded after the product as the two nodes were.
	mulAdd bool
	c      ewOperand
	dead   bool // Folded into a later mulAdd.
	slot   int  // Scratch block holding the register (set by allocateSlots).
	// For loads: offset is where the register starts in the input (a contiguous Slice read
	// in place), and convert says the input is an integer tensor to convert (ConvertDType).
	offset  int
	convert bool
}

// hasSlot reports whether the instruction's register lives in scratch (loads read their
// input in place unless they convert it).
func (in *ewInstr) hasSlot() bool {
	return !in.dead && (in.opType != backends.OpTypeInvalid || in.convert)
}

// fusedOp is a merged chain of elementwise nodes; its instructions are in dependency order
// and the last one is the node's value.
type fusedOp struct {
	eng   *engine
	prog  []ewInstr
	slots int // Scratch blocks a worker needs.
}

// fusable reports whether node n can be part of a fused program, and if so returns its
// program (a one-instruction program for a plain elementwise node).
func fusable(node *simplego.Node) (*fusedOp, bool) {
	n := nodeOf(node)
	switch op := n.data.(type) {
	case *fusedOp:
		return op, true
	case *binaryOp:
		if op.broadcast || len(n.inputs) != 2 {
			return nil, false
		}
		p := &fusedOp{eng: op.eng}
		x, xImm := p.operand(n.inputs[0], n.shape.Size(), nil)
		y, _ := p.operand(n.inputs[1], n.shape.Size(), &xImm)
		p.prog = append(p.prog, ewInstr{opType: op.opType, a: x, b: y, binary: true, node: node})
		return p, true
	case *unaryOp:
		if op.steps != nil || op.opType == backends.OpTypeSign || len(n.inputs) != 1 {
			return nil, false
		}
		// Always a load: unary instructions read a register, never an immediate (the
		// operand of a unary op on a constant scalar is that scalar, loaded).
		p := &fusedOp{eng: op.eng}
		x := ewOperand{reg: p.load(n.inputs[0], n.shape.Size())}
		p.prog = append(p.prog, ewInstr{opType: op.opType, a: x, node: node})
		return p, true
	}
	return nil, false
}

// operand makes an operand of node in for a program computing size elements: a constant
// scalar becomes an immediate (unless the other operand, otherImm, already is one), anything
// else a load.
func (p *fusedOp) operand(in *simplego.Node, size int, otherImm *ewOperand) (ewOperand, ewOperand) {
	if c, ok := scalarConstant(nodeOf(in)); ok && (otherImm == nil || !otherImm.isImm) {
		o := ewOperand{imm: c, isImm: true}
		return o, o
	}
	return ewOperand{reg: p.load(in, size)}, ewOperand{}
}

// load returns the register holding input node in, adding a load if there is none.
func (p *fusedOp) load(in *simplego.Node, size int) int {
	for r, ins := range p.prog {
		if ins.node == in {
			return r
		}
	}
	p.prog = append(p.prog, ewInstr{opType: backends.OpTypeInvalid, scalar: size > 1 && nodeOf(in).shape.Size() == 1, node: in})
	return len(p.prog) - 1
}

// inputs lists the program's leaf nodes in load order (the node's inputs).
func (p *fusedOp) inputs() []*simplego.Node {
	var in []*simplego.Node
	for _, ins := range p.prog {
		if ins.opType == backends.OpTypeInvalid {
			in = append(in, ins.node)
		}
	}
	return in
}

// inline returns a program equal to p with the loads of the nodes in expand replaced by their
// programs (instructions of a node already computed are reused, not repeated).
func (p *fusedOp) inline(expand map[*simplego.Node]*fusedOp, size int) *fusedOp {
	out := &fusedOp{eng: p.eng}
	var emit func(q *fusedOp) []int
	emit = func(q *fusedOp) []int {
		regs := make([]int, len(q.prog))
		for r, ins := range q.prog {
			if known := out.find(ins.node); known >= 0 {
				regs[r] = known
				continue
			}
			if ins.opType == backends.OpTypeInvalid {
				if sub, ok := expand[ins.node]; ok {
					subRegs := emit(sub)
					regs[r] = subRegs[len(subRegs)-1]
				} else {
					regs[r] = out.load(ins.node, size)
				}
				continue
			}
			ins.a, ins.b = remap(ins.a, regs), remap(ins.b, regs)
			out.prog = append(out.prog, ins)
			regs[r] = len(out.prog) - 1
		}
		return regs
	}
	emit(p)
	return out
}

func remap(o ewOperand, regs []int) ewOperand {
	if !o.isImm {
		o.reg = regs[o.reg]
	}
	return o
}

// find returns the register computing node, or −1.
func (p *fusedOp) find(node *simplego.Node) int {
	for r, ins := range p.prog {
		if ins.node == node {
			return r
		}
	}
	return -1
}

// fuseElementwise merges single-consumer elementwise nodes into their elementwise consumers
// (see the file comment). It rewrites node data and inputs in place; merged nodes are left
// unreachable, and simplego skips nodes no output needs.
func fuseElementwise(outputs []backends.Op) {
	if !fusionEnabled {
		return
	}
	order, uses := topoOrder(outputs)
	for _, node := range order {
		n := nodeOf(node)
		p, ok := fusable(node)
		if !ok {
			continue
		}
		merged := false
		for round := 0; round < maxFusedInstrs; round++ {
			expand := map[*simplego.Node]*fusedOp{}
			total := len(p.prog)
			for _, in := range p.inputs() {
				sub, ok := fusable(in)
				if !ok || uses[in] != 1 || !nodeOf(in).shape.Equal(n.shape) || total+len(sub.prog) > maxFusedInstrs {
					continue
				}
				expand[in] = sub
				total += len(sub.prog)
			}
			if len(expand) == 0 {
				break
			}
			before := p.inputs()
			p = p.inline(expand, n.shape.Size())
			after := p.inputs()
			for in, sub := range expand {
				uses[in] = 0
				for _, leaf := range sub.inputs() {
					uses[leaf]--
				}
			}
			for _, leaf := range before {
				if expand[leaf] == nil {
					uses[leaf]--
				}
			}
			for _, leaf := range after {
				uses[leaf]++
			}
			merged = true
		}
		if merged {
			n.data = p
			n.inputs = p.inputs()
		}
	}
	fuseReductions(order, uses)
	// Only now, when no program will be inlined into another, fold loads and multiply-adds.
	for _, node := range order {
		n := nodeOf(node)
		if sum, ok := n.data.(*fusedSumOp); ok {
			sum.prog.foldLoads(uses)
			n.inputs = sum.prog.inputs()
			sum.prog.foldMulAdds()
			sum.prog.allocateSlots()
			sum.dot = sum.prog.endsInProduct()
			continue
		}
		p, ok := fusable(node)
		if !ok || uses[node] == 0 {
			continue
		}
		if p.foldLoads(uses) {
			n.data = p
			n.inputs = p.inputs()
		}
		if p, ok := n.data.(*fusedOp); ok {
			p.foldMulAdds()
			p.allocateSlots()
		}
	}
}

// foldLoads makes loads of single-consumer Reshapes, contiguous Slices and integer-to-float
// ConvertDTypes read the tensor under them instead (at an offset, converting), so those
// nodes are not materialized. It reports whether it changed a load.
func (p *fusedOp) foldLoads(uses map[*simplego.Node]int) bool {
	changed := false
loads:
	for r := range p.prog {
		in := &p.prog[r]
		if in.opType != backends.OpTypeInvalid || in.scalar {
			continue
		}
		for {
			src := nodeOf(in.node)
			if uses[in.node] != 1 || len(src.inputs) != 1 {
				break
			}
			switch op := src.data.(type) {
			case nil:
				if !isPlainReshape(in.node) {
					continue loads
				}
				// A reshape keeps the row-major order: the same elements, same offsets.
			case *sliceOp:
				off, ok := op.contiguousOffset(nodeOf(src.inputs[0]).shape.Dimensions, src.shape.Dimensions)
				if !ok {
					continue loads
				}
				in.offset += off
			case *convertOp:
				if in.convert {
					continue loads
				}
				in.convert = true
			default:
				continue loads
			}
			// src's only consumer was this load, so src is no longer computed: the tensor
			// under it trades src for this program as a consumer, and its count stays (one
			// too many if the program already read it, which only errs towards not folding).
			// Counting it up, as before, made a Slice under a Reshape look shared and kept
			// it from being folded in turn.
			uses[in.node] = 0
			in.node = src.inputs[0]
			changed = true
		}
	}
	return changed
}

// topoOrder lists the nodes the outputs depend on, inputs before consumers, and counts each
// node's distinct consumers (an output counts as one more).
func topoOrder(outputs []backends.Op) ([]*simplego.Node, map[*simplego.Node]int) {
	uses := map[*simplego.Node]int{}
	seen := map[*simplego.Node]bool{}
	var order []*simplego.Node
	var visit func(node *simplego.Node)
	visit = func(node *simplego.Node) {
		if seen[node] {
			return
		}
		seen[node] = true
		counted := map[*simplego.Node]bool{}
		for _, in := range nodeOf(node).inputs {
			if !counted[in] {
				counted[in] = true
				uses[in]++
			}
			visit(in)
		}
		order = append(order, node)
	}
	for _, out := range outputs {
		node := out.(*simplego.Node)
		uses[node]++
		visit(node)
	}
	return order, uses
}

// foldMulAdds turns Add(Mul(x, y), z) into one mulAdd instruction where the Mul is used only
// by that Add, with the scalar factor (if any) as b and z a scalar or a register.
func (p *fusedOp) foldMulAdds() {
	uses := make([]int, len(p.prog))
	for _, in := range p.prog {
		for _, o := range in.operands() {
			uses[o.reg]++
		}
	}
	isScalar := func(o ewOperand) bool { return o.isImm || p.prog[o.reg].scalar }
	for j := range p.prog {
		in := &p.prog[j]
		if in.opType != backends.OpTypeAdd || !in.binary || in.mulAdd {
			continue
		}
		for _, pair := range [2][2]ewOperand{{in.a, in.b}, {in.b, in.a}} {
			m, z := pair[0], pair[1]
			if m.isImm || uses[m.reg] != 1 {
				continue
			}
			mul := &p.prog[m.reg]
			if mul.opType != backends.OpTypeMul || !mul.binary || mul.mulAdd {
				continue
			}
			x, y := mul.a, mul.b
			if isScalar(x) {
				x, y = y, x
			}
			if isScalar(x) {
				continue // Both factors scalar: not worth a special case.
			}
			mul.dead = true
			in.a, in.b, in.c, in.mulAdd = x, y, z, true
			break
		}
	}
}

// operands lists the register operands of an instruction.
func (in *ewInstr) operands() []ewOperand {
	var ops []ewOperand
	if in.opType == backends.OpTypeInvalid || in.dead {
		return nil
	}
	cands := []ewOperand{in.a}
	if in.binary {
		cands = append(cands, in.b)
	}
	if in.mulAdd {
		cands = append(cands, in.c)
	}
	for _, o := range cands {
		if !o.isImm {
			ops = append(ops, o)
		}
	}
	return ops
}

// allocateSlots gives every computed register a scratch block, reusing the blocks of
// registers no later instruction reads, so a program's working set stays in L1.
func (p *fusedOp) allocateSlots() {
	lastUse := make([]int, len(p.prog))
	for j, in := range p.prog {
		for _, o := range in.operands() {
			lastUse[o.reg] = j
		}
	}
	var free []int
	for j := range p.prog {
		in := &p.prog[j]
		if !in.hasSlot() {
			continue
		}
		if len(free) > 0 {
			in.slot, free = free[len(free)-1], free[:len(free)-1]
		} else {
			in.slot = p.slots
			p.slots++
		}
		for _, o := range in.operands() {
			if lastUse[o.reg] == j && p.prog[o.reg].hasSlot() {
				lastUse[o.reg] = -1 // Free once even if read twice.
				free = append(free, p.prog[o.reg].slot)
			}
		}
	}
}

func (op *fusedOp) exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error) {
	out, outM := newBuffer(be, node.shape)
	switch node.shape.DType {
	case dtypes.Float32:
		fusedExec(op, inputs, flatOf[float32](outM))
	case dtypes.Float64:
		fusedExec(op, inputs, flatOf[float64](outM))
	default:
		sgPutBuffer(be, out)
		return nil, fmt.Errorf("fused elementwise op: dtype %s not supported", node.shape.DType)
	}
	return out, nil
}

// fusedExec runs the program over out in chunks (one per worker at a time) of fuseBlock-sized
// blocks; each instruction's block lives in the worker's scratch, the last one in out.
func fusedExec[T float32 | float64](op *fusedOp, inputs []*bufferMirror, out []T) {
	ins := loadSources[T](inputs)
	n := len(out)
	parallelFor(op.eng.workers, (n+ewChunk-1)/ewChunk, func(_, ci int) {
		scratch := make([]T, op.slots*fuseBlock)
		regs := make([][]T, len(op.prog))
		lo, hi := ci*ewChunk, min(n, (ci+1)*ewChunk)
		for b0 := lo; b0 < hi; b0 += fuseBlock {
			b1 := min(hi, b0+fuseBlock)
			fusedBlock(op, len(op.prog), inputs, ins, regs, scratch, b0, b1, out[b0:b1])
		}
	})
}

// loadSources returns the inputs' data as []T, nil for an input a load converts.
func loadSources[T float32 | float64](inputs []*bufferMirror) [][]T {
	ins := make([][]T, len(inputs))
	for i, in := range inputs {
		ins[i], _ = in.flat.([]T)
	}
	return ins
}

// fusedBlock runs the first count instructions of the program on elements [b0, b1): loads
// point into the inputs (or convert into scratch), every instruction but the program's last
// writes its scratch slot, the last writes dst.
func fusedBlock[T float32 | float64](op *fusedOp, count int, inputs []*bufferMirror, ins, regs [][]T, scratch []T, b0, b1 int, dst []T) {
	input, last := 0, len(op.prog)-1
	for r := range count {
		in := &op.prog[r] // Not a copy: copying the ~150-byte instruction showed in profiles.
		if in.opType == backends.OpTypeInvalid {
			switch {
			case in.convert:
				regs[r] = scratch[in.slot*fuseBlock : in.slot*fuseBlock+b1-b0]
				convertInto(regs[r], inputs[input].flat, in.offset+b0)
			case in.scalar:
				regs[r] = ins[input][:1]
			default:
				regs[r] = ins[input][in.offset+b0 : in.offset+b1]
			}
			input++
			continue
		}
		if in.dead {
			continue
		}
		d := scratch[in.slot*fuseBlock : in.slot*fuseBlock+b1-b0]
		if r == last {
			d = dst
		}
		regs[r] = d
		runInstr(in, d, regs)
	}
}

// runInstr computes one instruction into dst.
func runInstr[T float32 | float64](in *ewInstr, dst []T, regs [][]T) {
	scalarOf := func(o ewOperand) (T, bool) {
		if o.isImm {
			return T(o.imm), true
		}
		if r := regs[o.reg]; len(r) == 1 && len(dst) > 1 {
			return r[0], true
		}
		return 0, false
	}
	if !in.binary {
		unaryApply(in.opType, dst, regs[in.a.reg])
		return
	}
	sa, aScalar := scalarOf(in.a)
	sb, bScalar := scalarOf(in.b)
	if in.mulAdd {
		sc, cScalar := scalarOf(in.c)
		var y, z []T
		if !bScalar {
			y = regs[in.b.reg]
		}
		if !cScalar {
			z = regs[in.c.reg]
		}
		mulAddKernel(dst, regs[in.a.reg], y, sb, z, sc)
		return
	}
	switch {
	case aScalar && bScalar: // Only for one-element outputs.
		binaryScalarRight(in.opType, dst, []T{sa}, sb)
	case aScalar:
		binaryScalarLeft(in.opType, dst, sa, regs[in.b.reg])
	case bScalar:
		binaryScalarRight(in.opType, dst, regs[in.a.reg], sb)
	default:
		binarySlices(in.opType, dst, regs[in.a.reg], regs[in.b.reg])
	}
}
