package models

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Hand counts of trainable parameters: convolutions without bias, batch-norm scale and
// offset (2 per channel), dense layers with bias.
func conv(k, in, out int) int { return k * k * in * out }
func bnp(c int) int           { return 2 * c }

// resnetParams counts ResNet(cfg) for c input channels.
func resnetParams(cfg ResNetConfig, c int) int {
	n := conv(3, c, cfg.StemWidth) + bnp(cfg.StemWidth)
	in := cfg.StemWidth
	for s, w := range cfg.Widths {
		for b := range cfg.Blocks[s] {
			n += conv(3, in, w) + bnp(w) + conv(3, w, w) + bnp(w)
			if in != w || (s > 0 && b == 0) {
				n += conv(1, in, w) + bnp(w)
			}
			in = w
		}
	}
	return n + dense(in, cfg.NumClasses)
}

// wrnParams counts WRN-depth-k for c input channels.
func wrnParams(depth, k, c, classes int) int {
	n := conv(3, c, 16)
	in := 16
	for s, base := range []int{16, 32, 64} {
		w := base * k
		for b := range (depth - 4) / 6 {
			n += bnp(in) + conv(3, in, w) + bnp(w) + conv(3, w, w)
			if in != w || (s > 0 && b == 0) {
				n += conv(1, in, w)
			}
			in = w
		}
	}
	return n + bnp(in) + dense(in, classes)
}

func TestResNetShapesAndParams(t *testing.T) {
	be := projectBackend(t)
	x, _ := randImages(2, 8, 8, 3, 10)
	for _, c := range []struct {
		name string
		cfg  ResNetConfig
	}{
		{"resnet8", CIFARResNetConfig(10, 8)},
		{"resnet20", CIFARResNetConfig(10, 20)},
		{"resnet32", CIFARResNetConfig(10, 32)},
		{"resnet18", ResNet18Config(10)},
	} {
		fn, err := New(c.name, Options{NumClasses: 10})
		if err != nil {
			t.Fatal(err)
		}
		dims, n := forward(t, be, fn, x)
		if want := resnetParams(c.cfg, 3); !slices.Equal(dims, []int{2, 10}) || n != want {
			t.Fatalf("%s: dims %v params %d, want %d", c.name, dims, n, want)
		}
		t.Logf("%s: %d parameters", c.name, n)
		// The CIFAR ResNet-18 of the SAM/TSAM reference code (kuangliu/pytorch-cifar layout)
		// has 11,173,962 parameters for 10 classes.
		if c.name == "resnet18" && n != 11173962 {
			t.Fatalf("resnet18: %d parameters, the PyTorch reference has 11,173,962", n)
		}
	}
}

func TestWideResNetShapesAndParams(t *testing.T) {
	be := projectBackend(t)
	x, _ := randImages(2, 8, 8, 3, 100)
	for _, k := range []int{1, 2, 8} {
		fn := WideResNet(WRNConfig{NumClasses: 100, Depth: 16, WidenFactor: k})
		dims, n := forward(t, be, fn, x)
		if want := wrnParams(16, k, 3, 100); !slices.Equal(dims, []int{2, 100}) || n != want {
			t.Fatalf("wrn16-%d: dims %v params %d, want %d", k, dims, n, want)
		}
		t.Logf("wrn16-%d (100 classes): %d parameters", k, n)
		// The WRN paper lists WRN-16-8 at 11.0M parameters (CIFAR-100).
		if k == 8 && (n < 10_950_000 || n > 11_050_000) {
			t.Fatalf("wrn16-8: %d parameters, the paper says 11.0M", n)
		}
	}
}

func TestCNNShapesAndParams(t *testing.T) {
	be := projectBackend(t)
	fn, _ := New("cnn", Options{NumClasses: 10})
	x, _ := randImages(2, 28, 28, 1, 10)
	dims, n := forward(t, be, fn, x)
	want := conv(3, 1, 32) + 32 + conv(3, 32, 64) + 64 + dense(7*7*64, 128) + dense(128, 10)
	if !slices.Equal(dims, []int{2, 10}) || n != want {
		t.Fatalf("dims %v params %d, want %d", dims, n, want)
	}
}

func TestConvModelsLossFalls(t *testing.T) {
	be := projectBackend(t)
	x, y := randImages(8, 8, 8, 3, 4)
	for name, fn := range map[string]train.ModelFn{
		"cnn":     CNN(CNNConfig{NumClasses: 4, Channels: []int{8, 8}, Dense: 16}),
		"resnet8": ResNet(CIFARResNetConfig(4, 8)),
		"wrn16-1": WideResNet(WRNConfig{NumClasses: 4, Depth: 16, WidenFactor: 1}),
	} {
		t.Run(name, func(t *testing.T) { lossFalls(t, be, fn, x, y, 25, 1e-2) })
	}
}
