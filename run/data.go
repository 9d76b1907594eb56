package run

import (
	"math/rand/v2"
	"strings"

	"github.com/tsamgo/tsam/data"
)

// examples is an in-memory labelled set: example i is x[i*dim:(i+1)*dim] with label y[i].
type examples struct {
	name    string
	x       []float32
	y       []int32
	dims    []int // shape of one example, e.g. [28, 28, 1]
	classes int
}

func fromImages(m *data.Images) *examples {
	return &examples{name: m.Name, x: m.X, y: m.Y, dims: []int{m.Height, m.Width, m.Channels}, classes: m.NumClasses}
}

func (e *examples) n() int { return len(e.y) }

func (e *examples) dim() int {
	d := 1
	for _, v := range e.dims {
		d *= v
	}
	return d
}

// subset returns the examples at indices, copied.
func (e *examples) subset(name string, indices []int) *examples {
	d := e.dim()
	out := &examples{name: name, dims: e.dims, classes: e.classes,
		x: make([]float32, 0, len(indices)*d), y: make([]int32, 0, len(indices))}
	for _, i := range indices {
		out.x = append(out.x, e.x[i*d:(i+1)*d]...)
		out.y = append(out.y, e.y[i])
	}
	return out
}

// splits are the three parts of a run's data.
type splits struct {
	train, val, test *examples
}

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

// loadImages loads one split of cfg's data set; failures are *InputError for -data-dir.
func loadImages(cfg Config, split string) (*data.Images, error) {
	set, err := data.Load(cfg.Data, cfg.DataDir, split)
	if err != nil {
		return nil, inputErrorf("data-dir", "%s (%s split): %v.%s", cfg.Data, split, strings.TrimSuffix(err.Error(), "."), howToGet(cfg.Data))
	}
	if set.Images == nil {
		return nil, inputErrorf("data", "%s is a text data set; tsam train supports image data sets (%s) so far", cfg.Data, strings.Join(DataSets, ", "))
	}
	return set.Images, nil
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

// loadSplits reads the data of cfg and cuts it into train, validation and test sets: a
// seeded hold-out of Val of the training file for validation, a seeded choice of Subset
// of the rest, then Noise of their labels flipped to another class. Validation and test
// labels stay clean.
func loadSplits(cfg Config) (*splits, error) {
	full, err := loadImages(cfg, "train")
	if err != nil {
		return nil, err
	}
	test, err := loadImages(cfg, "test")
	if err != nil {
		return nil, err
	}
	trainImgs, valImgs := full, (*data.Images)(nil)
	if cfg.Val > 0 {
		if trainImgs, valImgs, err = full.SplitValidation(cfg.Val, uint64(cfg.Seed)); err != nil {
			return nil, inputErrorf("val", "%v", err)
		}
	}
	s := &splits{train: fromImages(trainImgs), test: fromImages(test)}
	if maxTestExamples > 0 && s.test.n() > maxTestExamples {
		s.test = s.test.subset(s.test.name, firstN(maxTestExamples))
	}
	if valImgs != nil {
		s.val = fromImages(valImgs)
	}
	if cfg.Subset > 0 {
		if cfg.Subset > s.train.n() {
			return nil, inputErrorf("subset", "asks for %d training examples but only %d are left after holding out -val %g; use a smaller -subset", cfg.Subset, s.train.n(), cfg.Val)
		}
		idx := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5b5e7)).Perm(s.train.n())[:cfg.Subset]
		s.train = s.train.subset(s.train.name, idx)
	}
	if s.train.n() < cfg.Batch {
		return nil, inputErrorf("batch", "%d is larger than the %d training examples; use a smaller -batch or a larger -subset", cfg.Batch, s.train.n())
	}
	if cfg.Noise > 0 {
		y, _, err := data.SymmetricNoise(s.train.y, s.train.classes, cfg.Noise, uint64(cfg.Seed))
		if err != nil {
			return nil, inputErrorf("noise", "%v", err)
		}
		s.train.y = y
	}
	return s, nil
}
