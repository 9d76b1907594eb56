package data

import (
	"archive/tar"
	"bufio"
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
	split string
	class string
	data  []byte // nil for files on disk: read from name
}

// folderListing is what an image folder or archive holds in the <split>/<class>/<image>
// layout: every image of every split (undecoded; only the loaded split's bytes are read
// from an archive), and the images found deeper than that layout, which are skipped.
type folderListing struct {
	files  []folderFile
	nested []folderFile // skipped images in subfolders of class folders (name, split, class)
	empty  []folderFile // class folders without any image (name, split, class)
	splits []string     // the splits that hold images, sorted
}

// trainSplit is the split whose class folders define the classes of every split.
const trainSplit = "train"

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
// archive (whose entries may sit under a common prefix). The classes are the class
// folders of the train split that hold images, sorted, so labels agree between splits;
// a class folder of another split that train lacks is an error, and other top-level
// folders are ignored. Images must sit directly in their class folder: images in
// subfolders of it are skipped (and named when a class ends up empty). Every image is
// converted to RGB (3 channels); all must have one size, else the error names the images
// that differ from the most common size. The decoded set is cached (see CacheDir), keyed
// on the size and modification time of every image of the split.
func ImageFolder(src, split string) (*Images, error) {
	return imageFolder(src, split, CacheDir())
}

func imageFolder(src, split, cacheDir string) (*Images, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("image folder %s not found: %w", src, err)
	}
	name := "imagefolder:" + filepath.Base(src) + "/" + split
	switch {
	case st.IsDir():
		l, err := listFolder(src, split)
		if err != nil {
			return nil, err
		}
		return cachedImages(cacheDir, "imagefolder", folderSources(src, l, split), split, func() (*Images, error) {
			return l.decode(name, src, split)
		})
	case isTarball(src):
		return cachedImages(cacheDir, "imagefolder", []string{src}, split, func() (*Images, error) {
			l, err := readTarFolder(src, split)
			if err != nil {
				return nil, err
			}
			return l.decode(name, src, split)
		})
	default:
		return nil, fmt.Errorf("%s is neither a folder nor a .tar.gz/.tgz/.tar archive", src)
	}
}

// folderSources lists the paths whose size and mtime key the cache of a folder split:
// the folder, its split and class folders (a folder's mtime changes when entries are
// added, removed or renamed in it) and every image of the split (an image overwritten in
// place changes only its own size or mtime).
func folderSources(dir string, l *folderListing, split string) []string {
	srcs := []string{dir}
	for _, s := range subdirs(dir) {
		srcs = append(srcs, filepath.Join(dir, s))
		for _, c := range subdirs(filepath.Join(dir, s)) {
			srcs = append(srcs, filepath.Join(dir, s, c))
		}
	}
	for _, f := range l.files {
		if f.split == split {
			srcs = append(srcs, f.name)
		}
	}
	return srcs
}

// listFolder lists the images of every split of dir, after checking that split exists.
func listFolder(dir, split string) (*folderListing, error) {
	if st, err := os.Stat(filepath.Join(dir, split)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("image folder %s has no split folder %q (found: %s)", dir, split, strings.Join(subdirs(dir), ", "))
	}
	l := &folderListing{}
	for _, s := range subdirs(dir) {
		n := len(l.files)
		for _, c := range subdirs(filepath.Join(dir, s)) {
			if err := l.addClassDir(filepath.Join(dir, s, c), s, c); err != nil {
				return nil, err
			}
		}
		if len(l.files) > n {
			l.splits = append(l.splits, s)
		}
	}
	sort.Strings(l.splits)
	return l, nil
}

// addClassDir lists the images directly in class folder cdir, and the images of its
// subfolders as nested.
func (l *folderListing) addClassDir(cdir, split, class string) error {
	entries, err := os.ReadDir(cdir)
	if err != nil {
		return err
	}
	n := len(l.files)
	for _, e := range entries {
		switch {
		case e.IsDir() && !strings.HasPrefix(e.Name(), "."):
			if img := firstImage(filepath.Join(cdir, e.Name())); img != "" {
				l.nested = append(l.nested, folderFile{name: filepath.Join(cdir, e.Name(), img), split: split, class: class})
			}
		case !e.IsDir() && isImageName(e.Name()):
			l.files = append(l.files, folderFile{name: filepath.Join(cdir, e.Name()), split: split, class: class})
		}
	}
	if len(l.files) == n {
		l.empty = append(l.empty, folderFile{name: cdir, split: split, class: class})
	}
	return nil
}

// firstImage returns the name of the first image file directly in dir, or "".
func firstImage(dir string) string {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && isImageName(e.Name()) {
			return e.Name()
		}
	}
	return ""
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

// classes returns the class names of the listing: the class folders of the train split
// when it has images (so every split labels alike), else those of split. It fails when
// split has a class that train lacks, which would otherwise shift every later label.
func (l *folderListing) classes(src, split string) ([]string, error) {
	of := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, f := range l.files {
			if f.split == s {
				m[f.class] = true
			}
		}
		return m
	}
	train := of(trainSplit)
	if len(train) == 0 {
		train = of(split)
	}
	for c := range of(split) {
		if !train[c] {
			return nil, fmt.Errorf("%s: class folder %s/%s has no counterpart in %s/ (whose classes are %s): rename or remove it",
				src, split, c, trainSplit, strings.Join(sortedKeys(train), ", "))
		}
	}
	return sortedKeys(train), nil
}

// checkClassFolders fails when a class folder of split holds no image directly: with
// images in its subfolders (skipped, e.g. <class>/images/*.JPEG) the error says so.
func (l *folderListing) checkClassFolders(src, split string) error {
	direct := map[string]bool{}
	for _, f := range l.files {
		if f.split == split {
			direct[f.class] = true
		}
	}
	// The first in name order, so that a folder and an archive (in any member order) name
	// the same image.
	nested := slices.Clone(l.nested)
	slices.SortFunc(nested, func(a, b folderFile) int { return strings.Compare(a.name, b.name) })
	for _, n := range nested {
		if n.split == split && !direct[n.class] {
			return fmt.Errorf("%s: class folder %s/%s holds no image directly; images in its subfolders (such as %s) are skipped: move them up so the layout is %s/<class>/<image>.jpg",
				src, split, n.class, n.name, split)
		}
	}
	for _, e := range l.empty {
		if e.split == split {
			return fmt.Errorf("class folder %s holds no .jpg/.jpeg/.png image: remove it or add images", e.name)
		}
	}
	if len(direct) == 0 {
		return fmt.Errorf("%s: split %q holds no class folder with images (want %s/<class>/<image>.jpg|jpeg|png; splits found: %s)",
			src, split, split, strings.Join(l.splits, ", "))
	}
	return nil
}

// readTarFolder lists the images of every split of an archive and reads those of split.
func readTarFolder(archive, split string) (*folderListing, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTarFolder(f, archive, split)
}

// tarSplitAt returns the index of the split folder in an archive entry's path: the first
// component named split or train that leaves room for <class>/<image> after it, else
// the third-last component (a split of another name). ok is false for paths too short.
func tarSplitAt(parts []string, split string) (int, bool) {
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == split || parts[i] == trainSplit {
			return i, true
		}
	}
	return len(parts) - 3, len(parts) >= 3
}

func parseTarFolder(r io.Reader, archive, split string) (*folderListing, error) {
	var tr *tar.Reader
	if strings.HasSuffix(strings.ToLower(archive), ".tar") {
		tr = tar.NewReader(r)
	} else {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: not a gzip archive: %w", archive, err)
		}
		defer zr.Close()
		tr = tar.NewReader(zr)
	}
	l := &folderListing{}
	splits := map[string]bool{}
	nestedAt := map[string]bool{} // class folders holding subfolders, reported once
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt or truncated archive: %w", archive, err)
		}
		if h.Typeflag != tar.TypeReg || !isImageName(h.Name) {
			continue
		}
		parts := strings.Split(path.Clean(strings.TrimPrefix(h.Name, "./")), "/")
		i, ok := tarSplitAt(parts, split)
		if !ok {
			continue
		}
		s := parts[i]
		if len(parts) > i+3 {
			if key := s + "/" + parts[i+1]; !nestedAt[key] {
				nestedAt[key] = true
				l.nested = append(l.nested, folderFile{name: archive + ":" + h.Name, split: s, class: parts[i+1]})
			}
			continue
		}
		splits[s] = true
		f := folderFile{name: archive + ":" + h.Name, split: s, class: parts[i+1]}
		if s == split {
			if h.Size > maxImageFileBytes {
				return nil, fmt.Errorf("%s: entry %s is %d bytes, too large for an image", archive, h.Name, h.Size)
			}
			if f.data, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: corrupt or truncated archive at %s: %w", archive, h.Name, err)
			}
		}
		l.files = append(l.files, f)
	}
	l.splits = sortedKeys(splits)
	return l, nil
}

// decode decodes the images of split into a set labelled by l.classes.
func (l *folderListing) decode(name, src, split string) (*Images, error) {
	if err := l.checkClassFolders(src, split); err != nil {
		return nil, err
	}
	var files []folderFile
	for _, f := range l.files {
		if f.split == split {
			files = append(files, f)
		}
	}
	classes, err := l.classes(src, split)
	if err != nil {
		return nil, err
	}
	return decodeFolder(name, files, classes)
}

// decodeFolder decodes the files in parallel into an image set ordered by (class, name).
// It first reads every image's header, so that images whose size differs from the most
// common one are named before anything is decoded, whichever sorts first.
func decodeFolder(name string, files []folderFile, classes []string) (*Images, error) {
	sort.Slice(files, func(i, j int) bool {
		if files[i].class != files[j].class {
			return files[i].class < files[j].class
		}
		return files[i].name < files[j].name
	})
	sizes := make([]image.Point, len(files))
	if err := parallel(len(files), func(i int) (err error) {
		sizes[i], err = imageSize(&files[i])
		return err
	}); err != nil {
		return nil, err
	}
	size, err := commonSize(files, sizes)
	if err != nil {
		return nil, err
	}
	h, w := size.Y, size.X
	m := &Images{Name: name, N: len(files), Height: h, Width: w, Channels: 3,
		NumClasses: len(classes), ClassNames: classes,
		X: make([]float32, len(files)*h*w*3), Y: make([]int32, len(files))}
	if err := parallel(len(files), func(i int) error { return decodeInto(m, i, files[i]) }); err != nil {
		return nil, err
	}
	for i, f := range files {
		m.Y[i] = int32(slices.Index(classes, f.class))
	}
	return m, m.Validate()
}

// parallel calls f(0..n-1) on GOMAXPROCS goroutines and returns the error of the lowest
// index that failed, so the error does not depend on scheduling.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// commonSize returns the size shared by all images, or an error naming those (up to
// maxNamed) whose size differs from the most common one.
func commonSize(files []folderFile, sizes []image.Point) (image.Point, error) {
	count := map[image.Point]int{}
	for _, s := range sizes {
		count[s]++
	}
	var best image.Point
	for s, c := range count {
		// Ties go to the larger area, then the wider, so the choice is deterministic.
		if c > count[best] || (c == count[best] && (s.X*s.Y > best.X*best.Y || (s.X*s.Y == best.X*best.Y && s.X > best.X))) {
			best = s
		}
	}
	if len(count) == 1 {
		return best, nil
	}
	const maxNamed = 5
	var odd []string
	for i, s := range sizes {
		if s != best && len(odd) < maxNamed {
			odd = append(odd, fmt.Sprintf("%s (%dx%d)", files[i].name, s.X, s.Y))
		}
	}
	return best, fmt.Errorf("%d of %d images differ from the most common size %dx%d (width×height), e.g. %s: resize or remove them",
		len(files)-count[best], len(files), best.X, best.Y, strings.Join(odd, ", "))
}

// imageSize reads f's size from its header (for a file on disk, only the header is read).
func imageSize(f *folderFile) (image.Point, error) {
	var r io.Reader = bytes.NewReader(f.data)
	if f.data == nil {
		fh, err := os.Open(f.name)
		if err != nil {
			return image.Point{}, err
		}
		defer fh.Close()
		r = bufio.NewReader(fh)
	}
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return image.Point{}, fmt.Errorf("%s: cannot decode image: %w", f.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return image.Point{}, fmt.Errorf("%s: image size %dx%d is empty or too large", f.name, cfg.Width, cfg.Height)
	}
	return image.Pt(cfg.Width, cfg.Height), nil
}

// decodeInto decodes file f (whose header imageSize checked) as image i of m, converting
// to 8-bit RGB.
func decodeInto(m *Images, i int, f folderFile) error {
	data := f.data
	if data == nil {
		var err error
		if data, err = readImageFile(f.name); err != nil {
			return err
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: cannot decode image: %w", f.name, err)
	}
	b := img.Bounds()
	if b.Dy() != m.Height || b.Dx() != m.Width {
		return fmt.Errorf("%s: image decodes to %dx%d (width×height) but its header and the set's images say %dx%d: re-encode it",
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

// readImageFile reads an image file on disk, refusing one too large to be an image.
func readImageFile(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxImageFileBytes {
		return nil, fmt.Errorf("%s is %d bytes, too large for an image", name, st.Size())
	}
	return os.ReadFile(name)
}
