package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// IDX is one decoded IDX file (the format of MNIST and Fashion-MNIST): unsigned bytes with
// their dimensions.
type IDX struct {
	Dims []int
	Data []byte
}

// maxIDXElements bounds the element count an IDX header may declare (4 GiB), so a corrupt
// header cannot ask for an absurd allocation.
const maxIDXElements = 1 << 32

// ReadIDX decodes an IDX stream; gzip compression is detected from the magic bytes. name is
// used in error messages (normally the file path). Only the unsigned-byte element type (0x08)
// is supported: it is the type of every MNIST-style file.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: bad gzip header: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("%s: truncated IDX header: %w", name, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: wrong IDX magic number % x (want 00 00 08 NDIMS): not an IDX file", name, magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("%s: IDX element type 0x%02x is not supported (only 0x08, unsigned byte)", name, magic[2])
	}
	ndims := int(magic[3])
	if ndims == 0 {
		return nil, fmt.Errorf("%s: IDX header declares 0 dimensions", name)
	}
	dims := make([]int, ndims)
	total := uint64(1)
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("%s: truncated IDX header (dimension %d): %w", name, i, err)
		}
		dims[i] = int(d)
		total *= uint64(d)
		if total > maxIDXElements {
			return nil, fmt.Errorf("%s: IDX header declares more than %d elements: corrupt header", name, uint64(maxIDXElements))
		}
	}
	// Read through a limit rather than allocating total bytes up front: a corrupt header
	// on a short file then costs only the file's size.
	data, err := io.ReadAll(io.LimitReader(br, int64(total)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading IDX data: %w", name, err)
	}
	if uint64(len(data)) < total {
		return nil, fmt.Errorf("%s: truncated IDX file: header %v declares %d bytes of data, found %d", name, dims, total, len(data))
	}
	if uint64(len(data)) > total {
		return nil, fmt.Errorf("%s: IDX file longer than its header %v declares (%d bytes): corrupt file", name, dims, total)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// ReadIDXFile reads an IDX file, gzipped or not.
func ReadIDXFile(path string) (*IDX, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadIDX(bytes.NewReader(b), path)
}

// LoadIDX reads an image file (dimensions N×H×W, or N×H×W×C) and a label file (N) in IDX
// format and returns them as an image set with numClasses classes. Labels outside
// [0, numClasses) and count mismatches are errors naming the file.
func LoadIDX(imagesPath, labelsPath, name string, numClasses int) (*Images, error) {
	im, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return idxToImages(im, lb, imagesPath, labelsPath, name, numClasses)
}

func idxToImages(im, lb *IDX, imagesPath, labelsPath, name string, numClasses int) (*Images, error) {
	if len(im.Dims) != 3 && len(im.Dims) != 4 {
		return nil, fmt.Errorf("%s: image file has dimensions %v, want N×H×W or N×H×W×C", imagesPath, im.Dims)
	}
	if len(lb.Dims) != 1 {
		return nil, fmt.Errorf("%s: label file has dimensions %v, want a single dimension N", labelsPath, lb.Dims)
	}
	out := &Images{Name: name, N: im.Dims[0], Height: im.Dims[1], Width: im.Dims[2], Channels: 1, NumClasses: numClasses}
	if len(im.Dims) == 4 {
		out.Channels = im.Dims[3]
	}
	if lb.Dims[0] != out.N {
		return nil, fmt.Errorf("%s: %d labels but %s holds %d images", labelsPath, lb.Dims[0], imagesPath, out.N)
	}
	if out.N == 0 || out.ImageSize() == 0 {
		return nil, fmt.Errorf("%s: no images (dimensions %v)", imagesPath, im.Dims)
	}
	out.Y = make([]int32, out.N)
	for i, l := range lb.Data {
		if int(l) >= numClasses {
			return nil, fmt.Errorf("%s: label %d of item %d is outside [0,%d)", labelsPath, l, i, numClasses)
		}
		out.Y[i] = int32(l)
	}
	out.X = make([]float32, len(im.Data))
	bytesToUnit(out.X, im.Data)
	return out, nil
}
