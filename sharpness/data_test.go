package sharpness

import (
	"errors"
	"io"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// countingDataset yields batches of at most b of its n examples: x[i] = (i, −i) float32,
// y[i] = i int32.
type countingDataset struct{ b, n, pos int }

func (d *countingDataset) Name() string { return "counting" }
func (d *countingDataset) Reset()       { d.pos = 0 }
func (d *countingDataset) Yield() (any, []*tensors.Tensor, []*tensors.Tensor, error) {
	if d.pos >= d.n {
		return nil, nil, nil, io.EOF
	}
	size := min(d.b, d.n-d.pos)
	x, y := make([]float32, 0, 2*size), make([]int32, 0, size)
	for i := d.pos; i < d.pos+size; i++ {
		x = append(x, float32(i), -float32(i))
		y = append(y, int32(i))
	}
	d.pos += size
	return nil, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, size, 2)}, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, size, 1)}, nil
}

// countingSource is a Source over n counting examples, as data.Dataset.Head serves them.
type countingSource struct {
	n   int
	err error
}

func (s countingSource) Head(n, batch int) (train.Dataset, int, error) {
	if n <= 0 || n > s.n {
		n = s.n
	}
	ds := &countingDataset{b: batch, n: n, pos: n} // at its end: batchesOf must Reset first
	return ds, n, s.err
}

// TestBatchesOf: the first n examples, in order, in the requested batch size.
func TestBatchesOf(t *testing.T) {
	src := countingSource{n: 15}
	for _, c := range []struct{ n, batch, got int }{{12, 4, 12}, {0, 4, 15}, {7, 100, 7}, {40, 6, 15}} {
		bs, err := batchesOf(src, c.n, c.batch)
		if err != nil {
			t.Fatal(err)
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
		if len(ys) != c.got {
			t.Fatalf("n=%d: %d examples, want %d", c.n, len(ys), c.got)
		}
		for i := range c.got {
			if ys[i] != int32(i) || xs[2*i] != float32(i) || xs[2*i+1] != -float32(i) {
				t.Fatalf("n=%d: example %d is (%v, %v), y=%v", c.n, i, xs[2*i], xs[2*i+1], ys[i])
			}
		}
	}
	if _, err := batchesOf(src, 3, 0); err == nil {
		t.Error("batch size 0 accepted")
	}
	if _, err := batchesOf(countingSource{}, 3, 2); err == nil {
		t.Error("an empty data set gave no error")
	}
	bad := errors.New("no such set")
	if _, err := batchesOf(countingSource{n: 4, err: bad}, 3, 2); !errors.Is(err, bad) {
		t.Errorf("the source's error: %v", err)
	}
}
