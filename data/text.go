package data

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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
	// NumClasses, when positive, is the number of classes: labels must be integers below
	// it. 0 infers the classes from the labels (see ReadTSV).
	NumClasses int
	// ClassNames, when set, are the classes in label order (typically those of the
	// training file): each label must be one of them and gets its index.
	ClassNames []string
}

// maxTSVLine bounds one line of a TSV file.
const maxTSVLine = 1 << 20

// utf8BOM is the byte-order mark some editors write at the start of a UTF-8 file.
const utf8BOM = "\ufeff"

// ReadTSV reads tab-separated sentence classification data (GLUE style): a header row
// naming the columns, then one example per line; blank lines are skipped and a UTF-8
// byte-order mark is dropped. Without NumClasses or ClassNames the classes are inferred:
// when every label is a non-negative integer, labels are those integers and the classes
// 0..max (at least 2); otherwise the distinct labels, sorted, are the class names and
// each label gets its name's index. Lines must be valid UTF-8 of at most 1 MiB. name
// (the file path) and the line number appear in every error.
func ReadTSV(r io.Reader, name string, opts TSVOptions) (*Text, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxTSVLine)
	line := 0
	next := func() (string, bool, error) {
		if !sc.Scan() {
			return "", false, scanError(sc.Err(), name, line+1)
		}
		line++
		row := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			row = strings.TrimPrefix(row, utf8BOM)
		}
		if i := invalidUTF8(row); i >= 0 {
			return "", false, fmt.Errorf("%s:%d: invalid UTF-8 at byte %d of the line (0x%02x): convert the file to UTF-8, e.g. iconv -f LATIN1 -t UTF-8", name, line, i+1, row[i])
		}
		return row, true, nil
	}
	head, ok, err := next()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: empty file: want a header row naming the label and sentence columns", name)
	}
	header := strings.Split(head, "\t")
	li, ti, err := tsvColumns(header, name, opts)
	if err != nil {
		return nil, err
	}
	t := &Text{Name: name}
	var labels []string
	var lines []int
	for {
		row, ok, err := next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if row == "" {
			continue
		}
		fields := strings.Split(row, "\t")
		if len(fields) != len(header) {
			return nil, fmt.Errorf("%s:%d: %d tab-separated fields, the header has %d", name, line, len(fields), len(header))
		}
		t.Sentences = append(t.Sentences, fields[ti])
		labels = append(labels, strings.TrimSpace(fields[li]))
		lines = append(lines, line)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no examples after the header", name)
	}
	if t.Y, t.ClassNames, err = labelIDs(labels, lines, name, opts); err != nil {
		return nil, err
	}
	t.NumClasses = len(t.ClassNames)
	return t, nil
}

// scanError turns a scanner error into one naming the file and the line.
func scanError(err error, name string, line int) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("%s:%d: line longer than the limit of %d bytes (1 MiB): shorten or remove it", name, line, maxTSVLine)
	}
	return fmt.Errorf("%s:%d: %w", name, line, err)
}

// invalidUTF8 returns the byte offset of the first invalid UTF-8 sequence of s, or -1.
func invalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return i
			}
		}
	}
	return -1
}

// labelIDs maps the labels (from the given lines) to ids and returns the class names.
func labelIDs(labels []string, lines []int, name string, opts TSVOptions) ([]int32, []string, error) {
	y := make([]int32, len(labels))
	if opts.ClassNames != nil {
		for i, l := range labels {
			k := slices.Index(opts.ClassNames, l)
			if k < 0 {
				return nil, nil, fmt.Errorf("%s:%d: label %q is not one of the %d training labels (%s): fix the label or add examples of it to the training file",
					name, lines[i], l, len(opts.ClassNames), strings.Join(opts.ClassNames, ", "))
			}
			y[i] = int32(k)
		}
		return y, opts.ClassNames, nil
	}
	maxLabel, numeric := int64(-1), true
	for i, l := range labels {
		v, err := strconv.ParseInt(l, 10, 32)
		if err != nil || v < 0 || (opts.NumClasses > 0 && int(v) >= opts.NumClasses) {
			if opts.NumClasses > 0 {
				return nil, nil, fmt.Errorf("%s:%d: label %q is not an integer in [0,%d)", name, lines[i], l, opts.NumClasses)
			}
			numeric = false
			break
		}
		y[i], maxLabel = int32(v), max(maxLabel, v)
	}
	if numeric {
		k := opts.NumClasses
		if k <= 0 {
			k = max(int(maxLabel)+1, 2)
		}
		return y, defaultClassNames(k), nil
	}
	set := map[string]bool{}
	for _, l := range labels {
		set[l] = true
	}
	names := sortedKeys(set)
	if len(names) < 2 {
		return nil, nil, fmt.Errorf("%s: every example has the label %q: a classifier needs at least 2 classes", name, names[0])
	}
	for i, l := range labels {
		y[i] = int32(slices.Index(names, l))
	}
	return y, names, nil
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
	if !st.IsDir() && strings.HasSuffix(strings.ToLower(src), ".tsv") {
		return nil, fmt.Errorf("%s is a .tsv file, but sst2 wants the folder (or .tar.gz) holding SST-2/train.tsv: pass %s; to train on TSV files of your own, use the data set tsv",
			src, sst2Root(src))
	}
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

// sst2Root returns the folder to pass for the SST-2 file p: above SST-2/ if p is in it.
func sst2Root(p string) string {
	d := filepath.Dir(p)
	if filepath.Base(d) == "SST-2" {
		return filepath.Dir(d)
	}
	return d
}

// readSST2Dir reads dir/SST-2/<split>.tsv or dir/<split>.tsv; an unlabelled test file
// (GLUE's own) is replaced by the dev file.
func readSST2Dir(dir, split string, opts TSVOptions) (*Text, error) {
	p := filepath.Join(dir, "SST-2", split+".tsv")
	if _, err := os.Stat(p); err != nil {
		p = filepath.Join(dir, split+".tsv")
	}
	if split == "test" && !tsvHasLabels(p) {
		if dev := filepath.Join(filepath.Dir(p), "dev.tsv"); tsvHasLabels(dev) {
			p = dev
		}
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
