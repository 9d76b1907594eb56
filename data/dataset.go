package data

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// BatchOptions configures how a dataset is cut into batches.
type BatchOptions struct {
	// BatchSize is the number of examples per batch (required, positive).
	BatchSize int
	// Shuffle draws a new order each epoch from (Seed, epoch); false keeps file order.
	Shuffle bool
	// Seed seeds shuffling and augmentation: the same seed gives the same batches.
	Seed uint64
	// DropLast drops the last, smaller batch of an epoch. When false that batch is yielded
	// with its smaller size (GoMLX then compiles a second graph for that shape).
	DropLast bool
	// Loop makes the dataset endless: at the end of an epoch the next one starts instead of
	// returning io.EOF (use with train.Loop.RunSteps, never with RunEpochs).
	Loop bool
}

func (o *BatchOptions) validate(n int) error {
	if o.BatchSize <= 0 {
		return fmt.Errorf("batch size %d: must be positive", o.BatchSize)
	}
	if o.DropLast && o.BatchSize > n {
		return fmt.Errorf("batch size %d is larger than the %d examples and DropLast is set: no batch would be yielded; lower the batch size", o.BatchSize, n)
	}
	return nil
}

// batcher walks example indices epoch by epoch in a seeded order.
type batcher struct {
	opts  BatchOptions
	n     int
	epoch int
	pos   int
	order []int
}

func newBatcher(n int, opts BatchOptions) *batcher {
	b := &batcher{opts: opts, n: n, order: make([]int, n)}
	b.startEpoch(0)
	return b
}

// startEpoch resets the position and draws the epoch's order from (Seed, epoch).
func (b *batcher) startEpoch(epoch int) {
	b.epoch, b.pos = epoch, 0
	for i := range b.order {
		b.order[i] = i
	}
	if b.opts.Shuffle {
		rng := rand.New(rand.NewPCG(b.opts.Seed, uint64(epoch)))
		rng.Shuffle(b.n, func(i, j int) { b.order[i], b.order[j] = b.order[j], b.order[i] })
	}
}

// next returns the indices of the next batch and a generator for its augmentation
// (seeded by Seed, epoch and the batch's position), or io.EOF at the end of the epoch.
func (b *batcher) next() ([]int, *rand.Rand, error) {
	remaining := b.n - b.pos
	if remaining == 0 || (b.opts.DropLast && remaining < b.opts.BatchSize) {
		if !b.opts.Loop {
			return nil, nil, io.EOF
		}
		b.startEpoch(b.epoch + 1)
		remaining = b.n
	}
	size := min(b.opts.BatchSize, remaining)
	idx := b.order[b.pos : b.pos+size]
	rng := rand.New(rand.NewPCG(b.opts.Seed^0x9e3779b97f4a7c15, uint64(b.epoch)<<32|uint64(b.pos)))
	b.pos += size
	return idx, rng, nil
}

// numBatches is the number of batches of one epoch.
func (b *batcher) numBatches() int {
	if b.opts.DropLast {
		return b.n / b.opts.BatchSize
	}
	return (b.n + b.opts.BatchSize - 1) / b.opts.BatchSize
}

// ImageDataset serves an image set to GoMLX: each Yield gives inputs [B,H,W,C] float32
// and labels [B,1] int32. It implements train.Dataset. Not safe for concurrent use.
type ImageDataset struct {
	images    *Images
	b         *batcher
	augment   *Augment
	normalize *Normalization
}

var _ train.Dataset = (*ImageDataset)(nil)

// NewImageDataset returns a dataset over m. augment and normalize may be nil; augment is
// meant for the training split only, normalize for every split (with the training
// split's statistics).
func NewImageDataset(m *Images, opts BatchOptions, augment *Augment, normalize *Normalization) (*ImageDataset, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := opts.validate(m.N); err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	if augment != nil {
		if err := augment.validate(m.Height, m.Width); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	if normalize != nil {
		if err := normalize.validate(m.Channels); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return &ImageDataset{images: m, b: newBatcher(m.N, opts), augment: augment, normalize: normalize}, nil
}

// Name returns the image set's name.
func (d *ImageDataset) Name() string { return d.images.Name }

// Reset starts the next epoch (a new shuffled order when shuffling).
func (d *ImageDataset) Reset() { d.b.startEpoch(d.b.epoch + 1) }

// SetEpoch restarts at the beginning of the given epoch, e.g. when resuming training.
func (d *ImageDataset) SetEpoch(epoch int) { d.b.startEpoch(epoch) }

// Epoch returns the current epoch number (0 for the first).
func (d *ImageDataset) Epoch() int { return d.b.epoch }

// NumBatches returns the number of batches in one epoch.
func (d *ImageDataset) NumBatches() int { return d.b.numBatches() }

// NextBatch returns the next batch on the host: x is B×H×W×C (augmented and normalised as
// configured), y its labels. At the end of a finite epoch it returns io.EOF.
func (d *ImageDataset) NextBatch() (x []float32, y []int32, err error) {
	idx, rng, err := d.b.next()
	if err != nil {
		return nil, nil, err
	}
	m := d.images
	s := m.ImageSize()
	x = make([]float32, len(idx)*s)
	y = make([]int32, len(idx))
	for j, i := range idx {
		dst := x[j*s : (j+1)*s]
		if d.augment != nil {
			d.augment.cropFlip(dst, m.Image(i), m.Height, m.Width, m.Channels, rng)
		} else {
			copy(dst, m.Image(i))
		}
		if d.normalize != nil {
			d.normalize.apply(dst, m.Channels)
		}
		if d.augment != nil {
			d.augment.cutout(dst, m.Height, m.Width, m.Channels, rng)
		}
		y[j] = m.Y[i]
	}
	return x, y, nil
}

// Yield implements train.Dataset: spec is nil, inputs [B,H,W,C] float32, labels [B,1]
// int32.
func (d *ImageDataset) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	x, y, err := d.NextBatch()
	if err != nil {
		return nil, nil, nil, err
	}
	m := d.images
	b := len(y)
	inputs = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, b, m.Height, m.Width, m.Channels)}
	labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, b, 1)}
	return nil, inputs, labels, nil
}
