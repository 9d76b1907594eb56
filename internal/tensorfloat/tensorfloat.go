// Package tensorfloat reads a float32 or float64 tensor's values on the host as float64, the
// one conversion sam's statistics and sharpness's parameter vectors both need.
package tensorfloat

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Float64s returns a copy of t's values (one for a scalar) as float64; t must be float32 or
// float64.
func Float64s(t *tensors.Tensor) ([]float64, error) {
	switch t.DType() {
	case dtypes.Float64:
		return tensors.CopyFlatData[float64](t)
	case dtypes.Float32:
		f, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(f))
		for i, x := range f {
			out[i] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("a tensor of dtype %s is not float32 or float64", t.DType())
}
