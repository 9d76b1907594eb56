package data

import (
	"io"
	"slices"
	"testing"
)

// rampImages returns n images of size h×w×c whose value encodes (image, position), labels
// i mod k.
func rampImages(n, h, w, c, k int) *Images {
	m := &Images{Name: "ramp", N: n, Height: h, Width: w, Channels: c, NumClasses: k,
		X: make([]float32, n*h*w*c), Y: make([]int32, n)}
	for i := range m.X {
		m.X[i] = float32(i%251) / 251
	}
	for i := range m.Y {
		m.Y[i] = int32(i % k)
	}
	return m
}

func collectLabels(t *testing.T, d *Dataset) [][]int32 {
	t.Helper()
	var out [][]int32
	for {
		_, y, err := d.NextBatch()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, y)
	}
}

func TestImageDatasetBatching(t *testing.T) {
	m := rampImages(10, 2, 2, 1, 10)
	d, err := NewImageDataset(m, BatchOptions{BatchSize: 4}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := collectLabels(t, d)
	if len(got) != 3 || len(got[2]) != 2 || d.NumBatches() != 3 || !slices.Equal(got[0], []int32{0, 1, 2, 3}) {
		t.Fatalf("partial batches: %v", got)
	}
	d, _ = NewImageDataset(m, BatchOptions{BatchSize: 4, DropLast: true}, nil, nil)
	if got := collectLabels(t, d); len(got) != 2 || d.NumBatches() != 2 {
		t.Fatalf("drop last: %v", got)
	}
	_, err = NewImageDataset(m, BatchOptions{BatchSize: 0}, nil, nil)
	wantErr(t, err, "ramp", "batch size 0")
}

func TestImageDatasetShuffleSeeded(t *testing.T) {
	m := rampImages(50, 2, 2, 1, 50)
	mk := func(seed uint64) *Dataset {
		d, err := NewImageDataset(m, BatchOptions{BatchSize: 8, Shuffle: true, Seed: seed}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b, c := mk(1), mk(1), mk(2)
	ea, eb, ec := collectLabels(t, a), collectLabels(t, b), collectLabels(t, c)
	if !slices.EqualFunc(ea, eb, slices.Equal) {
		t.Fatal("same seed gave different batches")
	}
	if slices.EqualFunc(ea, ec, slices.Equal) {
		t.Fatal("different seeds gave the same batches")
	}
	// Each epoch is a permutation; the next epoch (after Reset) differs.
	all := slices.Concat(ea...)
	slices.Sort(all)
	for i, v := range all {
		if int(v) != i {
			t.Fatalf("epoch is not a permutation: %v", all)
		}
	}
	a.Reset()
	if e1 := collectLabels(t, a); slices.EqualFunc(ea, e1, slices.Equal) {
		t.Fatal("epoch 1 repeats epoch 0's order")
	}
}

func TestImageDatasetLoop(t *testing.T) {
	m := rampImages(5, 1, 1, 1, 5)
	d, _ := NewImageDataset(m, BatchOptions{BatchSize: 2, Loop: true, DropLast: true}, nil, nil)
	for range 7 {
		if _, y, err := d.NextBatch(); err != nil || len(y) != 2 {
			t.Fatalf("looping dataset: %v %v", y, err)
		}
	}
	if d.Epoch() != 3 {
		t.Fatalf("epoch %d after 7 batches of 2 from 5 examples, want 3", d.Epoch())
	}
}

func TestImageDatasetYieldShapes(t *testing.T) {
	m := rampImages(6, 3, 2, 3, 4)
	d, _ := NewImageDataset(m, BatchOptions{BatchSize: 4}, nil, nil)
	spec, in, lb, err := d.Yield()
	if err != nil || spec != nil || len(in) != 1 || len(lb) != 1 {
		t.Fatalf("yield: %v", err)
	}
	if got := in[0].Shape().Dimensions; !slices.Equal(got, []int{4, 3, 2, 3}) || in[0].DType().String() != "Float32" {
		t.Fatalf("inputs shape %v %s", got, in[0].DType())
	}
	if got := lb[0].Shape().Dimensions; !slices.Equal(got, []int{4, 1}) || lb[0].DType().String() != "Int32" {
		t.Fatalf("labels shape %v %s", got, lb[0].DType())
	}
	if v := in[0].Value().([][][][]float32); v[1][2][1][2] != m.At(1, 2, 1, 2) {
		t.Fatalf("pixel mismatch %v vs %v", v[1][2][1][2], m.At(1, 2, 1, 2))
	}
	if v := lb[0].Value().([][]int32); v[3][0] != 3 {
		t.Fatalf("label %v", v)
	}
}

// TestEpochOrderIsTheRecordedOne pins the one shuffle: every recorded run trained in this
// order, so a change would make their checkpoints resume on other batches.
func TestEpochOrderIsTheRecordedOne(t *testing.T) {
	if got := EpochOrder(1, 0, 10); !slices.Equal(got, []int{1, 6, 2, 4, 0, 9, 7, 3, 8, 5}) {
		t.Errorf("EpochOrder(1, 0, 10) = %v", got)
	}
	if got := EpochOrder(7, 3, 6); !slices.Equal(got, []int{4, 0, 5, 3, 1, 2}) {
		t.Errorf("EpochOrder(7, 3, 6) = %v", got)
	}
	m := rampImages(10, 1, 1, 1, 10) // label i of image i
	d, _ := NewImageDataset(m, BatchOptions{BatchSize: 5, Shuffle: true, Seed: 1, DropLast: true, Loop: true}, nil, nil)
	if got := collectN(t, d, 2); !slices.Equal(got, []int32{1, 6, 2, 4, 0, 9, 7, 3, 8, 5}) {
		t.Errorf("a shuffled stream's first epoch %v, want EpochOrder(1, 0, 10)", got)
	}
}

// collectN returns the labels of the next k batches of d.
func collectN(t *testing.T, d *Dataset, k int) []int32 {
	t.Helper()
	var out []int32
	for range k {
		_, y, err := d.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, y...)
	}
	return out
}

// TestSeekResumesTheStream: after Seek(k) the stream serves what an uninterrupted one serves
// from its k-th batch on, across epochs, augmentation draws included.
func TestSeekResumesTheStream(t *testing.T) {
	m := rampImages(11, 6, 6, 1, 11)
	opts := BatchOptions{BatchSize: 3, Shuffle: true, Seed: 9, DropLast: true, Loop: true}
	aug := &Augment{CropPadding: 2, Flip: true}
	full, _ := NewImageDataset(m, opts, aug, nil)
	var want [][]float32
	for range 10 { // 3 batches an epoch: three epochs and one batch
		x, _, err := full.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, x)
	}
	for _, k := range []int{0, 2, 3, 7} {
		d, _ := NewImageDataset(m, opts, aug, nil)
		d.NextBatch() // wherever it was
		d.Seek(k)
		for i := k; i < len(want); i++ {
			x, _, _ := d.NextBatch()
			if !slices.Equal(x, want[i]) {
				t.Fatalf("after Seek(%d): batch %d differs from the uninterrupted stream's", k, i)
			}
		}
	}
}

// TestHeadServesTheFirstExamples: Head serves the set's first n examples in order, in the
// batch size asked for, whatever the stream's own batch size and order.
func TestHeadServesTheFirstExamples(t *testing.T) {
	m := rampImages(10, 1, 1, 1, 10)
	d, _ := NewImageDataset(m, BatchOptions{BatchSize: 4, Shuffle: true, Seed: 3}, nil, nil)
	for _, c := range []struct{ n, batch, got int }{{7, 3, 7}, {0, 4, 10}, {25, 6, 10}} {
		h, got, err := d.Head(c.n, c.batch)
		if err != nil || got != c.got {
			t.Fatalf("Head(%d, %d): %d examples, %v", c.n, c.batch, got, err)
		}
		var labels []int32
		for {
			_, _, lb, err := h.Yield()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if b := lb[0].Shape().Dimensions[0]; b > c.batch {
				t.Errorf("Head(%d, %d): a batch of %d", c.n, c.batch, b)
			}
			y := lb[0].Value().([][]int32)
			for _, r := range y {
				labels = append(labels, r[0])
			}
		}
		want := make([]int32, c.got)
		for i := range want {
			want[i] = int32(i)
		}
		if !slices.Equal(labels, want) {
			t.Errorf("Head(%d, %d) served %v", c.n, c.batch, labels)
		}
	}
}
