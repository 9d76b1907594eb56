package run

import (
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/data"
)

// trainStream is the endless stream of training batches of a run, positioned by step:
// data.Dataset, shuffled by data.EpochOrder from the run's seed.
type trainStream interface {
	train.Dataset
	// Seek positions the stream so that the next Yield is global step `step` (0-based).
	Seek(step int)
	// NumBatches is the number of batches in one pass over the training set.
	NumBatches() int
}

// timedStream notes when each batch was handed to the loop: the start of its step.
type timedStream struct {
	trainStream
	yielded time.Time
}

func (t *timedStream) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	spec, inputs, labels, err = t.trainStream.Yield()
	t.yielded = time.Now()
	return spec, inputs, labels, err
}

// newTrainStream returns the training stream of cfg over ex: shuffled batches in an order
// that depends only on (seed, epoch), so that step k of the run always sees the same
// examples (what makes a resumed run reach the same weights as an uninterrupted one), the
// last partial batch of each epoch dropped so every step has the same shape (one compiled
// graph); with -augment, random crops and flips drawn from (seed, epoch, position).
func newTrainStream(cfg Config, ex *data.Examples) (trainStream, error) {
	var aug *data.Augment
	if cfg.Augment {
		if ex.IsText() {
			return nil, inputErrorf("augment", "applies to image data sets; %s is text", cfg.Data)
		}
		aug = &data.Augment{CropPadding: augmentPadding, Flip: true}
	}
	opts := data.BatchOptions{BatchSize: cfg.Batch, Shuffle: true, Seed: uint64(cfg.Seed), DropLast: true, Loop: true}
	d, err := data.NewDataset(ex, opts, aug, nil)
	if err != nil {
		return nil, inputErrorf("data", "%v", err)
	}
	return d, nil
}

// augmentPadding is the zero padding of -augment's random crop (the CIFAR recipe).
const augmentPadding = 4

// evalStream serves ex once per Reset, in order, in batches of evalBatch (the last one may
// be smaller).
func evalStream(ex *data.Examples) (*data.Dataset, error) {
	d, err := data.NewDataset(ex, data.BatchOptions{BatchSize: evalBatch}, nil, nil)
	if err != nil {
		return nil, inputErrorf("data", "%v", err)
	}
	return d, nil
}
