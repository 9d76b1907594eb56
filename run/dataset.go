package run

import (
	"io"
	"math/rand/v2"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/data"
)

// trainStream is the endless stream of training batches of a run, positioned by step.
type trainStream interface {
	train.Dataset
	// seek positions the stream so that the next Yield is global step `step` (0-based).
	seek(step int)
	// stepsPerEpoch is the number of batches in one pass over the training set.
	stepsPerEpoch() int
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

// newTrainStream returns the training stream of cfg over ex: augmented batches from the
// data package with -augment, plain shuffled batches otherwise.
func newTrainStream(cfg Config, ex *examples) (trainStream, error) {
	if !cfg.Augment {
		return newTrainBatches(ex, cfg.Batch, cfg.Seed), nil
	}
	if ex.ids != nil {
		return nil, inputErrorf("augment", "applies to image data sets; %s is text", cfg.Data)
	}
	imgs := &data.Images{Name: ex.name, X: ex.x, Y: ex.y, N: ex.n(), Height: ex.dims[0], Width: ex.dims[1],
		Channels: ex.dims[2], NumClasses: ex.classes}
	opts := data.BatchOptions{BatchSize: cfg.Batch, Shuffle: true, Seed: uint64(cfg.Seed), DropLast: true, Loop: true}
	d, err := data.NewImageDataset(imgs, opts, &data.Augment{CropPadding: augmentPadding, Flip: true}, nil)
	if err != nil {
		return nil, inputErrorf("augment", "%v", err)
	}
	return &augmentedBatches{ImageDataset: d}, nil
}

// augmentPadding is the zero padding of -augment's random crop (the CIFAR recipe).
const augmentPadding = 4

// augmentedBatches is data.ImageDataset with random crops and flips. Its order and its
// augmentation draws depend only on (seed, epoch, position in the epoch).
type augmentedBatches struct {
	*data.ImageDataset
}

func (a *augmentedBatches) stepsPerEpoch() int { return a.NumBatches() }

func (a *augmentedBatches) seek(step int) {
	a.SetEpoch(step / a.stepsPerEpoch())
	for range step % a.stepsPerEpoch() {
		a.NextBatch() // cheap next to a training step; only resuming skips batches
	}
}

// trainBatches serves shuffled mini-batches forever, in an order that depends only on
// (seed, epoch): step k of the run always sees the same examples, which is what makes a
// resumed run reach the same weights as an uninterrupted one. The last partial batch of
// each epoch is dropped so every step has the same shape (one compiled graph).
type trainBatches struct {
	ex     *examples
	batch  int
	seed   int64
	epoch  int
	pos    int // next batch within the epoch
	perm   []int
	xBuf   []float32
	yBuf   []int32
	yields int
}

func newTrainBatches(ex *examples, batch int, seed int64) *trainBatches {
	return &trainBatches{ex: ex, batch: batch, seed: seed, epoch: -1}
}

// stepsPerEpoch is the number of full batches in one pass over the training set.
func (d *trainBatches) stepsPerEpoch() int { return d.ex.n() / d.batch }

// seek positions the stream so that the next Yield is global step `step` (0-based).
func (d *trainBatches) seek(step int) {
	d.setEpoch(step / d.stepsPerEpoch())
	d.pos = step % d.stepsPerEpoch()
}

func (d *trainBatches) setEpoch(epoch int) {
	d.epoch = epoch
	d.pos = 0
	d.perm = rand.New(rand.NewPCG(uint64(d.seed), uint64(epoch)+0xe90c)).Perm(d.ex.n())
}

// Name implements train.Dataset.
func (d *trainBatches) Name() string { return d.ex.name }

// Reset implements train.Dataset; the stream is endless, so it only rewinds to step 0.
func (d *trainBatches) Reset() { d.seek(0) }

// Yield implements train.Dataset.
func (d *trainBatches) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	if d.epoch < 0 || d.pos >= d.stepsPerEpoch() {
		d.setEpoch(d.epoch + 1)
	}
	idx := d.perm[d.pos*d.batch : (d.pos+1)*d.batch]
	d.pos++
	d.yields++
	x, y := gather(d.ex, idx, &d.xBuf, &d.yBuf)
	return nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}, nil
}

// evalBatches serves a set once, in order, in batches (the last one may be smaller).
type evalBatches struct {
	ex    *examples
	batch int
	pos   int
	xBuf  []float32
	yBuf  []int32
	// onBatch, when set, is told of each batch served (1-based) and how many there are.
	onBatch func(set string, batch, batches int)
}

// Name implements train.Dataset.
func (d *evalBatches) Name() string { return d.ex.name }

// Reset implements train.Dataset.
func (d *evalBatches) Reset() { d.pos = 0 }

// Yield implements train.Dataset.
func (d *evalBatches) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	n := d.ex.n()
	if d.pos >= n {
		return nil, nil, nil, io.EOF
	}
	end := min(d.pos+d.batch, n)
	idx := make([]int, 0, end-d.pos)
	for i := d.pos; i < end; i++ {
		idx = append(idx, i)
	}
	d.pos = end
	if d.onBatch != nil {
		d.onBatch(d.ex.name, (end+d.batch-1)/d.batch, (n+d.batch-1)/d.batch)
	}
	x, y := gather(d.ex, idx, &d.xBuf, &d.yBuf)
	return nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}, nil
}

// gather copies examples idx into tensors [B, dims...] (float32 images or int32 token
// ids) and [B, 1] int32 labels.
func gather(ex *examples, idx []int, xBuf *[]float32, yBuf *[]int32) (*tensors.Tensor, *tensors.Tensor) {
	d := ex.dim()
	dims := append([]int{len(idx)}, ex.dims...)
	*yBuf = (*yBuf)[:0]
	for _, i := range idx {
		*yBuf = append(*yBuf, ex.y[i])
	}
	y := tensors.FromFlatDataAndDimensions(*yBuf, len(idx), 1)
	if ex.ids != nil {
		ids := make([]int32, 0, len(idx)*d)
		for _, i := range idx {
			ids = append(ids, ex.ids[i*d:(i+1)*d]...)
		}
		return tensors.FromFlatDataAndDimensions(ids, dims...), y
	}
	*xBuf = (*xBuf)[:0]
	for _, i := range idx {
		*xBuf = append(*xBuf, ex.x[i*d:(i+1)*d]...)
	}
	return tensors.FromFlatDataAndDimensions(*xBuf, dims...), y
}
