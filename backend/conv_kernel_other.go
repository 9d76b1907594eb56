//go:build !amd64

package backend

import "unsafe"

// Without the assembly tile the implicit-GEMM convolutions decline (convImplicitOK) and
// im2col + GEMM runs.
const convTileSupported = false

func convTile6x16(*[6]unsafe.Pointer, *int, int, int, *float32, int, *[6]unsafe.Pointer, int) {
	panic("convTile6x16: no assembly kernel on this architecture")
}

const convTileZSupported = false

func convTile8x16Z(unsafe.Pointer, int, *int, int, int, *float32, int, unsafe.Pointer, int, int) {
	panic("convTile8x16Z: no assembly kernel on this architecture")
}

func convTile8x32Z(unsafe.Pointer, int, *int, int, int, *float32, int, unsafe.Pointer, int, int) {
	panic("convTile8x32Z: no assembly kernel on this architecture")
}

func convTile8x48Z(unsafe.Pointer, int, *int, int, int, *float32, int, unsafe.Pointer, int, int) {
	panic("convTile8x48Z: no assembly kernel on this architecture")
}
