package backend

import (
	"fmt"
	"time"

	"github.com/gomlx/gomlx/backends"
)

// TraceOps makes every executed op report its type, output shape, detail and duration to f
// (nil stops). For profiling tests only.
func TraceOps(f func(opType backends.OpType, desc string, d time.Duration)) {
	if f == nil {
		opTracer.Store(nil)
		return
	}
	tracer := func(n *nodeMirror, d time.Duration) {
		desc := n.shape.String()
		switch op := n.data.(type) {
		case *dotOp:
			desc = fmt.Sprintf("batch %d, m %d, n %d, k %d", op.batch, op.m, op.n, op.k)
		case *fusedOp:
			desc += " fused"
			for _, in := range op.prog {
				desc += " " + in.opType.String()
			}
		case *fusedSumOp:
			desc += " fused sum of"
			for _, in := range op.prog.prog {
				desc += " " + in.opType.String()
			}
			desc += fmt.Sprintf(" [%d]", op.size)
		case *reduceSumOp:
			desc += fmt.Sprintf(" of %s", opShape(n.inputs[0]))
		case *convOp:
			desc = fmt.Sprintf("%s in %v k %v s %v inDil %v", n.shape, op.inSp, op.kSp, op.strides, op.inDil)
		}
		f(n.opType, desc, d)
	}
	opTracer.Store(&tracer)
}

// DescribeFused lists the instruction op types of a fused node's program (debug).
func DescribeFused(op any) string { return fmt.Sprint(op) }
