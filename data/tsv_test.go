package data

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trecLike writes a 6-class question set with string labels, a BOM on the training file,
// an unlabelled test file (as GLUE ships them) and a labelled dev file.
func trecLike(t *testing.T) string {
	dir := t.TempDir()
	var train strings.Builder
	train.WriteString(utf8BOM + "label\tsentence\n")
	labels := []string{"NUM", "LOC", "HUM", "DESC", "ENTY", "ABBR"}
	for i := range 30 {
		train.WriteString(labels[i%6] + "\tquestion number " + strings.Repeat("x", i%4) + "\n")
	}
	writeFile(t, filepath.Join(dir, "train.tsv"), []byte(train.String()))
	writeFile(t, filepath.Join(dir, "test.tsv"), []byte("index\tsentence\n0\twhat is it ?\n"))
	writeFile(t, filepath.Join(dir, "dev.tsv"), []byte("label\tsentence\nHUM\twho ?\nABBR\twhat does NASA stand for ?\n"))
	return dir
}

func TestTSVStringLabelsAndDevAsTest(t *testing.T) {
	dir := trecLike(t)
	for _, src := range []string{dir, filepath.Join(dir, "train.tsv")} {
		set, err := Load("tsv", src, "train")
		if err != nil {
			t.Fatal(err)
		}
		tr := set.Text
		want := []string{"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
		if tr.NumClasses != 6 || !slices.Equal(tr.ClassNames, want) || tr.N() != 30 || tr.Y[0] != 5 || tr.Y[5] != 0 {
			t.Fatalf("%s train: K=%d names %v N=%d y %v", src, tr.NumClasses, tr.ClassNames, tr.N(), tr.Y[:6])
		}
		te, err := TSV(src, "test")
		if err != nil {
			t.Fatal(err)
		}
		if te.N() != 2 || !slices.Equal(te.Y, []int32{3, 0}) || !slices.Equal(te.ClassNames, want) || !strings.HasSuffix(te.Name, "/dev") {
			t.Fatalf("test split (the dev file, test.tsv is unlabelled): %s N=%d y %v", te.Name, te.N(), te.Y)
		}
	}
	// Integer labels beyond 2 classes: 6 classes inferred, as ReadTSV does.
	ints := t.TempDir()
	writeFile(t, filepath.Join(ints, "train.tsv"), []byte("label\tsentence\n0\ta\n5\tb\n2\tc\n"))
	writeFile(t, filepath.Join(ints, "test.tsv"), []byte("label\tsentence\n2\td\n"))
	te, err := TSV(ints, "test")
	if err != nil || te.NumClasses != 6 || te.Y[0] != 2 {
		t.Fatalf("integer labels: %v %+v", err, te)
	}
}

func TestTSVErrors(t *testing.T) {
	dir := trecLike(t)
	writeFile(t, filepath.Join(dir, "dev.tsv"), []byte("label\tsentence\nHUM\twho ?\nQUUX\twhat ?\n"))
	_, err := TSV(dir, "test")
	wantErr(t, err, "dev.tsv:3", `label "QUUX"`, "ABBR, DESC")

	long := "label\tsentence\n1\tok\n0\t" + strings.Repeat("w ", maxTSVLine) + "\n"
	_, err = ReadTSV(strings.NewReader(long), "long.tsv", TSVOptions{})
	wantErr(t, err, "long.tsv:3", "limit of 1048576 bytes")

	_, err = ReadTSV(strings.NewReader("label\tsentence\n1\tok\n0\tna\xefve caf\xe9\n"), "latin1.tsv", TSVOptions{})
	wantErr(t, err, "latin1.tsv:3", "invalid UTF-8", "byte 5 of the line (0xef)", "iconv")

	_, err = SST2(filepath.Join(dir, "train.tsv"), "train")
	wantErr(t, err, "train.tsv is a .tsv file", "pass "+dir, "data set tsv")

	_, err = TSV(t.TempDir(), "train")
	wantErr(t, err, "holds no train.tsv")
	only := t.TempDir()
	writeFile(t, filepath.Join(only, "train.tsv"), []byte("label\tsentence\nA\tx\nB\ty\n"))
	_, err = TSV(only, "test")
	wantErr(t, err, "no test.tsv or dev.tsv")
	_, err = ReadTSV(strings.NewReader("label\tsentence\nA\tx\nA\ty\n"), "one.tsv", TSVOptions{})
	wantErr(t, err, "one.tsv", "at least 2 classes")
}

// TestReadTSVStripsBOM checks that a byte-order mark does not hide the first column.
func TestReadTSVStripsBOM(t *testing.T) {
	x, err := ReadTSV(strings.NewReader("\ufefflabel\tsentence\n1\tok\n0\tno\n"), "bom.tsv", TSVOptions{})
	if err != nil || x.N() != 2 {
		t.Fatalf("%v", err)
	}
}
