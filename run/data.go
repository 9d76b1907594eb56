package run

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tsamgo/tsam/data"
)

// splits are the three parts of a run's data, and for text the vocabulary size and
// sequence length of its tokenizer (built from the run's training sentences).
type splits struct {
	train, val, test *data.Examples
	vocab, maxLen    int
	classNames       []string // the classes in label order ("" where a set names none)
}

// Tokenizer settings of text runs: the vocabulary is built from the run's training
// sentences (after the validation hold-out and -subset), capped at textMaxVocab words;
// sentences are cut or padded to textMaxLen tokens.
const (
	textMaxVocab = 20000
	textMaxLen   = 64
)

// howToGet says where to find the data sets whose loader messages do not.
func howToGet(name string) string {
	switch name {
	case "fashion-mnist":
		return " Install it with `apt-get install dataset-fashion-mnist` (files go to " + data.FashionMNISTDefaultDir + "), or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist and pass their folder with -data-dir."
	case "mnist":
		return " Leave -data-dir empty to use the copy in the Go module " + data.MNISTModule + " (`go mod download " + data.MNISTModule + "`), or download the four *-ubyte.gz files from http://yann.lecun.com/exdb/mnist/ and pass their folder with -data-dir."
	}
	return ""
}

// loadSet loads one split of cfg's data set; failures are *InputError for -data-dir.
func loadSet(cfg Config, split string) (*data.Set, error) {
	set, err := data.Load(cfg.Data, cfg.DataDir, split)
	if err != nil {
		// Where to get the data helps only when it is missing: a damaged file that exists
		// is named by the loader's message, and reinstalling would not be the fix.
		how := ""
		if errors.Is(err, fs.ErrNotExist) {
			how = howToGet(cfg.Data)
		}
		return nil, inputErrorf("data-dir", "%s (%s split): %v.%s", cfg.Data, split, strings.TrimSuffix(err.Error(), "."), how)
	}
	return set, nil
}

// maxTestExamples, when positive, keeps only the first test examples. Tests set it to keep
// short runs from spending their time on evaluation; runs always use the whole test set.
var maxTestExamples int

func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// testSubsetIndices is the fixed choice of k of n test examples: the first k of a
// permutation seeded by a constant (never the run's seed, so that every run of a
// comparison sees the same examples), in ascending order.
func testSubsetIndices(n, k int) []int {
	idx := rand.New(rand.NewPCG(0x7e57, 0x5e7)).Perm(n)[:k]
	slices.Sort(idx)
	return idx
}

// loadSplits reads the data of cfg and cuts it into train, validation and test sets: a
// seeded hold-out of Val of the training file for validation, a seeded choice of Subset
// of the rest, then Noise of their labels flipped to another class. Validation and test
// labels stay clean. Text sets are then tokenized.
func loadSplits(cfg Config) (*splits, error) {
	trainSet, err := loadSet(cfg, "train")
	if err != nil {
		return nil, err
	}
	testSet, err := loadSet(cfg, "test")
	if err != nil {
		return nil, err
	}
	if err := sameShape(cfg, trainSet, testSet); err != nil {
		return nil, err
	}
	var s *splits
	if trainSet.Text != nil {
		s, err = textSplits(cfg, trainSet.Text, testSet.Text)
	} else {
		s, err = imageSplits(cfg, trainSet.Images, testSet.Images)
	}
	if err != nil {
		return nil, err
	}
	s.classNames = classNames(trainSet)
	if cfg.TestSubset > 0 {
		if cfg.TestSubset > s.test.N() {
			return nil, inputErrorf("test-subset", "asks for %d test examples but the test split has %d; use a smaller -test-subset, or 0 for all", cfg.TestSubset, s.test.N())
		}
		s.test = s.test.Subset(s.test.Name, testSubsetIndices(s.test.N(), cfg.TestSubset))
	}
	if maxTestExamples > 0 && s.test.N() > maxTestExamples {
		s.test = s.test.Subset(s.test.Name, firstN(maxTestExamples))
	}
	if s.train.N() < cfg.Batch {
		return nil, inputErrorf("batch", "%d is larger than the %d training examples; use a smaller -batch or a larger -subset", cfg.Batch, s.train.N())
	}
	if cfg.Normalize && !s.train.IsText() {
		if err := normalize(s); err != nil {
			return nil, inputErrorf("normalize", "%s: %v; train with -normalize=false", cfg.Data, err)
		}
	}
	if cfg.Noise > 0 {
		y, _, err := data.SymmetricNoise(s.train.Y, s.train.NumClasses, cfg.Noise, uint64(cfg.Seed))
		if err != nil {
			return nil, inputErrorf("noise", "%v", err)
		}
		s.train.Y = y
	}
	// The loaded files (the whole CIFAR-10 training set is 600 MB of float32, plus the
	// file read to decode it) are garbage now when the run keeps a subset; hand that memory
	// back to the OS rather than holding it, at the Go runtime's discretion, for the run.
	debug.FreeOSMemory()
	return s, nil
}

// sameShape checks, before any model is built, that the test images have the training
// images' shape and that both splits have one set of classes: a model built for the
// training shape would otherwise fail after the first epoch or evaluate garbage.
func sameShape(cfg Config, train, test *data.Set) error {
	if a, b := train.Images, test.Images; a != nil && b != nil {
		if a.Height != b.Height || a.Width != b.Width || a.Channels != b.Channels {
			return inputErrorf("data-dir", "%s: the test images are %dx%dx%d (height×width×channels) but the training images are %dx%dx%d; resize the test images to the training size",
				cfg.Data, b.Height, b.Width, b.Channels, a.Height, a.Width, a.Channels)
		}
	}
	a, b := classNames(train), classNames(test)
	if len(a) != len(b) || (!slices.Equal(a, b) && !slices.Contains(a, "") && !slices.Contains(b, "")) {
		return inputErrorf("data-dir", "%s: the training split has %d classes (%s) but the test split has %d (%s); give both splits the same classes",
			cfg.Data, len(a), strings.Join(a, ", "), len(b), strings.Join(b, ", "))
	}
	return nil
}

// classNames returns the class names of a loaded split, "" for each unnamed class.
func classNames(s *data.Set) []string {
	k, names := 0, []string(nil)
	if s.Text != nil {
		k, names = s.Text.NumClasses, s.Text.ClassNames
	} else {
		k, names = s.Images.NumClasses, s.Images.ClassNames
	}
	if len(names) == k {
		return names
	}
	return make([]string, k)
}

func imageSplits(cfg Config, full, test *data.Images) (*splits, error) {
	trainIdx, valIdx, err := imageSplitIndices(cfg, full)
	if err != nil {
		return nil, err
	}
	train, val := full, (*data.Images)(nil)
	if trainIdx != nil {
		// One copy of only the examples the run trains on: copying the whole training
		// part first (data.Images.SplitValidation) and subsetting it after held a second
		// copy of the full set, 600 MB for CIFAR-10 whatever -subset.
		name := full.Name
		if valIdx != nil {
			name += "/train-part" // as data.Images.SplitValidation names it
		}
		train = full.Subset(name, trainIdx)
	}
	if valIdx != nil {
		val = full.Subset(full.Name+"/validation", valIdx)
	}
	s := &splits{train: train.Examples(), test: test.Examples()}
	if val != nil {
		s.val = val.Examples()
	}
	return s, nil
}

// imageSplitIndices returns the indices into full of the run's training examples (nil:
// all of them) and of its validation examples (nil: none), chosen exactly as
// data.Images.SplitValidation followed by subsetIndices would (data.ValidationIndices is
// SplitValidation's choice), without copying any pixels.
func imageSplitIndices(cfg Config, full *data.Images) (trainIdx, valIdx []int, err error) {
	n := full.N
	trainIdx = firstN(n)
	if cfg.Val > 0 {
		if trainIdx, valIdx, err = data.ValidationIndices(n, cfg.Val, uint64(cfg.Seed)); err != nil {
			return nil, nil, inputErrorf("val", "%s: %v", full.Name, err)
		}
	}
	sub, err := subsetIndices(cfg, len(trainIdx))
	if err != nil {
		return nil, nil, err
	}
	if sub != nil {
		picked := make([]int, len(sub))
		for j, i := range sub {
			picked[j] = trainIdx[i]
		}
		trainIdx = picked
	} else if cfg.Val == 0 {
		trainIdx = nil // the whole training file, uncopied
	}
	return trainIdx, valIdx, nil
}

func textSplits(cfg Config, full, test *data.Text) (*splits, error) {
	train, val := full, (*data.Text)(nil)
	if cfg.Val > 0 {
		var err error
		if train, val, err = full.SplitValidation(cfg.Val, uint64(cfg.Seed)); err != nil {
			return nil, inputErrorf("val", "%v", err)
		}
	}
	idx, err := subsetIndices(cfg, train.N())
	if err != nil {
		return nil, err
	}
	if idx != nil {
		train = train.Subset(train.Name, idx)
	}
	tok, err := data.BuildTokenizer(train.Sentences, data.TokenizerOptions{MaxVocab: textMaxVocab, MaxLen: textMaxLen})
	if err != nil {
		return nil, err
	}
	s := &splits{train: tok.Examples(train), test: tok.Examples(test), vocab: tok.VocabSize(), maxLen: tok.MaxLen}
	if val != nil {
		s.val = tok.Examples(val)
	}
	return s, nil
}

// subsetIndices returns the seeded choice of cfg.Subset of n training examples, or nil
// for all of them.
func subsetIndices(cfg Config, n int) ([]int, error) {
	if cfg.Subset == 0 {
		return nil, nil
	}
	if cfg.Subset > n {
		return nil, inputErrorf("subset", "asks for %d training examples but only %d are left after holding out -val %g; use a smaller -subset", cfg.Subset, n, cfg.Val)
	}
	return rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5b5e7)).Perm(n)[:cfg.Subset], nil
}

// normalize standardises the images of all three sets in place with the per-channel mean
// and deviation of the training set, so no statistic of validation or test data leaks into
// training. The arrays are the run's own (freshly decoded or copied by subset).
func normalize(s *splits) error {
	c := s.train.Dims[len(s.train.Dims)-1]
	stats := s.train.ChannelStats()
	for _, ex := range []*data.Examples{s.train, s.val, s.test} {
		if ex == nil {
			continue
		}
		if err := stats.Apply(ex.X, c); err != nil {
			return err
		}
	}
	return nil
}

// describe says what a run trains on: the examples of each split and the classes, so a
// class folder or label the user did not mean is seen before the first epoch.
func (s *splits) describe() string {
	val := 0
	if s.val != nil {
		val = s.val.N()
	}
	names := strings.Join(s.classNames, ", ")
	if len(s.classNames) > 20 {
		names = strings.Join(s.classNames[:20], ", ") + fmt.Sprintf(", … (%d more)", len(s.classNames)-20)
	}
	return fmt.Sprintf("data %s: %d training, %d validation, %d test examples of shape %v; %d classes: %s",
		s.train.Name, s.train.N(), val, s.test.N(), s.train.Dims, len(s.classNames), names)
}
