package backend

// This file reaches into simplego's unexported internals. simplego offers no way for another
// package to add a natively executed op, and ops composed from its exported Builder methods run
// on its generic executors, which walk an index iterator per element (its ReduceWindow took 354
// ms of a 488 ms CNN step: docs/results/backend-history.md). So the backend links to a handful
// of simplego symbols (the executor tables, node creation, the buffer pool) with go:linkname
// and mirrors the layout of simplego.Node and simplego.Buffer. checkLayout verifies those
// mirrors field by field against the real types with reflection at start-up: if a GoMLX
// upgrade changes them, New fails with a clear error instead of corrupting memory.

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// sgExecutor is the signature of simplego's nodeExecutor.
type sgExecutor func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

//go:linkname sgNodeExecutors github.com/gomlx/gomlx/backends/simplego.nodeExecutors
var sgNodeExecutors [backends.OpTypeLast]sgExecutor

//go:linkname sgNewNode github.com/gomlx/gomlx/backends/simplego.(*Builder).newNode
func sgNewNode(b *simplego.Builder, opType backends.OpType, shape shapes.Shape, inputs ...*simplego.Node) *simplego.Node

//go:linkname sgGetBufferForShape github.com/gomlx/gomlx/backends/simplego.(*Backend).getBufferForShape
func sgGetBufferForShape(b *simplego.Backend, shape shapes.Shape) *simplego.Buffer

//go:linkname sgPutBuffer github.com/gomlx/gomlx/backends/simplego.(*Backend).putBuffer
func sgPutBuffer(b *simplego.Backend, buffer *simplego.Buffer)

// sgMultiExecutor is the signature of simplego's nodeMultiOutputExecutor.
type sgMultiExecutor func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) ([]*simplego.Buffer, error)

//go:linkname sgMultiOutputsNodeExecutors github.com/gomlx/gomlx/backends/simplego.multiOutputsNodeExecutors
var sgMultiOutputsNodeExecutors [backends.OpTypeLast]sgMultiExecutor

// nodeMirror has the memory layout of simplego.Node (GoMLX v0.26.0).
type nodeMirror struct {
	builderIdx         int
	inputs             []*simplego.Node
	opType             backends.OpType
	shape              shapes.Shape
	builder            *simplego.Builder
	multiOutputsShapes []shapes.Shape
	multiOutputsNodes  []*simplego.Node
	isNodeSelectOutput bool
	selectOutputIdx    int
	data               any
}

// bufferMirror has the memory layout of simplego.Buffer (GoMLX v0.26.0).
type bufferMirror struct {
	shape shapes.Shape
	valid bool
	flat  any
}

func nodeOf(n *simplego.Node) *nodeMirror       { return (*nodeMirror)(unsafe.Pointer(n)) }
func bufferOf(b *simplego.Buffer) *bufferMirror { return (*bufferMirror)(unsafe.Pointer(b)) }

// opNode returns op as a simplego node (every op of our builders is one).
func opNode(op backends.Op) *nodeMirror { return nodeOf(op.(*simplego.Node)) }

// opShape is the shape of a node made by our builder.
func opShape(op backends.Op) shapes.Shape { return opNode(op).shape }

// checkLayout compares the mirror types with simplego's, field by field.
func checkLayout() error {
	pairs := []struct{ real, mirror reflect.Type }{
		{reflect.TypeOf(simplego.Node{}), reflect.TypeOf(nodeMirror{})},
		{reflect.TypeOf(simplego.Buffer{}), reflect.TypeOf(bufferMirror{})},
	}
	for _, p := range pairs {
		if p.real.Size() != p.mirror.Size() || p.real.NumField() != p.mirror.NumField() {
			return fmt.Errorf("simplego.%s changed layout (size %d, %d fields; expected %d, %d): this backend supports GoMLX v0.26.0",
				p.real.Name(), p.real.Size(), p.real.NumField(), p.mirror.Size(), p.mirror.NumField())
		}
		for i := range p.real.NumField() {
			r, m := p.real.Field(i), p.mirror.Field(i)
			if r.Name != m.Name || r.Offset != m.Offset || r.Type != m.Type {
				return fmt.Errorf("simplego.%s field %d is %s %s at %d, expected %s %s at %d: this backend supports GoMLX v0.26.0",
					p.real.Name(), i, r.Name, r.Type, r.Offset, m.Name, m.Type, m.Offset)
			}
		}
	}
	return nil
}

// nativeOp is the data of a node that this package executes itself.
type nativeOp interface {
	// exec computes the node's output from its inputs' buffers.
	exec(be *simplego.Backend, node *nodeMirror, inputs []*bufferMirror) (*simplego.Buffer, error)
}

// hookedOps are the op types this package creates native nodes for. Every executor is
// wrapped: nodes carrying a nativeOp run ours, any other node (e.g. from a plain simplego
// builder) runs simplego's original executor; opTracer sees them all.
var hookedOps = []backends.OpType{
	backends.OpTypeDotGeneral, backends.OpTypeConvGeneral, backends.OpTypePad, backends.OpTypeReverse,
	backends.OpTypeSelectAndScatterMax, backends.OpTypeSelectAndScatterMin, backends.OpTypeReduceWindow,
	backends.OpTypeBroadcastInDim, backends.OpTypeReduceSum, backends.OpTypeTranspose,
	backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypeMax, backends.OpTypeMin, backends.OpTypeSign,
	backends.OpTypeExp, backends.OpTypeNeg, backends.OpTypeReduceMax, backends.OpTypeLog, backends.OpTypeLog1p,
	backends.OpTypeSqrt, backends.OpTypeRsqrt, backends.OpTypeSin, backends.OpTypeCos, backends.OpTypeAbs,
	backends.OpTypeTanh, backends.OpTypeExpm1, backends.OpTypeLogistic, backends.OpTypeSlice, backends.OpTypeConvertDType,
	backends.OpTypeBatchNormForTraining, backends.OpTypeBatchNormForInference, backends.OpTypeBatchNormGradient,
}

// opTracer, when set (by tests and benchmarks), is told the duration of every hooked op.
var opTracer atomic.Pointer[func(n *nodeMirror, d time.Duration)]

var (
	installOnce sync.Once
	installErr  error
)

// install checks the mirrors and wraps the executors once per process.
func install() error {
	installOnce.Do(func() {
		if installErr = checkLayout(); installErr != nil {
			return
		}
		for opType := range backends.OpTypeLast {
			original := sgNodeExecutors[opType]
			if original == nil && !slices.Contains(hookedOps, opType) {
				continue
			}
			sgNodeExecutors[opType] = func(be *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, error) {
				n := nodeOf(node)
				if tracer := opTracer.Load(); tracer != nil {
					start := time.Now()
					defer func() { (*tracer)(n, time.Since(start)) }()
				}
				if op, ok := n.data.(nativeOp); ok {
					mirrors := make([]*bufferMirror, len(inputs))
					for i, in := range inputs {
						mirrors[i] = bufferOf(in)
					}
					return op.exec(be, n, mirrors)
				}
				if original == nil {
					return nil, fmt.Errorf("op %s has no executor", opType)
				}
				return original(be, node, inputs, owned)
			}
		}
		if sgMultiOutputsNodeExecutors[backends.OpTypeRNGBitGenerator] == nil {
			installErr = fmt.Errorf("simplego has no RNGBitGenerator executor: this backend supports GoMLX v0.26.0")
			return
		}
		sgRNGOriginal = sgMultiOutputsNodeExecutors[backends.OpTypeRNGBitGenerator]
		sgMultiOutputsNodeExecutors[backends.OpTypeRNGBitGenerator] = execRNG
	})
	return installErr
}

// newNativeNode adds a node of opType computed by op to builder b.
func newNativeNode(b *simplego.Builder, opType backends.OpType, shape shapes.Shape, op nativeOp, inputs ...backends.Op) backends.Op {
	nodes := make([]*simplego.Node, len(inputs))
	for i, in := range inputs {
		nodes[i] = in.(*simplego.Node)
	}
	n := sgNewNode(b, opType, shape, nodes...)
	nodeOf(n).data = op
	return n
}

// newBuffer takes a buffer of shape from simplego's pool; its contents are arbitrary.
func newBuffer(be *simplego.Backend, shape shapes.Shape) (*simplego.Buffer, *bufferMirror) {
	buf := sgGetBufferForShape(be, shape)
	return buf, bufferOf(buf)
}

// flatOf returns the buffer's data as []T.
func flatOf[T any](b *bufferMirror) []T { return b.flat.([]T) }

// isFloat reports whether dtype is one of the float types the native ops compute in.
func isFloat(dtype dtypes.DType) bool { return dtype == dtypes.Float32 || dtype == dtypes.Float64 }
