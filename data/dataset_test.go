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

func collectLabels(t *testing.T, d *ImageDataset) [][]int32 {
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
	mk := func(seed uint64) *ImageDataset {
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
