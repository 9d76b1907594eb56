package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// maxImagePixels and maxImageFileBytes bound what one image file may claim, so a corrupt
// header cannot trigger an enormous allocation.
const (
	maxImagePixels    = 1 << 24
	maxImageFileBytes = 64 << 20
)

// folderFile is one image of an image folder, still encoded.
type folderFile struct {
	name  string // path inside the folder or archive, for error messages
	class string
	data  []byte // nil for files on disk: read from name
}

// isImageName reports whether a file name has an image extension the loader decodes.
func isImageName(name string) bool {
	base := path.Base(name)
	if strings.HasPrefix(base, ".") {
		return false
	}
	switch strings.ToLower(path.Ext(base)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

func isTarball(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".tgz") || strings.HasSuffix(l, ".tar")
}

// ImageFolder loads split (e.g. "train" or "test") of an image folder laid out as
// <split>/<class>/<image>.jpg|jpeg|png, from a directory or from a .tar.gz/.tgz/.tar
// archive (whose entries may sit under a common prefix). Classes are the class folder
// names of all splits, sorted, so labels agree between splits. Every image is converted
// to RGB (3 channels) and must have the size of the first one. The decoded set is cached
// (see CacheDir).
func ImageFolder(src, split string) (*Images, error) {
	return imageFolder(src, split, CacheDir())
}

func imageFolder(src, split, cacheDir string) (*Images, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("image folder %s not found: %w", src, err)
	}
	name := "imagefolder:" + filepath.Base(src) + "/" + split
	var sources []string
	switch {
	case st.IsDir():
		sources = folderSources(src, split)
	case isTarball(src):
		sources = []string{src}
	default:
		return nil, fmt.Errorf("%s is neither a folder nor a .tar.gz/.tgz/.tar archive", src)
	}
	return cachedImages(cacheDir, "imagefolder", sources, split, func() (*Images, error) {
		var files []folderFile
		var classes []string
		var err error
		if st.IsDir() {
			files, classes, err = listFolder(src, split)
		} else {
			files, classes, err = readTarFolder(src, split)
		}
		if err != nil {
			return nil, err
		}
		return decodeFolder(name, files, classes)
	})
}

// folderSources lists the paths whose size and mtime key the cache of a folder split:
// the split folder and each class folder (a folder's mtime changes when files are added,
// removed or renamed in it).
func folderSources(dir, split string) []string {
	srcs := []string{dir, filepath.Join(dir, split)}
	entries, _ := os.ReadDir(filepath.Join(dir, split))
	for _, e := range entries {
		if e.IsDir() {
			srcs = append(srcs, filepath.Join(dir, split, e.Name()))
		}
	}
	return srcs
}

// listFolder lists the images of dir/split and the classes of every split of dir.
func listFolder(dir, split string) ([]folderFile, []string, error) {
	splitDir := filepath.Join(dir, split)
	if st, err := os.Stat(splitDir); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("image folder %s has no split folder %q (found: %s)", dir, split, strings.Join(subdirs(dir), ", "))
	}
	classSet := map[string]bool{}
	for _, s := range subdirs(dir) {
		for _, c := range subdirs(filepath.Join(dir, s)) {
			classSet[c] = true
		}
	}
	var files []folderFile
	for _, c := range subdirs(splitDir) {
		entries, err := os.ReadDir(filepath.Join(splitDir, c))
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, e := range entries {
			if !e.IsDir() && isImageName(e.Name()) {
				files = append(files, folderFile{name: filepath.Join(splitDir, c, e.Name()), class: c})
				n++
			}
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("class folder %s holds no .jpg/.jpeg/.png image: remove it or add images", filepath.Join(splitDir, c))
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("split folder %s holds no class folder with images (want %s/<class>/<image>.jpg)", splitDir, splitDir)
	}
	return files, sortedKeys(classSet), nil
}

func subdirs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readTarFolder reads the images of split from an archive: entries .../<split>/<class>/<file>.
func readTarFolder(archive, split string) ([]folderFile, []string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return parseTarFolder(f, archive, split)
}

func parseTarFolder(r io.Reader, archive, split string) ([]folderFile, []string, error) {
	var tr *tar.Reader
	if strings.HasSuffix(strings.ToLower(archive), ".tar") {
		tr = tar.NewReader(r)
	} else {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: not a gzip archive: %w", archive, err)
		}
		defer zr.Close()
		tr = tar.NewReader(zr)
	}
	classSet := map[string]bool{}
	splits := map[string]bool{}
	var files []folderFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: corrupt or truncated archive: %w", archive, err)
		}
		if h.Typeflag != tar.TypeReg || !isImageName(h.Name) {
			continue
		}
		parts := strings.Split(path.Clean(strings.TrimPrefix(h.Name, "./")), "/")
		if len(parts) < 3 {
			continue
		}
		s, c := parts[len(parts)-3], parts[len(parts)-2]
		splits[s] = true
		classSet[c] = true
		if s != split {
			continue
		}
		if h.Size > maxImageFileBytes {
			return nil, nil, fmt.Errorf("%s: entry %s is %d bytes, too large for an image", archive, h.Name, h.Size)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: corrupt or truncated archive at %s: %w", archive, h.Name, err)
		}
		files = append(files, folderFile{name: archive + ":" + h.Name, class: c, data: data})
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("%s holds no image under a %q split folder (want [prefix/]%s/<class>/<image>.jpg; splits found: %s)",
			archive, split, split, strings.Join(sortedKeys(splits), ", "))
	}
	return files, sortedKeys(classSet), nil
}

// decodeFolder decodes the files in parallel into an image set ordered by (class, name).
func decodeFolder(name string, files []folderFile, classes []string) (*Images, error) {
	sort.Slice(files, func(i, j int) bool {
		if files[i].class != files[j].class {
			return files[i].class < files[j].class
		}
		return files[i].name < files[j].name
	})
	first, err := decodeImageFile(files[0])
	if err != nil {
		return nil, err
	}
	b := first.Bounds()
	h, w := b.Dy(), b.Dx()
	m := &Images{Name: name, N: len(files), Height: h, Width: w, Channels: 3,
		NumClasses: len(classes), ClassNames: classes,
		X: make([]float32, len(files)*h*w*3), Y: make([]int32, len(files))}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = decodeInto(m, i, files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, f := range files {
		m.Y[i] = int32(slices.Index(classes, f.class))
	}
	return m, m.Validate()
}

func decodeImageFile(f folderFile) (image.Image, error) {
	data := f.data
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.name); err != nil {
			return nil, err
		}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decode image: %w", f.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("%s: image size %dx%d is empty or too large", f.name, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decode image: %w", f.name, err)
	}
	return img, nil
}

// decodeInto decodes file f as image i of m, converting to 8-bit RGB.
func decodeInto(m *Images, i int, f folderFile) error {
	img, err := decodeImageFile(f)
	if err != nil {
		return err
	}
	b := img.Bounds()
	if b.Dy() != m.Height || b.Dx() != m.Width {
		return fmt.Errorf("%s: image is %dx%d (width×height) but the set's images are %dx%d: resize it or remove it",
			f.name, b.Dx(), b.Dy(), m.Width, m.Height)
	}
	dst := m.Image(i)
	for y := range m.Height {
		for x := range m.Width {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			o := (y*m.Width + x) * 3
			dst[o], dst[o+1], dst[o+2] = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
		}
	}
	return nil
}
