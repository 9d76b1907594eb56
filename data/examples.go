package data

import "fmt"

// Examples is a labelled set in the form the batch stream serves: example i is
// X[i*Dim():(i+1)*Dim()] (float32 images, channels last) or IDs[i*Dim():(i+1)*Dim()] (int32
// token ids of a text set; X is then nil), with label Y[i] in [0, NumClasses). Dims is the
// shape of one example: [Height, Width, Channels] or [MaxLen].
type Examples struct {
	Name       string
	X          []float32
	IDs        []int32
	Y          []int32
	Dims       []int
	NumClasses int
}

// Examples is m as a batchable set, sharing m's arrays (nothing is copied).
func (m *Images) Examples() *Examples {
	return &Examples{Name: m.Name, X: m.X, Y: m.Y, Dims: []int{m.Height, m.Width, m.Channels}, NumClasses: m.NumClasses}
}

// Examples tokenizes x with t (EncodeAll) into a batchable set of token ids.
func (t *Tokenizer) Examples(x *Text) *Examples {
	return &Examples{Name: x.Name, IDs: t.EncodeAll(x), Y: x.Y, Dims: []int{t.MaxLen}, NumClasses: x.NumClasses}
}

// N is the number of examples.
func (e *Examples) N() int { return len(e.Y) }

// Dim is the number of values of one example, the product of Dims.
func (e *Examples) Dim() int {
	d := 1
	for _, v := range e.Dims {
		d *= v
	}
	return d
}

// IsText reports whether the examples are token ids.
func (e *Examples) IsText() bool { return e.X == nil && e.IDs != nil }

// Subset returns copies of the examples at indices, in that order, named name.
func (e *Examples) Subset(name string, indices []int) *Examples {
	d := e.Dim()
	out := &Examples{Name: name, Dims: e.Dims, NumClasses: e.NumClasses, Y: make([]int32, 0, len(indices))}
	for _, i := range indices {
		if e.IsText() {
			out.IDs = append(out.IDs, e.IDs[i*d:(i+1)*d]...)
		} else {
			out.X = append(out.X, e.X[i*d:(i+1)*d]...)
		}
		out.Y = append(out.Y, e.Y[i])
	}
	return out
}

// Head returns the first n examples (all when n ≤ 0 or n ≥ N), shared, not copied.
func (e *Examples) Head(n int) *Examples {
	if n <= 0 || n >= e.N() {
		return e
	}
	h := *e
	d := e.Dim()
	h.Y = e.Y[:n]
	if e.IsText() {
		h.IDs = e.IDs[:n*d]
	} else {
		h.X = e.X[:n*d]
	}
	return &h
}

// validate checks the lengths against Dims and every label against NumClasses.
func (e *Examples) validate() error {
	if e.N() == 0 || len(e.Dims) == 0 || e.Dim() <= 0 {
		return fmt.Errorf("%s: empty or malformed set (%d examples of shape %v)", e.Name, e.N(), e.Dims)
	}
	if (e.X == nil) == (e.IDs == nil) {
		return fmt.Errorf("%s: a set holds either image values or token ids", e.Name)
	}
	if got := len(e.X) + len(e.IDs); got != e.N()*e.Dim() {
		return fmt.Errorf("%s: %d values for %d examples of shape %v (want %d)", e.Name, got, e.N(), e.Dims, e.N()*e.Dim())
	}
	if e.NumClasses <= 0 {
		return fmt.Errorf("%s: NumClasses=%d, must be positive", e.Name, e.NumClasses)
	}
	for i, y := range e.Y {
		if y < 0 || int(y) >= e.NumClasses {
			return fmt.Errorf("%s: label %d of example %d is outside [0,%d)", e.Name, y, i, e.NumClasses)
		}
	}
	return nil
}
