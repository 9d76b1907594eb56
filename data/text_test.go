package data

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const tinyTSV = "label\tsentence\n1\tA great , great film !\n0\tnot great\n\n1\tIt's fine\n"

func TestReadTSV(t *testing.T) {
	x, err := ReadTSV(strings.NewReader(tinyTSV), "tiny.tsv", TSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if x.N() != 3 || x.NumClasses != 2 || !slices.Equal(x.Y, []int32{1, 0, 1}) || x.Sentences[1] != "not great" {
		t.Fatalf("%+v", x)
	}
	// Column order and name come from the header.
	x, err = ReadTSV(strings.NewReader("content\tid\tlabel\r\nhello\t7\t2\r\n"), "c.tsv", TSVOptions{})
	if err != nil || x.Sentences[0] != "hello" || x.Y[0] != 2 || x.NumClasses != 3 {
		t.Fatalf("%+v %v", x, err)
	}
}

func TestReadTSVErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "empty file"},
		{"label\tsentence\n", "no examples"},
		{"sentence\n", "no \"label\" column"},
		{"label\tid\n1\t2\n", "no sentence column"},
		{"label\tsentence\n1\tok\nx\tbad\n", "f.tsv:3: label \"x\""},
		{"label\tsentence\n1\tok\n-1\tbad\n", "f.tsv:3"},
		{"label\tsentence\n1\tok\textra\n", "f.tsv:2: 3 tab-separated fields"},
		{"label\tsentence\n5\tok\n", "[0,2)"},
	}
	for _, c := range cases {
		_, err := ReadTSV(strings.NewReader(c.in), "f.tsv", TSVOptions{NumClasses: 2})
		wantErr(t, err, "f.tsv", c.want)
	}
}

func FuzzTSV(f *testing.F) {
	f.Add(tinyTSV)
	f.Add("label\tcontent\n0\tx\n")
	f.Add("a\tb\n")
	f.Fuzz(func(t *testing.T, s string) {
		x, err := ReadTSV(strings.NewReader(s), "fuzz.tsv", TSVOptions{})
		if err != nil {
			return
		}
		if x.N() == 0 || len(x.Y) != x.N() {
			t.Fatalf("accepted input with %d sentences and %d labels", x.N(), len(x.Y))
		}
		for _, y := range x.Y {
			if y < 0 || int(y) >= x.NumClasses {
				t.Fatalf("label %d outside [0,%d)", y, x.NumClasses)
			}
		}
		tok, err := BuildTokenizer(x.Sentences, TokenizerOptions{MaxLen: 8})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range tok.EncodeAll(x) {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("token id %d outside the vocabulary of %d", id, tok.VocabSize())
			}
		}
	})
}

func TestTokenize(t *testing.T) {
	got := Tokenize("It's a GREAT film, isn't it?!  Crème brûlée")
	want := []string{"it's", "a", "great", "film", ",", "isn't", "it", "?", "!", "crème", "brûlée"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q", got)
	}
}

func TestTokenizerVocabAndEncode(t *testing.T) {
	train := []string{"b a a", "c a b", "d"}
	tok, err := BuildTokenizer(train, TokenizerOptions{MaxLen: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Counts a:3 b:2 c:1 d:1 → by count, ties alphabetical.
	if !slices.Equal(tok.Vocab, []string{"<pad>", "<unk>", "a", "b", "c", "d"}) {
		t.Fatalf("vocab %v", tok.Vocab)
	}
	dst := make([]int32, 4)
	if n := tok.Encode(dst, "A zzz b"); n != 3 || !slices.Equal(dst, []int32{2, UnkID, 3, PadID}) {
		t.Fatalf("encode %v n=%d", dst, n)
	}
	if n := tok.Encode(dst, "a a a a a a"); n != 4 || !slices.Equal(dst, []int32{2, 2, 2, 2}) {
		t.Fatalf("truncate %v", dst)
	}
	tok, _ = BuildTokenizer(train, TokenizerOptions{MinCount: 2})
	if !slices.Equal(tok.Vocab, []string{"<pad>", "<unk>", "a", "b"}) || tok.MaxLen != 64 {
		t.Fatalf("min count vocab %v, maxlen %d", tok.Vocab, tok.MaxLen)
	}
	tok, _ = BuildTokenizer(train, TokenizerOptions{MaxVocab: 3})
	if tok.VocabSize() != 3 {
		t.Fatalf("max vocab %v", tok.Vocab)
	}
	_, err = BuildTokenizer(train, TokenizerOptions{MaxVocab: 2})
	wantErr(t, err, "MaxVocab=2")
}

func TestTextDataset(t *testing.T) {
	x, _ := ReadTSV(strings.NewReader(tinyTSV), "tiny.tsv", TSVOptions{})
	tok, _ := BuildTokenizer(x.Sentences, TokenizerOptions{MaxLen: 5})
	d, err := NewTextDataset(x, tok, BatchOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, in, lb, err := d.Yield()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in[0].Shape().Dimensions, []int{2, 5}) || !slices.Equal(lb[0].Shape().Dimensions, []int{2, 1}) {
		t.Fatalf("shapes %v %v", in[0].Shape(), lb[0].Shape())
	}
	ids := in[0].Value().([][]int32)
	// "a great , great film" → great is the most frequent word (id 2).
	if ids[0][1] != 2 || ids[0][3] != 2 || ids[1][1] != 2 || ids[1][2] != PadID {
		t.Fatalf("ids %v (vocab %v)", ids, tok.Vocab)
	}
	if _, _, _, err := d.Yield(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := d.Yield(); err != io.EOF {
		t.Fatalf("want io.EOF, got %v", err)
	}
}

func TestSST2FolderAndTar(t *testing.T) {
	files := map[string][]byte{"SST-2/train.tsv": []byte(tinyTSV), "SST-2/dev.tsv": []byte("label\tcontent\n0\tbad\n")}
	arch := writeFile(t, filepath.Join(t.TempDir(), "sst2.tar.gz"), tarGz(t, "", files))
	dir := t.TempDir()
	for n, b := range files {
		writeFile(t, filepath.Join(dir, n), b)
	}
	for _, src := range []string{arch, dir, filepath.Join(dir, "SST-2")} {
		x, err := SST2(src, "validation")
		if err != nil || x.N() != 1 || x.Name != "sst2/dev" || x.ClassNames[1] != "positive" {
			t.Fatalf("%s: %v", src, err)
		}
	}
	_, err := SST2(arch, "test")
	wantErr(t, err, "sst2.tar.gz", "test.tsv")
	_, err = SST2(arch, "nope")
	wantErr(t, err, "unknown SST-2 split")
}
