package tensorfloat

import (
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestFloat64s(t *testing.T) {
	for _, tc := range []struct {
		t    *tensors.Tensor
		want []float64
	}{
		{tensors.FromValue(float32(0.5)), []float64{0.5}},
		{tensors.FromValue(2.25), []float64{2.25}},
		{tensors.FromValue([]float32{1, -3.5}), []float64{1, -3.5}},
		{tensors.FromValue([][]float64{{1, 2}, {3, 4}}), []float64{1, 2, 3, 4}},
	} {
		got, err := Float64s(tc.t)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Float64s(%s) = %v, %v; want %v", tc.t.Shape(), got, err, tc.want)
		}
	}
	if _, err := Float64s(tensors.FromValue([]int32{1})); err == nil || !strings.Contains(err.Error(), "Int32") {
		t.Errorf("an int32 tensor: %v", err)
	}
}
