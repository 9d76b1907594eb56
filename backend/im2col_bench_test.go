package backend

import "testing"

// BenchmarkIm2col times building the full patch matrix of a 3×3, 16-channel, 32×32 layer at
// batch 64 (37.7 MB) on one goroutine, in 4096-row chunks as convExec does.
func BenchmarkIm2col(b *testing.B) {
	op := &convOp{batch: 64, cin: 16, cout: 16, groups: 1, inSp: []int{32, 32}, kSp: []int{3, 3}, outSp: []int{32, 32},
		strides: []int{1, 1}, inDil: []int{1, 1}, kDil: []int{1, 1}, padLow: []int{1, 1}, effInSp: []int{32, 32}}
	x := make([]float32, 64*32*32*16)
	xStrides := stridesOf([]int{64, 32, 32, 16})
	table := op.inputIndexTable()
	rows, cols, chunk := 64*32*32, 9*16, 4096
	p := make([]float32, chunk*cols)
	b.SetBytes(int64(rows * cols * 4))
	for range b.N {
		for r0 := 0; r0 < rows; r0 += chunk {
			im2colRows(op, x, xStrides, table, p, r0, chunk, 0, 16)
		}
	}
}
