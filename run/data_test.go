package run

import (
	"math"
	"testing"
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
	mean, std := meanStd(norm.train.x, 1, 0)
	if math.Abs(mean) > 1e-4 || math.Abs(std-1) > 1e-4 {
		t.Fatalf("normalised training pixels: mean %g, deviation %g; want 0 and 1", mean, std)
	}
	m, s := meanStd(raw.train.x, 1, 0)
	for _, pair := range [][2]*examples{{raw.val, norm.val}, {raw.test, norm.test}} {
		for i := range pair[0].x {
			want := (float64(pair[0].x[i]) - m) / s
			if d := math.Abs(float64(pair[1].x[i]) - want); d > 1e-4 {
				t.Fatalf("%s pixel %d: %g, want (x − train mean)/train deviation = %g", pair[1].name, i, pair[1].x[i], want)
			}
		}
	}
	if vm, _ := meanStd(norm.test.x, 1, 0); vm == 0 {
		t.Fatalf("test pixels have mean exactly 0: normalised with their own statistics?")
	}
}
