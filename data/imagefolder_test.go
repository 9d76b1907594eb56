package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pngBytes encodes a w×h RGB image whose pixel (x,y) is (10x, 20y, v).
func pngBytes(t testing.TB, w, h int, v uint8) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(10 * x), uint8(20 * y), v, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// folderFiles is a small folder: 2 splits, classes cat and dog (test has only dog).
func folderFiles(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"train/cat/a.png":     pngBytes(t, 4, 3, 1),
		"train/cat/b.png":     pngBytes(t, 4, 3, 2),
		"train/dog/c.jpg":     jpegBytes(t, 4, 3),
		"train/dog/notes.txt": []byte("ignored"),
		"test/dog/d.png":      pngBytes(t, 4, 3, 3),
	}
}

func writeFolder(t *testing.T, files map[string][]byte) string {
	dir := t.TempDir()
	for name, b := range files {
		writeFile(t, filepath.Join(dir, name), b)
	}
	return dir
}

func tarGz(t testing.TB, prefix string, files map[string][]byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: prefix + name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func checkFolderSet(t *testing.T, m *Images) {
	t.Helper()
	if m.N != 3 || m.Height != 3 || m.Width != 4 || m.Channels != 3 || m.NumClasses != 2 {
		t.Fatalf("N=%d %dx%dx%d K=%d", m.N, m.Height, m.Width, m.Channels, m.NumClasses)
	}
	if m.ClassNames[0] != "cat" || m.ClassNames[1] != "dog" || m.Y[0] != 0 || m.Y[1] != 0 || m.Y[2] != 1 {
		t.Fatalf("classes %v labels %v", m.ClassNames, m.Y)
	}
	// b.png (second cat image): pixel (x=3,y=2) = (30, 40, 2).
	if m.At(1, 2, 3, 0) != 30.0/255 || m.At(1, 2, 3, 1) != 40.0/255 || m.At(1, 2, 3, 2) != 2.0/255 {
		t.Fatalf("pixel %v %v %v", m.At(1, 2, 3, 0), m.At(1, 2, 3, 1), m.At(1, 2, 3, 2))
	}
	// The grey JPEG becomes three equal channels near 128.
	if v := m.At(2, 1, 1, 0); v < 120.0/255 || v > 136.0/255 || m.At(2, 1, 1, 1) != v {
		t.Fatalf("jpeg pixel %v", v)
	}
}

func TestImageFolderDirAndTar(t *testing.T) {
	noCache(t)
	files := folderFiles(t)
	m, err := ImageFolder(writeFolder(t, files), "train")
	if err != nil {
		t.Fatal(err)
	}
	checkFolderSet(t, m)
	arch := writeFile(t, filepath.Join(t.TempDir(), "set.tar.gz"), tarGz(t, "./myset/", files))
	m, err = ImageFolder(arch, "train")
	if err != nil {
		t.Fatal(err)
	}
	checkFolderSet(t, m)
	// The test split knows both classes, so dog keeps label 1.
	te, err := ImageFolder(arch, "test")
	if err != nil || te.N != 1 || te.Y[0] != 1 || te.NumClasses != 2 {
		t.Fatalf("test split: %v", err)
	}
	// Second load comes from the cache, identical.
	again, err := ImageFolder(arch, "train")
	if err != nil || again.Name != m.Name || len(again.X) != len(m.X) || again.X[17] != m.X[17] {
		t.Fatalf("cached load: %v", err)
	}
}

func TestImageFolderErrors(t *testing.T) {
	noCache(t)
	files := folderFiles(t)
	files["train/dog/big.png"] = pngBytes(t, 5, 3, 0)
	_, err := ImageFolder(writeFolder(t, files), "train")
	wantErr(t, err, "big.png", "5x3")

	files = folderFiles(t)
	files["train/cat/broken.png"] = []byte("\x89PNG\r\n\x1a\nnot really")
	_, err = ImageFolder(writeFolder(t, files), "train")
	wantErr(t, err, "broken.png", "cannot decode")

	dir := writeFolder(t, folderFiles(t))
	if err := os.MkdirAll(filepath.Join(dir, "train", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = ImageFolder(dir, "train")
	wantErr(t, err, filepath.Join("train", "empty"), "no .jpg")

	if err := os.MkdirAll(filepath.Join(dir, "empty-split"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = ImageFolder(dir, "empty-split")
	wantErr(t, err, "empty-split", "no class folder with images")

	_, err = ImageFolder(dir, "valid")
	wantErr(t, err, "no split folder \"valid\"", "test", "train")

	arch := writeFile(t, filepath.Join(t.TempDir(), "set.tar.gz"), tarGz(t, "", folderFiles(t)))
	_, err = ImageFolder(arch, "valid")
	wantErr(t, err, "set.tar.gz", "splits found: test, train")

	whole, _ := os.ReadFile(arch)
	cut := writeFile(t, filepath.Join(t.TempDir(), "cut.tar.gz"), whole[:len(whole)/2])
	_, err = ImageFolder(cut, "train")
	wantErr(t, err, "cut.tar.gz")

	_, err = ImageFolder(filepath.Join(t.TempDir(), "none"), "train")
	wantErr(t, err, "none", "not found")
}

func FuzzImageFolderTar(f *testing.F) {
	f.Add(tarGz(f, "", folderFiles(f)))
	f.Add(tarGz(f, "x/", map[string][]byte{"train/a/1.png": pngBytes(f, 2, 2, 0), "train/b/2.png": []byte("junk")}))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseTarFolder(bytes.NewReader(b), "fuzz.tar.gz", "train")
		if err != nil {
			return
		}
		m, err := l.decode("fuzz", "fuzz.tar.gz", "train")
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted archive gives an invalid set: %v", err)
		}
	})
}

// TestImageFolderNamesTheOddSizedImage puts the odd-sized image first in sort order: the
// error must name it, not a correct image after it.
func TestImageFolderNamesTheOddSizedImage(t *testing.T) {
	noCache(t)
	files := folderFiles(t)
	files["train/cat/0-odd.png"] = pngBytes(t, 6, 5, 0)
	_, err := ImageFolder(writeFolder(t, files), "train")
	wantErr(t, err, "0-odd.png (6x5)", "most common size 4x3", "1 of 4 images")
	if strings.Contains(err.Error(), "a.png") || strings.Contains(err.Error(), "c.jpg") {
		t.Fatalf("error blames a correct image: %v", err)
	}
}

// TestImageFolderClassesComeFromTrain checks that a stray top-level folder and a nested
// folder inside a class add no class, the same as a folder and as an archive.
func TestImageFolderClassesComeFromTrain(t *testing.T) {
	noCache(t)
	files := folderFiles(t)
	files["val/images/v.png"] = pngBytes(t, 4, 3, 9)
	files["train/cat/extra/x.png"] = pngBytes(t, 4, 3, 9)
	arch := writeFile(t, filepath.Join(t.TempDir(), "set.tar.gz"), tarGz(t, "top/", files))
	for _, src := range []string{writeFolder(t, files), arch} {
		m, err := ImageFolder(src, "train")
		if err != nil {
			t.Fatal(err)
		}
		checkFolderSet(t, m)
		te, err := ImageFolder(src, "test")
		if err != nil || te.NumClasses != 2 || te.Y[0] != 1 {
			t.Fatalf("%s test split: %v (classes %v)", src, err, te.ClassNames)
		}
	}
	// A test class that train lacks would shift labels: refused, naming it.
	files = folderFiles(t)
	files["test/bird/e.png"] = pngBytes(t, 4, 3, 0)
	_, err := ImageFolder(writeFolder(t, files), "test")
	wantErr(t, err, "test/bird", "no counterpart in train/", "cat, dog")
}

// TestImageFolderNestedClassLayout checks that train/<class>/images/*.JPEG is explained:
// subfolders of class folders are skipped, in a folder and in an archive.
func TestImageFolderNestedClassLayout(t *testing.T) {
	noCache(t)
	files := map[string][]byte{
		"train/n01/images/a.JPEG": jpegBytes(t, 4, 3),
		"train/n02/images/b.JPEG": jpegBytes(t, 4, 3),
	}
	arch := writeFile(t, filepath.Join(t.TempDir(), "set.tar.gz"), tarGz(t, "tiny/", files))
	for _, src := range []string{writeFolder(t, files), arch} {
		_, err := ImageFolder(src, "train")
		wantErr(t, err, "train/n01 holds no image directly", "images/a.JPEG", "subfolders", "skipped", "train/<class>/<image>")
	}
}

// TestImageFolderCacheSeesOverwrite overwrites an image in place (the folders' mtimes do
// not change): the next load must decode the new pixels, not return the cached ones.
func TestImageFolderCacheSeesOverwrite(t *testing.T) {
	noCache(t)
	dir := writeFolder(t, folderFiles(t))
	m, err := ImageFolder(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{dir, filepath.Join(dir, "train"), filepath.Join(dir, "train", "cat")}
	stamps := make([]os.FileInfo, len(dirs))
	for i, d := range dirs {
		stamps[i], _ = os.Stat(d)
	}
	img := filepath.Join(dir, "train", "cat", "b.png")
	f, err := os.OpenFile(img, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pngBytes(t, 4, 3, 200))
	f.Close()
	later := stamps[0].ModTime().Add(2 * time.Second)
	os.Chtimes(img, later, later)
	for i, d := range dirs {
		if st, _ := os.Stat(d); !st.ModTime().Equal(stamps[i].ModTime()) {
			t.Fatalf("overwriting %s changed the mtime of %s: the test no longer tests in-place overwrites", img, d)
		}
	}
	again, err := ImageFolder(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if m.At(1, 0, 0, 2) != 2.0/255 || again.At(1, 0, 0, 2) != 200.0/255 {
		t.Fatalf("blue of b.png: %v before, %v after overwriting with 200/255 (stale cache?)", m.At(1, 0, 0, 2)*255, again.At(1, 0, 0, 2)*255)
	}
}
