package backend

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// openBLAS is OpenBLAS's cblas_sgemm/dgemm loaded at run time with purego (no cgo).
type openBLAS struct {
	desc    string
	sgemmFn func(order, transA, transB, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32)
	dgemmFn func(order, transA, transB, m, n, k int32, alpha float64, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float64, c unsafe.Pointer, ldc int32)
}

// CBLAS enum values.
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

var (
	openBLASOnce   sync.Once
	openBLASLoaded *openBLAS
	openBLASErr    error
)

// openBLASLibraries are tried in order; Debian's libopenblas0-pthread provides the first.
var openBLASLibraries = []string{"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"}

// loadOpenBLAS loads OpenBLAS once per process and makes it single-threaded: the backend
// splits work among goroutines itself, and calls OpenBLAS from several at once (safe for a
// single-threaded call; TestOpenBLASConcurrentCalls checks it). On AVX-512 CPUs it sets
// OPENBLAS_CORETYPE=SKYLAKEX unless the user set it, because OpenBLAS 0.3.21 (Debian 12) does
// not recognise newer AVX-512 CPUs and falls back to a kernel 5–8× slower. It also sets
// OPENBLAS_NUM_THREADS=1 unless the user set it, so that OpenBLAS starts no thread pool that
// the backend never uses (its idle threads took 14–18% of the samples of CPU profiles).
func loadOpenBLAS() (*openBLAS, error) {
	openBLASOnce.Do(func() {
		if _, set := os.LookupEnv("OPENBLAS_CORETYPE"); !set && cpuHasAVX512() {
			_ = os.Setenv("OPENBLAS_CORETYPE", "SKYLAKEX")
		}
		if _, set := os.LookupEnv("OPENBLAS_NUM_THREADS"); !set {
			_ = os.Setenv("OPENBLAS_NUM_THREADS", "1")
		}
		var handle uintptr
		var errs []string
		for _, lib := range openBLASLibraries {
			h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_GLOBAL)
			if err == nil {
				handle = h
				break
			}
			errs = append(errs, err.Error())
		}
		if handle == 0 {
			openBLASErr = fmt.Errorf("OpenBLAS not found (%s); install it (Debian/Ubuntu: apt-get install libopenblas0-pthread) or use the pure-Go GEMM (gemm=go)", strings.Join(errs, "; "))
			return
		}
		openBLASLoaded, openBLASErr = bindOpenBLAS(handle)
		if openBLASErr == nil {
			openBLASSetThreads(1)
		}
	})
	return openBLASLoaded, openBLASErr
}

// bindOpenBLAS resolves the functions used from an opened library.
func bindOpenBLAS(handle uintptr) (lib *openBLAS, err error) {
	defer func() {
		// RegisterLibFunc panics when a symbol is missing.
		if r := recover(); r != nil {
			lib, err = nil, fmt.Errorf("OpenBLAS library lacks a function: %v", r)
		}
	}()
	lib = &openBLAS{}
	purego.RegisterLibFunc(&lib.sgemmFn, handle, "cblas_sgemm")
	purego.RegisterLibFunc(&lib.dgemmFn, handle, "cblas_dgemm")
	var getConfig, getCore func() string
	purego.RegisterLibFunc(&getConfig, handle, "openblas_get_config")
	purego.RegisterLibFunc(&getCore, handle, "openblas_get_corename")
	purego.RegisterLibFunc(&openBLASSetThreads, handle, "openblas_set_num_threads")
	version := "OpenBLAS"
	if fields := strings.Fields(getConfig()); len(fields) >= 2 {
		version = fields[0] + " " + fields[1] // e.g. "OpenBLAS 0.3.21"
	}
	lib.desc = version + " (" + strings.ToUpper(getCore()) + ")"
	return lib, nil
}

// openBLASSetThreads is openblas_set_num_threads, bound by bindOpenBLAS.
var openBLASSetThreads func(n int32)

func (o *openBLAS) name() string { return o.desc }

func cblasTransFlag(t bool) int32 {
	if t {
		return cblasTrans
	}
	return cblasNoTrans
}

func (o *openBLAS) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 { // a and b may be empty: nothing to multiply, only scale C.
		scaleC(m, n, beta, c, ldc)
		return
	}
	o.sgemmFn(cblasRowMajor, cblasTransFlag(transA), cblasTransFlag(transB), int32(m), int32(n), int32(k),
		alpha, unsafe.Pointer(&a[0]), int32(lda), unsafe.Pointer(&b[0]), int32(ldb), beta, unsafe.Pointer(&c[0]), int32(ldc))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}

func (o *openBLAS) dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	o.dgemmFn(cblasRowMajor, cblasTransFlag(transA), cblasTransFlag(transB), int32(m), int32(n), int32(k),
		alpha, unsafe.Pointer(&a[0]), int32(lda), unsafe.Pointer(&b[0]), int32(ldb), beta, unsafe.Pointer(&c[0]), int32(ldc))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}

// cpuHasAVX512 reads the CPU flags from /proc/cpuinfo (Linux); false elsewhere.
func cpuHasAVX512() bool {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "flags") {
			for _, flag := range strings.Fields(line) {
				if flag == "avx512f" {
					return true
				}
			}
			return false
		}
	}
	return false
}
