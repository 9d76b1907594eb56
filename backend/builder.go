package backend

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Builder is simplego's Builder with the ops of this package overriding or adding to its own.
type Builder struct {
	*simplego.Builder
	backend *Backend
}

// scalar returns a constant scalar of dtype (float32 or float64).
func (b *Builder) scalar(dtype dtypes.DType, v float64) (backends.Op, error) {
	if dtype == dtypes.Float64 {
		return b.Constant([]float64{v})
	}
	return b.Constant([]float32{float32(v)})
}

// Compile implements backends.Builder. Rewrites here can make two outputs the same node
// (x and x·1, say), which simplego rejects: repeated outputs get an Identity node each.
func (b *Builder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	seen := make(map[backends.Op]bool, len(outputs))
	outs := slices.Clone(outputs)
	for i, op := range outs {
		if seen[op] {
			id, err := b.Builder.Identity(op)
			if err != nil {
				return nil, err
			}
			outs[i] = id
		}
		seen[op] = true
	}
	fuseElementwise(outs)
	return b.Builder.Compile(outs, shardings)
}
