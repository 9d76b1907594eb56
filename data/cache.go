package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
)

// CacheEnv names the environment variable that overrides the cache folder; the value "off"
// disables the cache.
const CacheEnv = "TSAM_CACHE_DIR"

// cacheMagic starts every cache file; bump the digit when the layout changes so old files
// are ignored rather than misread.
const cacheMagic = "TSAMIMG1"

// CacheDir returns the folder holding decoded image sets: $TSAM_CACHE_DIR when set, else
// os.UserCacheDir()/tsam (e.g. ~/.cache/tsam). It returns "" when caching is off
// (TSAM_CACHE_DIR=off) or no cache folder can be found.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		if d == "off" {
			return ""
		}
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "tsam")
}

// cacheKey hashes what determines a decoded set: the loader kind, each source file's
// absolute path, size and modification time, and the loader options. Changing any source
// file (or its mtime) therefore makes a new entry.
func cacheKey(kind string, sources []string, opts string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", cacheMagic, kind, opts)
	for _, s := range sources {
		abs, err := filepath.Abs(s)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", abs, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// cachedImages returns the set cached under (kind, sources, opts), or calls load and
// caches its result. The cache never makes a load fail: an unreadable or corrupt entry is
// rebuilt, and a failed cache write is ignored (the set is still returned).
func cachedImages(cacheDir, kind string, sources []string, opts string, load func() (*Images, error)) (*Images, error) {
	if cacheDir == "" {
		return load()
	}
	key, err := cacheKey(kind, sources, opts)
	if err != nil {
		return load()
	}
	path := filepath.Join(cacheDir, kind+"-"+key+".bin")
	if m, err := readImageCache(path); err == nil {
		return m, nil
	}
	m, err := load()
	if err != nil {
		return nil, err
	}
	if os.MkdirAll(cacheDir, 0o755) == nil {
		_ = atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error { return writeImageCache(w, m) })
	}
	return m, nil
}

type cacheHeader struct {
	Name                    string
	N, Height, Width, Chans int
	NumClasses              int
	ClassNames              []string
}

// writeImageCache stores pixels as bytes (value×255, rounded): every loader decodes 8-bit
// sources, so this is lossless and four times smaller than float32.
func writeImageCache(w io.Writer, m *Images) error {
	hdr, err := json.Marshal(cacheHeader{m.Name, m.N, m.Height, m.Width, m.Channels, m.NumClasses, m.ClassNames})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(cacheMagic)
	binary.Write(bw, binary.LittleEndian, uint32(len(hdr)))
	bw.Write(hdr)
	binary.Write(bw, binary.LittleEndian, m.Y)
	pix := make([]byte, len(m.X))
	for i, v := range m.X {
		pix[i] = byte(math.Round(float64(v) * 255))
	}
	bw.Write(pix)
	return bw.Flush()
}

func readImageCache(path string) (*Images, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte(cacheMagic)) || len(b) < len(cacheMagic)+4 {
		return nil, fmt.Errorf("%s: not a tsam cache file", path)
	}
	b = b[len(cacheMagic):]
	n := int(binary.LittleEndian.Uint32(b))
	b = b[4:]
	if n > len(b) {
		return nil, fmt.Errorf("%s: truncated cache file", path)
	}
	var h cacheHeader
	if err := json.Unmarshal(b[:n], &h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b = b[n:]
	m := &Images{Name: h.Name, N: h.N, Height: h.Height, Width: h.Width, Channels: h.Chans,
		NumClasses: h.NumClasses, ClassNames: h.ClassNames}
	if h.N < 0 || len(b) != 4*h.N+h.N*m.ImageSize() {
		return nil, fmt.Errorf("%s: cache file size does not match its header", path)
	}
	m.Y = make([]int32, h.N)
	for i := range m.Y {
		m.Y[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	m.X = make([]float32, h.N*m.ImageSize())
	bytesToUnit(m.X, b[4*h.N:])
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
