package sharpness

import (
	"errors"
	"fmt"
	"io"

	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Source is a data set that serves its first n examples (all when n ≤ 0), in order, in
// batches of at most batch examples, and says how many it serves: data.Dataset.Head, the
// stream a run evaluates its sets with. The measurements take a fixed evaluation subset
// whose batches do not depend on the batch size the run evaluates with.
type Source interface {
	Head(n, batch int) (train.Dataset, int, error)
}

// batchesOf reads the first n examples of src in batches of at most batch examples.
func batchesOf(src Source, n, batch int) ([]Batch, error) {
	if batch < 1 {
		return nil, fmt.Errorf("sharpness: batch size %d; use at least 1", batch)
	}
	ds, got, err := src.Head(n, batch)
	if err != nil {
		return nil, fmt.Errorf("sharpness: %w", err)
	}
	if got == 0 {
		return nil, fmt.Errorf("sharpness: %s has no examples", ds.Name())
	}
	ds.Reset()
	var out []Batch
	for {
		_, inputs, labels, err := ds.Yield()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sharpness: reading %s: %w", ds.Name(), err)
		}
		out = append(out, Batch{Inputs: inputs, Labels: labels})
	}
}
