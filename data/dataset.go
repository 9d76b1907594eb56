package data

import (
	"errors"
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
	// Shuffle draws a new order each epoch from (Seed, epoch) (see EpochOrder); false keeps
	// the set's order.
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

// EpochOrder is the order in which a shuffled dataset of n examples serves epoch (0-based)
// from seed: the one shuffle of the package, a function of (seed, epoch) alone, so that step
// k of a training run always sees the same examples and a resumed run reaches the weights of
// an uninterrupted one. (Its stream constant is the one every recorded run trained with.)
func EpochOrder(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch)+0xe90c)).Perm(n)
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
	b := &batcher{opts: opts, n: n}
	b.startEpoch(0)
	return b
}

// startEpoch resets the position and draws the epoch's order (EpochOrder).
func (b *batcher) startEpoch(epoch int) {
	b.epoch, b.pos = epoch, 0
	if b.opts.Shuffle {
		b.order = EpochOrder(b.opts.Seed, epoch, b.n)
		return
	}
	if b.order == nil {
		b.order = make([]int, b.n)
		for i := range b.order {
			b.order[i] = i
		}
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

// Dataset is the batch stream of an Examples set: each Yield gives inputs [B,H,W,C] float32
// (images, augmented and normalised as configured) or [B,MaxLen] int32 (token ids), and
// labels [B,1] int32, the shape losses.SparseCategoricalCrossEntropyLogits expects. The same
// type serves a run's training batches (shuffled, endless, seekable by step) and its
// evaluation sets (in order, once per Reset). It implements train.Dataset; it is not safe
// for concurrent use.
type Dataset struct {
	ex        *Examples
	opts      BatchOptions
	b         *batcher
	augment   *Augment
	normalize *Normalization
	progress  func(batch, batches int)
}

var _ train.Dataset = (*Dataset)(nil)

// NewDataset returns the batch stream of ex. augment and normalize may be nil and apply to
// image sets only: augment is meant for the training split, normalize for every split
// (with the training split's statistics).
func NewDataset(ex *Examples, opts BatchOptions, augment *Augment, normalize *Normalization) (*Dataset, error) {
	if err := ex.validate(); err != nil {
		return nil, err
	}
	if err := opts.validate(ex.N()); err != nil {
		return nil, fmt.Errorf("%s: %w", ex.Name, err)
	}
	if (augment != nil || normalize != nil) && ex.IsText() {
		return nil, fmt.Errorf("%s: augmentation and normalisation apply to images, and this set is text", ex.Name)
	}
	if augment != nil {
		if err := augment.validate(ex.Dims[0], ex.Dims[1]); err != nil {
			return nil, fmt.Errorf("%s: %w", ex.Name, err)
		}
	}
	if normalize != nil {
		if err := normalize.validate(ex.Dims[2]); err != nil {
			return nil, fmt.Errorf("%s: %w", ex.Name, err)
		}
	}
	return &Dataset{ex: ex, opts: opts, b: newBatcher(ex.N(), opts), augment: augment, normalize: normalize}, nil
}

// NewImageDataset is NewDataset over an image set, checked by Images.Validate.
func NewImageDataset(m *Images, opts BatchOptions, augment *Augment, normalize *Normalization) (*Dataset, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return NewDataset(m.Examples(), opts, augment, normalize)
}

// NewTextDataset tokenizes x with tok and returns its batch stream.
func NewTextDataset(x *Text, tok *Tokenizer, opts BatchOptions) (*Dataset, error) {
	if x.N() == 0 || len(x.Y) != x.N() {
		return nil, fmt.Errorf("%s: %d sentences and %d labels", x.Name, x.N(), len(x.Y))
	}
	return NewDataset(tok.Examples(x), opts, nil, nil)
}

// Name returns the set's name.
func (d *Dataset) Name() string { return d.ex.Name }

// Examples returns the set the stream serves (not a copy).
func (d *Dataset) Examples() *Examples { return d.ex }

// Reset starts the next epoch (a new shuffled order when shuffling).
func (d *Dataset) Reset() { d.b.startEpoch(d.b.epoch + 1) }

// SetEpoch restarts at the beginning of the given epoch.
func (d *Dataset) SetEpoch(epoch int) { d.b.startEpoch(epoch) }

// Seek positions the stream so that the next batch is batch number step (0-based) counted
// from the first of epoch 0: epoch step/NumBatches, batch step%NumBatches within it. A
// resumed training run seeks to its global step.
func (d *Dataset) Seek(step int) {
	d.b.startEpoch(step / d.NumBatches())
	d.b.pos = step % d.NumBatches() * d.opts.BatchSize
}

// Epoch returns the current epoch number (0 for the first).
func (d *Dataset) Epoch() int { return d.b.epoch }

// NumBatches returns the number of batches in one epoch.
func (d *Dataset) NumBatches() int { return d.b.numBatches() }

// OnBatch makes the stream tell fn of each batch it serves (1-based within the epoch) and
// how many the epoch has: a progress line for long evaluations.
func (d *Dataset) OnBatch(fn func(batch, batches int)) { d.progress = fn }

// Head returns a stream over the first n examples (all when n ≤ 0) in order, in batches of
// at most batch examples, once per Reset, and the number of examples it serves: a fixed
// evaluation subset whose batches do not depend on this stream's batch size.
func (d *Dataset) Head(n, batch int) (train.Dataset, int, error) {
	h := d.ex.Head(n)
	ds, err := NewDataset(h, BatchOptions{BatchSize: batch}, nil, d.normalize)
	if err != nil {
		return nil, 0, err
	}
	return ds, h.N(), nil
}

// NextBatch returns the next batch of an image set on the host: x is B×H×W×C (augmented
// and normalised as configured), y its labels. At the end of a finite epoch it returns io.EOF.
func (d *Dataset) NextBatch() (x []float32, y []int32, err error) {
	if d.ex.IsText() {
		return nil, nil, errors.New(d.ex.Name + ": NextBatch serves images; this set is text (use Yield)")
	}
	idx, rng, err := d.next()
	if err != nil {
		return nil, nil, err
	}
	m := d.ex
	h, w, c := m.Dims[0], m.Dims[1], m.Dims[2]
	s := m.Dim()
	x = make([]float32, len(idx)*s)
	for j, i := range idx {
		dst := x[j*s : (j+1)*s]
		if d.augment != nil {
			d.augment.cropFlip(dst, m.X[i*s:(i+1)*s], h, w, c, rng)
		} else {
			copy(dst, m.X[i*s:(i+1)*s])
		}
		if d.normalize != nil {
			d.normalize.apply(dst, c)
		}
		if d.augment != nil {
			d.augment.cutout(dst, h, w, c, rng)
		}
	}
	return x, d.labels(idx), nil
}

// next is the batcher's next batch, reported to the OnBatch function.
func (d *Dataset) next() ([]int, *rand.Rand, error) {
	idx, rng, err := d.b.next()
	if err == nil && d.progress != nil {
		d.progress((d.b.pos+d.opts.BatchSize-1)/d.opts.BatchSize, d.NumBatches())
	}
	return idx, rng, err
}

func (d *Dataset) labels(idx []int) []int32 {
	y := make([]int32, len(idx))
	for j, i := range idx {
		y[j] = d.ex.Y[i]
	}
	return y
}

// Yield implements train.Dataset: spec is nil, inputs [B,H,W,C] float32 or [B,MaxLen]
// int32, labels [B,1] int32.
func (d *Dataset) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	if !d.ex.IsText() {
		x, y, err := d.NextBatch()
		if err != nil {
			return nil, nil, nil, err
		}
		dims := append([]int{len(y)}, d.ex.Dims...)
		return nil, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, dims...)},
			[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, len(y), 1)}, nil
	}
	idx, _, err := d.next()
	if err != nil {
		return nil, nil, nil, err
	}
	L := d.ex.Dim()
	ids := make([]int32, len(idx)*L)
	for j, i := range idx {
		copy(ids[j*L:(j+1)*L], d.ex.IDs[i*L:(i+1)*L])
	}
	return nil, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ids, len(idx), L)},
		[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(d.labels(idx), len(idx), 1)}, nil
}
