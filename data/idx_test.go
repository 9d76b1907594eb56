package data

import (
	"bytes"
	"path/filepath"
	"testing"
)

func writeTinyIDX(t *testing.T, dir string, gz bool, labels []byte) (string, string) {
	t.Helper()
	n := len(labels)
	pix := make([]byte, n*2*3)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	im, lb := idxBytes([]int{n, 2, 3}, pix), idxBytes([]int{n}, labels)
	ext := ""
	if gz {
		im, lb, ext = gzipBytes(t, im), gzipBytes(t, lb), ".gz"
	}
	return writeFile(t, filepath.Join(dir, "im.idx"+ext), im), writeFile(t, filepath.Join(dir, "lb.idx"+ext), lb)
}

func TestLoadIDXPlainAndGzip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		ip, lp := writeTinyIDX(t, dir, gz, []byte{3, 0, 2, 1})
		m, err := LoadIDX(ip, lp, "tiny", 4)
		if err != nil {
			t.Fatal(err)
		}
		if m.N != 4 || m.Height != 2 || m.Width != 3 || m.Channels != 1 || len(m.X) != 24 {
			t.Fatalf("gz=%v: got N=%d %dx%dx%d len %d", gz, m.N, m.Height, m.Width, m.Channels, len(m.X))
		}
		// Pixel (y=1,x=2) of image 2 is byte 2*6+1*3+2 = 17, value 17*7 = 119.
		if got, want := m.At(2, 1, 2, 0), float32(119)/255; got != want {
			t.Fatalf("gz=%v: pixel = %v, want %v", gz, got, want)
		}
		if m.Y[0] != 3 || m.Y[3] != 1 {
			t.Fatalf("labels %v", m.Y)
		}
	}
}

func TestIDXErrors(t *testing.T) {
	good := idxBytes([]int{2, 2}, []byte{1, 2, 3, 4})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated IDX header"},
		{"magic", append([]byte{1, 2, 8, 2}, good[4:]...), "wrong IDX magic"},
		{"dtype", append([]byte{0, 0, 0x0d, 2}, good[4:]...), "not supported"},
		{"truncated-dims", good[:6], "truncated IDX header"},
		{"truncated-data", good[:len(good)-1], "truncated IDX file"},
		{"too-long", append(good, 9), "longer than its header"},
		{"huge", idxBytes([]int{1 << 20, 1 << 20, 1 << 20}, nil), "more than"},
		{"bad-gzip", []byte{0x1f, 0x8b, 1, 2, 3}, "gzip"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.data), "file-"+c.name)
		wantErr(t, err, "file-"+c.name, c.want)
	}
	// Truncated gzip stream.
	gz := gzipBytes(t, good)
	_, err := ReadIDX(bytes.NewReader(gz[:len(gz)-10]), "cut.gz")
	wantErr(t, err, "cut.gz")
}

func TestLoadIDXBadLabels(t *testing.T) {
	dir := t.TempDir()
	ip, lp := writeTinyIDX(t, dir, false, []byte{0, 1, 9})
	_, err := LoadIDX(ip, lp, "tiny", 5)
	wantErr(t, err, lp, "label 9", "[0,5)")
	lp2 := writeFile(t, filepath.Join(dir, "short.idx"), idxBytes([]int{2}, []byte{0, 1}))
	_, err = LoadIDX(ip, lp2, "tiny", 5)
	wantErr(t, err, lp2, "2 labels", "3 images")
	_, err = LoadIDX(filepath.Join(dir, "missing"), lp, "tiny", 5)
	wantErr(t, err, "missing")
}

func FuzzIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(idxBytes([]int{1, 2, 2, 1}, []byte{1, 2, 3, 4}))
	f.Add(gzipBytes(f, idxBytes([]int{3}, []byte{1, 2, 3})))
	f.Add([]byte{0, 0, 8, 0})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("dims %v but %d bytes", m.Dims, len(m.Data))
		}
		if len(m.Dims) == 3 {
			lb := &IDX{Dims: []int{m.Dims[0]}, Data: make([]byte, m.Dims[0])}
			_, _ = idxToImages(m, lb, "im", "lb", "fuzz", 10)
		}
	})
}
