package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestChannelStats(t *testing.T) {
	m := &Images{Name: "s", N: 2, Height: 1, Width: 2, Channels: 2, NumClasses: 1, Y: []int32{0, 0},
		X: []float32{0, 1, 1, 1, 0.5, 1, 0.5, 1}}
	s := ChannelStats(m)
	// Channel 0: {0,1,0.5,0.5} mean 0.5, variance 0.125; channel 1 constant 1.
	if math.Abs(float64(s.Mean[0])-0.5) > 1e-7 || math.Abs(float64(s.Std[0])-math.Sqrt(0.125)) > 1e-7 || s.Mean[1] != 1 || s.Std[1] != 0 {
		t.Fatalf("%+v", s)
	}
}

func TestAugmentCropFlip(t *testing.T) {
	const h, w = 3, 4
	src := make([]float32, h*w)
	for i := range src {
		src[i] = float32(i + 1)
	}
	dst := make([]float32, h*w)
	// Flip only: exact mirror.
	a := Augment{Flip: true}
	flipped := false
	for seed := range uint64(8) {
		a.cropFlip(dst, src, h, w, 1, rand.New(rand.NewPCG(seed, 0)))
		if dst[0] == src[w-1] {
			flipped = true
			for y := range h {
				for x := range w {
					if dst[y*w+x] != src[y*w+w-1-x] {
						t.Fatalf("flip wrong at %d,%d", y, x)
					}
				}
			}
		}
	}
	if !flipped {
		t.Fatal("no flip in 8 draws")
	}
	// Crop: the output is the input shifted, with zeros where the shift uncovers padding.
	a = Augment{CropPadding: 2}
	for seed := range uint64(20) {
		a.cropFlip(dst, src, h, w, 1, rand.New(rand.NewPCG(seed, 1)))
		found := false
		for cy := -2; cy <= 2 && !found; cy++ {
			for cx := -2; cx <= 2 && !found; cx++ {
				ok := true
				for y := range h {
					for x := range w {
						want := float32(0)
						if sy, sx := y+cy, x+cx; sy >= 0 && sy < h && sx >= 0 && sx < w {
							want = src[sy*w+sx]
						}
						ok = ok && dst[y*w+x] == want
					}
				}
				if ok {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("seed %d: output %v is no padded crop of the input", seed, dst)
		}
	}
}

func TestAugmentCutoutAndDatasetDeterminism(t *testing.T) {
	m := rampImages(16, 8, 8, 3, 4)
	norm := ChannelStats(m)
	aug := &Augment{CropPadding: 2, Flip: true, CutoutSize: 4}
	mk := func() *Dataset {
		d, err := NewImageDataset(m, BatchOptions{BatchSize: 4, Shuffle: true, Seed: 5}, aug, &norm)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := mk(), mk()
	xa, _, _ := a.NextBatch()
	xb, _, _ := b.NextBatch()
	zeros := 0
	for i := range xa {
		if xa[i] != xb[i] {
			t.Fatal("same seed, different augmented batch")
		}
		if xa[i] == 0 {
			zeros++
		}
	}
	// Cutout zeroes at least a 2×2 corner square (centre at a corner) of 3 channels per image.
	if zeros < 4*2*2*3 {
		t.Fatalf("only %d zeros: cutout missing", zeros)
	}
	_, err := NewImageDataset(m, BatchOptions{BatchSize: 4}, &Augment{CropPadding: 9}, nil)
	wantErr(t, err, "CropPadding=9")
	_, err = NewImageDataset(m, BatchOptions{BatchSize: 4}, nil, &Normalization{Mean: []float32{0}, Std: []float32{1}})
	wantErr(t, err, "3 channels")
}
