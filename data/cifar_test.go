package data

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// cifarRecord builds one record whose pixel (y,x) of channel c is (y+2x+c*50)%256.
func cifarRecord(v CIFARVariant, label byte) []byte {
	var b bytes.Buffer
	if v == CIFAR100 {
		b.WriteByte(label / 5) // coarse label
	}
	b.WriteByte(label)
	for c := range 3 {
		for y := range 32 {
			for x := range 32 {
				b.WriteByte(byte((y + 2*x + c*50) % 256))
			}
		}
	}
	return b.Bytes()
}

func TestCIFAR10Binary(t *testing.T) {
	noCache(t)
	dir := filepath.Join(t.TempDir(), "cifar-10-batches-bin")
	for i := 1; i <= 5; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)), append(cifarRecord(CIFAR10, byte(i)), cifarRecord(CIFAR10, 9)...))
	}
	writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecord(CIFAR10, 0))
	m, err := CIFAR10Binary(filepath.Dir(dir), "train") // finds the subfolder
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 10 || m.Height != 32 || m.Channels != 3 || m.NumClasses != 10 || m.ClassNames[0] != "airplane" {
		t.Fatalf("N=%d H=%d C=%d K=%d", m.N, m.Height, m.Channels, m.NumClasses)
	}
	if m.Y[0] != 1 || m.Y[1] != 9 || m.Y[8] != 5 {
		t.Fatalf("labels %v", m.Y)
	}
	// Channel-major bytes become channels-last: pixel (3,4) channel 2 = 3+8+100.
	if got, want := m.At(4, 3, 4, 2), float32(111)/255; got != want {
		t.Fatalf("pixel %v, want %v", got, want)
	}
	te, err := CIFAR10Binary(dir, "test")
	if err != nil || te.N != 1 {
		t.Fatalf("test split: %v", err)
	}
	// Through Load, by name.
	s, err := Load("cifar10", dir, "test")
	if err != nil || s.Images.N != 1 {
		t.Fatalf("Load: %v", err)
	}
}

func TestCIFAR100Binary(t *testing.T) {
	noCache(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "train.bin"), append(cifarRecord(CIFAR100, 99), cifarRecord(CIFAR100, 42)...))
	writeFile(t, filepath.Join(dir, "fine_label_names.txt"), []byte(func() string {
		s := ""
		for i := range 100 {
			s += fmt.Sprintf("class%d\n", i)
		}
		return s
	}()))
	m, err := CIFAR100Binary(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 2 || m.NumClasses != 100 || m.Y[0] != 99 || m.Y[1] != 42 || m.ClassNames[42] != "class42" {
		t.Fatalf("N=%d K=%d Y=%v", m.N, m.NumClasses, m.Y)
	}
}

func TestCIFARBinaryErrors(t *testing.T) {
	var m Images
	rec := cifarRecord(CIFAR10, 3)
	wantErr(t, ReadCIFARBinary(rec[:100], CIFAR10, "short.bin", &m), "short.bin", "truncated")
	wantErr(t, ReadCIFARBinary(nil, CIFAR10, "empty.bin", &m), "empty.bin", "empty")
	bad := cifarRecord(CIFAR10, 10)
	wantErr(t, ReadCIFARBinary(bad, CIFAR10, "label.bin", &m), "label.bin", "label 10")
	// A CIFAR-10 file read as CIFAR-100 has the wrong record size.
	wantErr(t, ReadCIFARBinary(rec, CIFAR100, "variant.bin", &m), "variant.bin", "not a multiple")
	_, err := CIFAR10Binary(t.TempDir(), "train")
	wantErr(t, err, "data_batch_1.bin", "not found")
	_, err = CIFAR10Binary(t.TempDir(), "valid")
	wantErr(t, err, "unknown split")
}

// FuzzCIFARBinary fuzzes the record decoder on 2×2 images (13- or 14-byte records): the
// parsing logic is that of 32×32 files, and small inputs keep the fuzzer fast (with
// 3 KB records it stalls).
func FuzzCIFARBinary(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, false)
	f.Add([]byte{7, 77, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, true)
	f.Add([]byte{1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, b []byte, hundred bool) {
		v := CIFAR10
		if hundred {
			v = CIFAR100
		}
		m := &Images{Name: "fuzz", Height: 2, Width: 2, Channels: 3, NumClasses: v.numClasses()}
		if err := readCIFARRecords(b, v, 2, "fuzz", m); err != nil {
			if m.N != 0 || len(m.X) != 0 {
				t.Fatal("a failed read changed the set")
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted file gives an invalid set: %v", err)
		}
	})
}
