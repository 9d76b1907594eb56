package data

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Reserved token ids: padding fills sentences up to MaxLen; unknown stands for words out
// of the vocabulary.
const (
	PadID = 0
	UnkID = 1
)

// TokenizerOptions configures BuildTokenizer.
type TokenizerOptions struct {
	// MaxVocab caps the vocabulary size, the two reserved tokens included; 0 means no cap.
	MaxVocab int
	// MinCount drops words seen fewer times in the training split; 0 means 1.
	MinCount int
	// MaxLen is the fixed sequence length (longer sentences are truncated); 0 means 64.
	MaxLen int
}

// Tokenizer maps sentences to fixed-length word ids. Words are lower-cased runs of letters,
// digits and apostrophes; every other non-space character is a word of its own.
type Tokenizer struct {
	// Vocab lists the words by id: Vocab[PadID] = "<pad>", Vocab[UnkID] = "<unk>", then the
	// training words by decreasing count (ties alphabetical).
	Vocab []string
	// MaxLen is the encoded sequence length.
	MaxLen int
	index  map[string]int32
}

// Tokenize splits a sentence into lower-cased words.
func Tokenize(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'':
			cur.WriteRune(r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			out = append(out, string(r))
		}
	}
	flush()
	return out
}

// BuildTokenizer builds the vocabulary from the training sentences.
func BuildTokenizer(sentences []string, opts TokenizerOptions) (*Tokenizer, error) {
	if opts.MaxVocab != 0 && opts.MaxVocab < 3 {
		return nil, fmt.Errorf("tokenizer: MaxVocab=%d leaves no room for words beside <pad> and <unk>; use 0 (no cap) or at least 3", opts.MaxVocab)
	}
	if opts.MinCount < 0 || opts.MaxLen < 0 {
		return nil, fmt.Errorf("tokenizer: MinCount=%d and MaxLen=%d must not be negative", opts.MinCount, opts.MaxLen)
	}
	minCount, maxLen := max(opts.MinCount, 1), opts.MaxLen
	if maxLen == 0 {
		maxLen = 64
	}
	counts := map[string]int{}
	for _, s := range sentences {
		for _, w := range Tokenize(s) {
			counts[w]++
		}
	}
	words := make([]string, 0, len(counts))
	for w, c := range counts {
		if c >= minCount {
			words = append(words, w)
		}
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	if opts.MaxVocab > 0 && len(words) > opts.MaxVocab-2 {
		words = words[:opts.MaxVocab-2]
	}
	t := &Tokenizer{Vocab: append([]string{"<pad>", "<unk>"}, words...), MaxLen: maxLen, index: map[string]int32{}}
	for i, w := range t.Vocab[2:] {
		t.index[w] = int32(i + 2)
	}
	return t, nil
}

// VocabSize is the number of token ids, reserved ones included.
func (t *Tokenizer) VocabSize() int { return len(t.Vocab) }

// Encode writes the ids of sentence s into dst (len MaxLen), padding with PadID, and
// returns the number of real tokens.
func (t *Tokenizer) Encode(dst []int32, s string) int {
	words := Tokenize(s)
	n := min(len(words), t.MaxLen)
	for i := range t.MaxLen {
		dst[i] = PadID
		if i < n {
			id, ok := t.index[words[i]]
			if !ok {
				id = UnkID
			}
			dst[i] = id
		}
	}
	return n
}

// EncodeAll encodes every sentence of x: N×MaxLen ids, row-major.
func (t *Tokenizer) EncodeAll(x *Text) []int32 {
	out := make([]int32, x.N()*t.MaxLen)
	for i, s := range x.Sentences {
		t.Encode(out[i*t.MaxLen:(i+1)*t.MaxLen], s)
	}
	return out
}

// TextDataset serves a tokenized text set to GoMLX: each Yield gives inputs [B,MaxLen]
// int32 token ids (PadID-padded) and labels [B,1] int32. It implements train.Dataset.
type TextDataset struct {
	name   string
	ids    []int32
	y      []int32
	maxLen int
	b      *batcher
}

var _ train.Dataset = (*TextDataset)(nil)

// NewTextDataset tokenizes x with tok and returns a dataset over it.
func NewTextDataset(x *Text, tok *Tokenizer, opts BatchOptions) (*TextDataset, error) {
	if x.N() == 0 || len(x.Y) != x.N() {
		return nil, fmt.Errorf("%s: %d sentences and %d labels", x.Name, x.N(), len(x.Y))
	}
	for i, y := range x.Y {
		if y < 0 || int(y) >= x.NumClasses {
			return nil, fmt.Errorf("%s: label %d of sentence %d is outside [0,%d)", x.Name, y, i, x.NumClasses)
		}
	}
	if err := opts.validate(x.N()); err != nil {
		return nil, fmt.Errorf("%s: %w", x.Name, err)
	}
	return &TextDataset{name: x.Name, ids: tok.EncodeAll(x), y: x.Y, maxLen: tok.MaxLen, b: newBatcher(x.N(), opts)}, nil
}

// Name returns the text set's name.
func (d *TextDataset) Name() string { return d.name }

// Reset starts the next epoch.
func (d *TextDataset) Reset() { d.b.startEpoch(d.b.epoch + 1) }

// SetEpoch restarts at the beginning of the given epoch.
func (d *TextDataset) SetEpoch(epoch int) { d.b.startEpoch(epoch) }

// NumBatches returns the number of batches in one epoch.
func (d *TextDataset) NumBatches() int { return d.b.numBatches() }

// NextBatch returns the next batch on the host: ids B×MaxLen and labels, or io.EOF.
func (d *TextDataset) NextBatch() (ids, y []int32, err error) {
	idx, _, err := d.b.next()
	if err != nil {
		return nil, nil, err
	}
	L := d.maxLen
	ids, y = make([]int32, len(idx)*L), make([]int32, len(idx))
	for j, i := range idx {
		copy(ids[j*L:(j+1)*L], d.ids[i*L:(i+1)*L])
		y[j] = d.y[i]
	}
	return ids, y, nil
}

// Yield implements train.Dataset: spec nil, inputs [B,MaxLen] int32, labels [B,1] int32.
func (d *TextDataset) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	ids, y, err := d.NextBatch()
	if err != nil {
		return nil, nil, nil, err
	}
	b := len(y)
	return nil, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ids, b, d.maxLen)},
		[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, b, 1)}, nil
}
