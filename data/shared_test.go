package data

import (
	"math"
	"testing"

	"github.com/tsamgo/tsam/internal/shareddata/sharedtest"
)

// TestCIFAR10JPEGShared decodes the test split (10,000 images) of the shared CIFAR-10
// tarball; the train split takes several times longer and is left to the benchmark.
func TestCIFAR10JPEGShared(t *testing.T) {
	p := sharedtest.Require(t, "cifar10-jpeg.tar.gz")
	noCache(t)
	s, err := Load("cifar10", p, "test")
	if err != nil {
		t.Fatal(err)
	}
	m := s.Images
	if m.N != 10000 || m.Height != 32 || m.Width != 32 || m.Channels != 3 || m.NumClasses != 10 {
		t.Fatalf("N=%d %dx%dx%d K=%d", m.N, m.Height, m.Width, m.Channels, m.NumClasses)
	}
	for k, name := range CIFAR10ClassNames {
		if m.ClassNames[k] != name {
			t.Fatalf("class %d is %q, want %q (folder names sorted match CIFAR-10's label order)", k, m.ClassNames[k], name)
		}
	}
	for k, c := range m.ClassCounts() {
		if c != 1000 {
			t.Fatalf("class %d has %d test images, want 1000", k, c)
		}
	}
	// Known pixel: test/airplane/0000.jpg, pixel (0,0), as Go's JPEG decoder gives it
	// (recorded once; the tarball holds lossy re-encodes, so not CIFAR's original bytes).
	if r, g, b := m.At(0, 0, 0, 0)*255, m.At(0, 0, 0, 1)*255, m.At(0, 0, 0, 2)*255; r != 141 || g != 159 || b != 179 {
		t.Fatalf("pixel (0,0) of test/airplane/0000.jpg = %v,%v,%v, want 141,159,179", r, g, b)
	}
	// Published per-channel means of the CIFAR-10 test set: 0.4942, 0.4851, 0.4504; the
	// JPEG re-encoding moves them by well under 0.005.
	want := []float64{0.4942, 0.4851, 0.4504}
	for k, mean := range ChannelStats(m).Mean {
		if math.Abs(float64(mean)-want[k]) > 0.005 {
			t.Fatalf("channel %d mean %v, want %v", k, mean, want[k])
		}
	}
}

func TestSST2Shared(t *testing.T) {
	p := sharedtest.Require(t, "sst2.tar.gz")
	// Row counts and per-class counts of GLUE SST-2's train, dev and labelled test files.
	want := map[string][3]int{"train": {67349, 29780, 37569}, "dev": {872, 428, 444}, "test": {1821, 912, 909}}
	first := map[string]string{"train": "hide new secretions from the parental units", "dev": "one long string of cliches ."}
	for split, w := range want {
		s, err := Load("sst2", p, split)
		if err != nil {
			t.Fatal(err)
		}
		x := s.Text
		c := classCounts(x.Y, 2)
		if x.N() != w[0] || x.NumClasses != 2 || c[0] != w[1] || c[1] != w[2] {
			t.Fatalf("%s: %d rows, %d classes, class counts %v; want %v", split, x.N(), x.NumClasses, c, w)
		}
		if f, ok := first[split]; ok && x.Sentences[0] != f {
			t.Fatalf("%s: first sentence %q, want %q", split, x.Sentences[0], f)
		}
		if split == "train" {
			checkSST2Vocab(t, x)
		}
	}
}

// checkSST2Vocab builds the tokenizer on SST-2's training split: 13,840 distinct words
// (recorded once) plus the two reserved ids, and no sentence longer than 64 tokens.
func checkSST2Vocab(t *testing.T, x *Text) {
	tok, err := BuildTokenizer(x.Sentences, TokenizerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 13842 || tok.Vocab[2] != "the" {
		t.Fatalf("SST-2 vocabulary: %d ids, most frequent word %q; want 13,842 and \"the\"", tok.VocabSize(), tok.Vocab[2])
	}
	for i, s := range x.Sentences {
		if n := len(Tokenize(s)); n > 64 {
			t.Fatalf("sentence %d has %d tokens, more than MaxLen 64", i, n)
		}
	}
}
