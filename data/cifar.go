package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CIFAR record layout: label byte(s), then 32×32 pixels of red, then green, then blue.
const cifarSide = 32

// CIFAR10ClassNames names the CIFAR-10 classes in label order.
var CIFAR10ClassNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// CIFARVariant selects the record layout of a CIFAR binary file.
type CIFARVariant int

const (
	// CIFAR10 records hold one label byte (10 classes).
	CIFAR10 CIFARVariant = iota
	// CIFAR100 records hold a coarse (20 classes) and a fine (100 classes) label byte; the
	// fine label is used.
	CIFAR100
)

func (v CIFARVariant) labelBytes() int {
	if v == CIFAR100 {
		return 2
	}
	return 1
}

func (v CIFARVariant) numClasses() int {
	if v == CIFAR100 {
		return 100
	}
	return 10
}

// ReadCIFARBinary decodes the records of one CIFAR binary batch (the bytes of e.g.
// data_batch_1.bin) and appends them to m, converting the channel-major pixels to
// channels-last. name (the file path) appears in every error; on error m is unchanged.
func ReadCIFARBinary(b []byte, v CIFARVariant, name string, m *Images) error {
	return readCIFARRecords(b, v, cifarSide, name, m)
}

// readCIFARRecords decodes records of side×side RGB images (32 for real CIFAR files; the
// fuzz test uses tiny images so that its inputs stay small).
func readCIFARRecords(b []byte, v CIFARVariant, side int, name string, m *Images) error {
	plane := side * side
	rec := v.labelBytes() + 3*plane
	if len(b) == 0 {
		return fmt.Errorf("%s: empty CIFAR binary file", name)
	}
	if len(b)%rec != 0 {
		return fmt.Errorf("%s: size %d is not a multiple of the %d-byte CIFAR record: truncated or not a CIFAR-%d binary file",
			name, len(b), rec, v.numClasses())
	}
	n := len(b) / rec
	k := v.numClasses()
	// Fill local slices and commit them only on success, so an error leaves m unchanged.
	x, y := slices.Grow(m.X, n*3*plane), slices.Grow(m.Y, n)
	for i := range n {
		r := b[i*rec : (i+1)*rec]
		label := int(r[v.labelBytes()-1])
		if label >= k {
			return fmt.Errorf("%s: record %d has label %d, outside [0,%d): not a CIFAR-%d file", name, i, label, k, k)
		}
		pix := r[v.labelBytes():]
		base := len(x)
		x = x[:base+3*plane]
		img := x[base:]
		for c := range 3 {
			for p, px := range pix[c*plane : (c+1)*plane] {
				img[p*3+c] = float32(px) / 255
			}
		}
		y = append(y, int32(label))
	}
	m.X, m.Y, m.N = x, y, m.N+n
	return nil
}

// cifarFiles lists the batch files of split "train" or "test" under dir (or under its
// cifar-10-batches-bin / cifar-100-binary subfolder, as the archives unpack).
func cifarFiles(dir, split string, v CIFARVariant) ([]string, error) {
	var names []string
	sub := "cifar-10-batches-bin"
	switch {
	case v == CIFAR10 && split == "train":
		for i := 1; i <= 5; i++ {
			names = append(names, fmt.Sprintf("data_batch_%d.bin", i))
		}
	case v == CIFAR10 && split == "test":
		names = []string{"test_batch.bin"}
	case v == CIFAR100 && (split == "train" || split == "test"):
		names, sub = []string{split + ".bin"}, "cifar-100-binary"
	default:
		return nil, fmt.Errorf("unknown split %q: want \"train\" or \"test\"", split)
	}
	if _, err := os.Stat(filepath.Join(dir, names[0])); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, sub, names[0])); err2 == nil {
			dir = filepath.Join(dir, sub)
		}
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
		if _, err := os.Stat(paths[i]); err != nil {
			return nil, fmt.Errorf("CIFAR-%d binary file %s not found: download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it (%w)", v.numClasses(), paths[i], err)
		}
	}
	return paths, nil
}

// readClassNames reads one name per line from the first of files that exists.
func readClassNames(dir string, files ...string) []string {
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		var names []string
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				names = append(names, s)
			}
		}
		fh.Close()
		return names
	}
	return nil
}

// loadCIFARBinary loads a split of CIFAR-10 or CIFAR-100 in the binary format, through
// the cache.
func loadCIFARBinary(dir, split string, v CIFARVariant, cacheDir string) (*Images, error) {
	paths, err := cifarFiles(dir, split, v)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("cifar%d/%s", v.numClasses(), split)
	return cachedImages(cacheDir, "cifarbin", paths, name, func() (*Images, error) {
		m := &Images{Name: name, Height: cifarSide, Width: cifarSide, Channels: 3, NumClasses: v.numClasses()}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if err := ReadCIFARBinary(b, v, p, m); err != nil {
				return nil, err
			}
		}
		m.ClassNames = readClassNames(filepath.Dir(paths[0]), "batches.meta.txt", "fine_label_names.txt")
		if len(m.ClassNames) != m.NumClasses {
			m.ClassNames = defaultClassNames(m.NumClasses)
			if v == CIFAR10 {
				m.ClassNames = CIFAR10ClassNames
			}
		}
		return m, m.Validate()
	})
}

// CIFAR10Binary loads split "train" (data_batch_1..5.bin) or "test" (test_batch.bin) of
// CIFAR-10 in its binary format from dir (or dir/cifar-10-batches-bin).
func CIFAR10Binary(dir, split string) (*Images, error) {
	return loadCIFARBinary(dir, split, CIFAR10, CacheDir())
}

// CIFAR100Binary loads split "train" (train.bin) or "test" (test.bin) of CIFAR-100 in its
// binary format from dir (or dir/cifar-100-binary), with the 100 fine labels.
func CIFAR100Binary(dir, split string) (*Images, error) {
	return loadCIFARBinary(dir, split, CIFAR100, CacheDir())
}
