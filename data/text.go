package data

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Text is an in-memory labelled sentence set.
type Text struct {
	// Name says where the set came from, e.g. "sst2/train".
	Name string
	// Sentences holds the N raw sentences.
	Sentences []string
	// Y holds the N labels, each in [0, NumClasses).
	Y []int32
	// NumClasses is the number of classes.
	NumClasses int
	// ClassNames names the classes in label order.
	ClassNames []string
}

// N returns the number of sentences.
func (t *Text) N() int { return len(t.Sentences) }

// Subset returns a new set holding the sentences at the given indices, in that order.
func (t *Text) Subset(name string, indices []int) *Text {
	out := &Text{Name: name, NumClasses: t.NumClasses, ClassNames: t.ClassNames,
		Sentences: make([]string, len(indices)), Y: make([]int32, len(indices))}
	for j, i := range indices {
		out.Sentences[j], out.Y[j] = t.Sentences[i], t.Y[i]
	}
	return out
}

// TSVOptions configures ReadTSV.
type TSVOptions struct {
	// LabelColumn names the label column; "" means "label".
	LabelColumn string
	// TextColumn names the sentence column; "" means the first of "sentence", "content",
	// "text" present in the header.
	TextColumn string
	// NumClasses, when positive, is the number of classes (labels must lie below it);
	// 0 infers it as the largest label plus one (at least 2).
	NumClasses int
}

// maxTSVLine bounds one line of a TSV file.
const maxTSVLine = 1 << 20

// ReadTSV reads GLUE-style tab-separated sentence classification data: a header row
// naming the columns, then one example per line with an integer label. name (the file
// path) and the line number appear in every error.
func ReadTSV(r io.Reader, name string, opts TSVOptions) (*Text, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxTSVLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: empty file: want a header row naming the label and sentence columns", name)
	}
	header := strings.Split(strings.TrimRight(sc.Text(), "\r"), "\t")
	li, ti, err := tsvColumns(header, name, opts)
	if err != nil {
		return nil, err
	}
	t := &Text{Name: name}
	maxLabel := int32(-1)
	for line := 2; sc.Scan(); line++ {
		row := strings.TrimRight(sc.Text(), "\r")
		if row == "" {
			continue
		}
		fields := strings.Split(row, "\t")
		if len(fields) != len(header) {
			return nil, fmt.Errorf("%s:%d: %d tab-separated fields, the header has %d", name, line, len(fields), len(header))
		}
		l, err := strconv.ParseInt(strings.TrimSpace(fields[li]), 10, 32)
		if err != nil || l < 0 || (opts.NumClasses > 0 && int(l) >= opts.NumClasses) {
			return nil, fmt.Errorf("%s:%d: label %q is not an integer in [0,%s)", name, line, fields[li], classBound(opts.NumClasses))
		}
		t.Sentences = append(t.Sentences, fields[ti])
		t.Y = append(t.Y, int32(l))
		maxLabel = max(maxLabel, int32(l))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(t.Y) == 0 {
		return nil, fmt.Errorf("%s: no examples after the header", name)
	}
	t.NumClasses = opts.NumClasses
	if t.NumClasses <= 0 {
		t.NumClasses = max(int(maxLabel)+1, 2)
	}
	t.ClassNames = defaultClassNames(t.NumClasses)
	return t, nil
}

func classBound(k int) string {
	if k > 0 {
		return strconv.Itoa(k)
	}
	return "∞"
}

// tsvColumns finds the label and text columns of a header.
func tsvColumns(header []string, name string, opts TSVOptions) (label, text int, err error) {
	lc := opts.LabelColumn
	if lc == "" {
		lc = "label"
	}
	label = slices.Index(header, lc)
	if label < 0 {
		return 0, 0, fmt.Errorf("%s: header %q has no %q column", name, header, lc)
	}
	candidates := []string{"sentence", "content", "text"}
	if opts.TextColumn != "" {
		candidates = []string{opts.TextColumn}
	}
	for _, c := range candidates {
		if text = slices.Index(header, c); text >= 0 {
			return label, text, nil
		}
	}
	return 0, 0, fmt.Errorf("%s: header %q has no sentence column (looked for %q)", name, header, candidates)
}

// SST2ClassNames names the two SST-2 classes.
var SST2ClassNames = []string{"negative", "positive"}

// SST2 loads split "train" (67,349 rows), "dev" (872; "validation" is accepted) or "test"
// (the labelled 1,821-row file) of GLUE SST-2 from src: a .tar.gz holding SST-2/<split>.tsv,
// a folder holding SST-2/<split>.tsv, or the SST-2 folder itself.
func SST2(src, split string) (*Text, error) {
	if split == "validation" {
		split = "dev"
	}
	if split != "train" && split != "dev" && split != "test" {
		return nil, fmt.Errorf("unknown SST-2 split %q: want train, dev or test", split)
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("SST-2 source %s not found: download SST-2 from GLUE (https://gluebenchmark.com/tasks) and pass its folder or archive (%w)", src, err)
	}
	opts := TSVOptions{NumClasses: 2}
	var t *Text
	if st.IsDir() {
		t, err = readSST2Dir(src, split, opts)
	} else {
		t, err = readTSVFromTar(src, split+".tsv", opts)
	}
	if err != nil {
		return nil, err
	}
	t.Name, t.ClassNames = "sst2/"+split, SST2ClassNames
	return t, nil
}

func readSST2Dir(dir, split string, opts TSVOptions) (*Text, error) {
	p := filepath.Join(dir, "SST-2", split+".tsv")
	if _, err := os.Stat(p); err != nil {
		p = filepath.Join(dir, split+".tsv")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("SST-2 file not found: %w (want %s/SST-2/%s.tsv)", err, dir, split)
	}
	defer f.Close()
	return ReadTSV(f, p, opts)
}

// readTSVFromTar reads the first archive entry whose base name is file.
func readTSVFromTar(archive, file string, opts TSVOptions) (*Text, error) {
	b, err := os.ReadFile(archive)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip archive: %w", archive, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s holds no %s", archive, file)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt or truncated archive: %w", archive, err)
		}
		if h.Typeflag == tar.TypeReg && path.Base(h.Name) == file {
			return ReadTSV(tr, archive+":"+h.Name, opts)
		}
	}
}
