package sharpness

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// BatchesFrom reads the first n examples of ds (after a Reset; n ≤ 0 means all) and re-cuts
// them into batches of at most batch examples, so that the fixed evaluation subset does not
// depend on the batch size the data set serves. Every input and label tensor must have the
// example as its leading axis. It returns the batches and the number of examples read (less
// than n when ds runs out).
func BatchesFrom(ds train.Dataset, n, batch int) ([]Batch, int, error) {
	if batch < 1 {
		return nil, 0, fmt.Errorf("sharpness: batch size %d; use at least 1", batch)
	}
	ds.Reset()
	var cols [][]byte        // one byte buffer per input, then per label
	var kinds []shapes.Shape // shape of each column in the first batch
	var nIn, got int
	for n <= 0 || got < n {
		_, inputs, labels, err := ds.Yield()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, got, fmt.Errorf("sharpness: reading %s: %w", ds.Name(), err)
		}
		ts := append(append([]*tensors.Tensor{}, inputs...), labels...)
		if cols == nil {
			cols, nIn = make([][]byte, len(ts)), len(inputs)
			for _, t := range ts {
				kinds = append(kinds, t.Shape())
			}
		} else if len(ts) != len(cols) || len(inputs) != nIn {
			return nil, got, fmt.Errorf("sharpness: %s changed its number of inputs or labels between batches", ds.Name())
		}
		b, err := batchSize(ts)
		if err != nil {
			return nil, got, err
		}
		take := b
		if n > 0 {
			take = min(b, n-got)
		}
		for i, t := range ts {
			if !sameExampleShape(t.Shape(), kinds[i]) {
				return nil, got, fmt.Errorf("sharpness: %s: tensor %d changed from %s to %s between batches", ds.Name(), i, kinds[i], t.Shape())
			}
			if err := t.ConstBytes(func(data []byte) {
				cols[i] = append(cols[i], data[:len(data)/b*take]...)
			}); err != nil {
				return nil, got, err
			}
		}
		got += take
	}
	if got == 0 {
		return nil, 0, fmt.Errorf("sharpness: %s yielded no examples", ds.Name())
	}
	return cut(cols, kinds, nIn, got, batch), got, nil
}

// batchSize is the common leading dimension of ts.
func batchSize(ts []*tensors.Tensor) (int, error) {
	b := -1
	for _, t := range ts {
		if t.Shape().Rank() == 0 {
			return 0, errors.New("sharpness: a data set yielded a scalar tensor; inputs and labels need a leading example axis")
		}
		if d := t.Shape().Dimensions[0]; b < 0 {
			b = d
		} else if d != b {
			return 0, fmt.Errorf("sharpness: inputs and labels of one batch disagree on its size (%d vs %d)", b, d)
		}
	}
	return b, nil
}

// sameExampleShape compares dtype and all but the leading (example) axis.
func sameExampleShape(a, b shapes.Shape) bool {
	return a.DType == b.DType && a.Rank() == b.Rank() && slices.Equal(a.Dimensions[1:], b.Dimensions[1:])
}

// cut splits the concatenated example bytes into batches of at most batch examples.
func cut(cols [][]byte, kinds []shapes.Shape, nIn, total, batch int) []Batch {
	var out []Batch
	for start := 0; start < total; start += batch {
		size := min(batch, total-start)
		var b Batch
		for i, col := range cols {
			row := len(col) / total
			dims := append([]int{size}, kinds[i].Dimensions[1:]...)
			t := tensors.FromShape(shapes.Make(kinds[i].DType, dims...))
			// MutableBytes only fails on a finalized tensor, and t was just made.
			_ = t.MutableBytes(func(data []byte) { copy(data, col[start*row:(start+size)*row]) })
			if i < nIn {
				b.Inputs = append(b.Inputs, t)
			} else {
				b.Labels = append(b.Labels, t)
			}
		}
		out = append(out, b)
	}
	return out
}
