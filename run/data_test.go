package run

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsamgo/tsam/data"
)

// meanStd returns the mean and population deviation of channel k of channel-last pixels.
func meanStd(x []float32, channels, k int) (float64, float64) {
	var sum, sq, n float64
	for i := k; i < len(x); i += channels {
		v := float64(x[i])
		sum += v
		sq += v * v
		n++
	}
	mean := sum / n
	return mean, math.Sqrt(sq/n - mean*mean)
}

// TestNormalizeUsesTrainingStatistics checks that -normalize standardises the training
// images exactly and applies the same transform, not their own statistics, to the
// validation and test images.
func TestNormalizeUsesTrainingStatistics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Subset, cfg.Val, cfg.Batch = 500, 0.1, 32
	cfg.Normalize = false
	raw, err := loadSplits(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Normalize = true
	norm, err := loadSplits(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mean, std := meanStd(norm.train.X, 1, 0)
	if math.Abs(mean) > 1e-4 || math.Abs(std-1) > 1e-4 {
		t.Fatalf("normalised training pixels: mean %g, deviation %g; want 0 and 1", mean, std)
	}
	m, s := meanStd(raw.train.X, 1, 0)
	for _, pair := range [][2]*data.Examples{{raw.val, norm.val}, {raw.test, norm.test}} {
		for i := range pair[0].X {
			want := (float64(pair[0].X[i]) - m) / s
			if d := math.Abs(float64(pair[1].X[i]) - want); d > 1e-4 {
				t.Fatalf("%s pixel %d: %g, want (x − train mean)/train deviation = %g", pair[1].Name, i, pair[1].X[i], want)
			}
		}
	}
	if vm, _ := meanStd(norm.test.X, 1, 0); vm == 0 {
		t.Fatalf("test pixels have mean exactly 0: normalised with their own statistics?")
	}
}

// TestDamagedDataNamesNoInstall: a Fashion-MNIST folder whose files exist but are damaged
// gets the loader's message without install instructions; a folder missing a file gets them.
func TestDamagedDataNamesNoInstall(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not gzip"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Data, cfg.DataDir = "fashion-mnist", dir
	_, err := loadSplits(cfg)
	if !IsInputError(err) || strings.Contains(err.Error(), "apt-get") {
		t.Errorf("damaged files: want an input error without install advice, got %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSplits(cfg); !IsInputError(err) || !strings.Contains(err.Error(), "apt-get") {
		t.Errorf("missing file: want install advice, got %v", err)
	}
}

// TestImageSplitsMatchCopyingSplit: the index-composed split picks the same examples, in
// the same order, as data.Images.SplitValidation followed by the seeded -subset.
func TestImageSplitsMatchCopyingSplit(t *testing.T) {
	cfg := DefaultConfig()
	set, err := loadSet(cfg, "train")
	if err != nil {
		t.Skipf("MNIST: %v", err)
	}
	full := set.Images
	for _, c := range []struct {
		val    float64
		subset int
	}{{0.1, 500}, {0.1, 0}, {0, 500}} {
		cfg.Val, cfg.Subset, cfg.Seed = c.val, c.subset, 7
		want, wantVal := full, (*data.Images)(nil)
		if c.val > 0 {
			if want, wantVal, err = full.SplitValidation(c.val, 7); err != nil {
				t.Fatal(err)
			}
		}
		if idx, _ := subsetIndices(cfg, want.N); idx != nil {
			want = want.Subset(want.Name, idx)
		}
		got, err := imageSplits(cfg, full, full)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.train.X, want.X) || !slices.Equal(got.train.Y, want.Y) || got.train.Name != want.Name {
			t.Errorf("val %g subset %d: training examples differ from the copying split", c.val, c.subset)
		}
		if wantVal != nil && (!slices.Equal(got.val.X, wantVal.X) || !slices.Equal(got.val.Y, wantVal.Y)) {
			t.Errorf("val %g subset %d: validation examples differ", c.val, c.subset)
		}
	}
}

// writePNGs writes n w×h PNG images of distinct grey levels under dir/rel.
func writePNGs(t *testing.T, dir, rel string, n, w, h int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for p := range img.Pix {
			img.Pix[p] = uint8(40*i + p)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel, fmt.Sprintf("%d.png", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImageFolderShapesCheckedBeforeTraining gives test images another size than the
// training images: loading must fail naming both shapes, before any model is built (an
// MLP or CNN would fail after the first epoch, a global-pooling ResNet would evaluate).
func TestImageFolderShapesCheckedBeforeTraining(t *testing.T) {
	t.Setenv(data.CacheEnv, "off")
	dir := t.TempDir()
	for _, c := range []string{"cat", "dog"} {
		writePNGs(t, dir, "train/"+c, 4, 8, 6)
		writePNGs(t, dir, "test/"+c, 2, 8, 6)
	}
	cfg := DefaultConfig()
	cfg.Data, cfg.DataDir, cfg.Batch, cfg.Val = "imagefolder", dir, 4, 0
	s, err := loadSplits(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.describe(); !strings.Contains(got, "8 training, 0 validation, 4 test examples of shape [6 8 3]; 2 classes: cat, dog") {
		t.Fatalf("description %q does not give the counts, shape and classes", got)
	}
	writePNGs(t, dir, "test/cat", 2, 10, 6)
	writePNGs(t, dir, "test/dog", 2, 10, 6)
	_, err = loadSplits(cfg)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "test images are 6x10x3") || !strings.Contains(err.Error(), "training images are 6x8x3") {
		t.Fatalf("want an input error naming both shapes, got %v", err)
	}
}
