// Package floatlist reads and writes comma-separated lists of numbers such as "0.5,1,2", the
// form flags and context parameters use, in one place.
package floatlist

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads a comma-separated list of finite numbers; spaces around an item and empty items
// are ignored. The error quotes the item that is not a finite number.
func Parse(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		x, err := strconv.ParseFloat(part, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%q is not a finite number; pass comma-separated numbers like 0.5,1,2", part)
		}
		out = append(out, x)
	}
	return out, nil
}

// Format writes xs as Parse reads them, each number in its shortest exact form.
func Format(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}
