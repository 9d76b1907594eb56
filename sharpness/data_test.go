package sharpness

import (
	"io"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// countingDataset yields nb batches of b examples: x[i] = (i, −i) float32, y[i] = i int32.
type countingDataset struct{ b, nb, pos int }

func (d *countingDataset) Name() string { return "counting" }
func (d *countingDataset) Reset()       { d.pos = 0 }
func (d *countingDataset) Yield() (any, []*tensors.Tensor, []*tensors.Tensor, error) {
	if d.pos >= d.b*d.nb {
		return nil, nil, nil, io.EOF
	}
	x, y := make([]float32, 0, 2*d.b), make([]int32, 0, d.b)
	for i := d.pos; i < d.pos+d.b; i++ {
		x = append(x, float32(i), -float32(i))
		y = append(y, int32(i))
	}
	d.pos += d.b
	return nil, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, d.b, 2)}, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, d.b, 1)}, nil
}

// TestBatchesFrom: the first n examples, in order, re-cut into the requested batch size.
func TestBatchesFrom(t *testing.T) {
	ds := &countingDataset{b: 5, nb: 3}
	ds.Yield() // BatchesFrom must Reset first
	for _, c := range []struct{ n, batch, got int }{{12, 4, 12}, {0, 4, 15}, {7, 100, 7}, {40, 6, 15}} {
		bs, got, err := BatchesFrom(ds, c.n, c.batch)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.got {
			t.Errorf("n=%d: read %d examples, want %d", c.n, got, c.got)
		}
		var ys []int32
		var xs []float32
		for i, b := range bs {
			size := b.Inputs[0].Shape().Dimensions[0]
			if size > c.batch || (i < len(bs)-1 && size != c.batch) {
				t.Errorf("n=%d batch=%d: batch %d has %d examples", c.n, c.batch, i, size)
			}
			y, _ := tensors.CopyFlatData[int32](b.Labels[0])
			x, _ := tensors.CopyFlatData[float32](b.Inputs[0])
			ys, xs = append(ys, y...), append(xs, x...)
		}
		for i := range c.got {
			if ys[i] != int32(i) || xs[2*i] != float32(i) || xs[2*i+1] != -float32(i) {
				t.Fatalf("n=%d: example %d is (%v, %v), y=%v", c.n, i, xs[2*i], xs[2*i+1], ys[i])
			}
		}
		if len(ys) != c.got {
			t.Errorf("n=%d: %d labels", c.n, len(ys))
		}
	}
	if _, _, err := BatchesFrom(ds, 3, 0); err == nil {
		t.Error("batch size 0 accepted")
	}
	if _, _, err := BatchesFrom(&countingDataset{b: 2}, 3, 2); err == nil {
		t.Error("an empty data set gave no error")
	}
}
