package data

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
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
