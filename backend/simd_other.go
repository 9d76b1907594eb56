//go:build !amd64

package backend

import "github.com/gomlx/gomlx/backends"

// Without assembly kernels every simd* function declines, and the Go loops run.

const simdSupported = false

func simdVV(backends.OpType, []float32, []float32, []float32) bool { return false }

func simdVS(backends.OpType, []float32, []float32, float32) bool { return false }

func simdSV(backends.OpType, []float32, float32, []float32) bool { return false }

func simdMulAdd([]float32, []float32, []float32, float32, []float32, float32) bool { return false }

func simdUnary(backends.OpType, []float32, []float32) bool { return false }

func simdLog32([]float32, []float32) int { return 0 }

func simdMaskMul([]float32, []float32, []float32, float32, float32, float32) bool { return false }

func simdBNAffine(_, _, _, _, _, _, _, _ []float32) bool { return false }

func simdBNSums([]float64, []float64, []float32, []float32, []float32, []float32) bool { return false }

func simdConvertU32([]float32, []uint32) bool { return false }

func simdAddLanes(*[sumLanes]float64, []float32) int { return 0 }

func simdAddProducts(*[sumLanes]float64, []float32, []float32) int { return 0 }

func simdReduceWin(backends.ReduceOpType, []float32, []float32, []int, float32) int { return 0 }

func simdSelectWin(bool, []int32, []float32, []int) int { return 0 }

func simdScatterWin([]float32, []int32, []float32, []int) int { return 0 }
