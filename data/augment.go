package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Augment describes the per-example transformations of the standard CIFAR recipe. They
// run on the host, in Go, when a batch is assembled, drawn from a generator seeded by
// (dataset seed, epoch), so the same seed gives the same augmented batches.
//
// Order: random crop with zero padding, horizontal flip, normalisation, Cutout.
type Augment struct {
	// CropPadding pads each side with this many zero pixels and crops a random window of
	// the original size (4 for CIFAR); 0 disables cropping.
	CropPadding int
	// Flip mirrors each image left-right with probability 1/2.
	Flip bool
	// CutoutSize zeroes a random CutoutSize×CutoutSize square (clipped at the border,
	// centre anywhere in the image), after normalisation, as in DeVries & Taylor 2017; 0
	// disables it.
	CutoutSize int
}

// Normalization subtracts a per-channel mean and divides by a per-channel standard
// deviation. Compute it from the training split with ChannelStats and use the same values
// for validation and test.
type Normalization struct {
	Mean, Std []float32
}

// ChannelStats returns the per-channel mean and standard deviation of all pixels of m
// (accumulated in float64).
func ChannelStats(m *Images) Normalization { return channelStats(m.X, m.Channels) }

// ChannelStats is the package function ChannelStats of an image set's examples (channels
// last, the last of Dims).
func (e *Examples) ChannelStats() Normalization { return channelStats(e.X, e.Dims[len(e.Dims)-1]) }

func channelStats(x []float32, c int) Normalization {
	sum := make([]float64, c)
	sq := make([]float64, c)
	for i, v := range x {
		sum[i%c] += float64(v)
		sq[i%c] += float64(v) * float64(v)
	}
	n := float64(len(x) / c)
	out := Normalization{Mean: make([]float32, c), Std: make([]float32, c)}
	for k := range c {
		mean := sum[k] / n
		out.Mean[k] = float32(mean)
		out.Std[k] = float32(math.Sqrt(math.Max(sq[k]/n-mean*mean, 0)))
	}
	return out
}

func (n *Normalization) validate(channels int) error {
	if len(n.Mean) != channels || len(n.Std) != channels {
		return fmt.Errorf("normalization has %d means and %d deviations for %d channels", len(n.Mean), len(n.Std), channels)
	}
	for k, s := range n.Std {
		if !(s > 0) {
			return fmt.Errorf("normalization: standard deviation of channel %d is %v, must be positive", k, s)
		}
	}
	return nil
}

// Apply normalises x in place, (x − Mean)/Std per channel, for channel-last pixels of the
// given number of channels (any number of images). It refuses a normalisation whose sizes
// do not match or whose deviations are not positive.
func (n *Normalization) Apply(x []float32, channels int) error {
	if err := n.validate(channels); err != nil {
		return err
	}
	n.apply(x, channels)
	return nil
}

func (n *Normalization) apply(img []float32, channels int) {
	for i := range img {
		k := i % channels
		img[i] = (img[i] - n.Mean[k]) / n.Std[k]
	}
}

func (a *Augment) validate(h, w int) error {
	if a.CropPadding < 0 || a.CutoutSize < 0 {
		return fmt.Errorf("augment: CropPadding=%d and CutoutSize=%d must not be negative", a.CropPadding, a.CutoutSize)
	}
	if a.CropPadding > h || a.CropPadding > w {
		return fmt.Errorf("augment: CropPadding=%d exceeds the image size %dx%d", a.CropPadding, h, w)
	}
	return nil
}

// cropFlip writes into dst (H×W×C) a crop of src padded by a.CropPadding, optionally
// mirrored. rng draws the offsets and the flip.
func (a *Augment) cropFlip(dst, src []float32, h, w, c int, rng *rand.Rand) {
	dy, dx := 0, 0
	if p := a.CropPadding; p > 0 {
		dy = rng.IntN(2*p+1) - p
		dx = rng.IntN(2*p+1) - p
	}
	flip := a.Flip && rng.IntN(2) == 1
	for y := range h {
		sy := y + dy
		for x := range w {
			sx := x + dx
			if flip {
				sx = w - 1 - x + dx
			}
			o := (y*w + x) * c
			if sy < 0 || sy >= h || sx < 0 || sx >= w {
				clear(dst[o : o+c])
				continue
			}
			copy(dst[o:o+c], src[(sy*w+sx)*c:(sy*w+sx+1)*c])
		}
	}
}

// cutout zeroes a square of side a.CutoutSize centred at a random pixel.
func (a *Augment) cutout(img []float32, h, w, c int, rng *rand.Rand) {
	s := a.CutoutSize
	if s <= 0 {
		return
	}
	cy, cx := rng.IntN(h), rng.IntN(w)
	for y := max(0, cy-s/2); y < min(h, cy-s/2+s); y++ {
		for x := max(0, cx-s/2); x < min(w, cx-s/2+s); x++ {
			clear(img[(y*w+x)*c : (y*w+x+1)*c])
		}
	}
}
