package data

import (
	"os"
	"testing"
	"time"

	"github.com/tsamgo/tsam/internal/shareddata/sharedtest"
)

// BenchmarkLoad measures each data set's load time cold (empty cache: decode and write the
// cache) and cached (read the cache), one load per iteration, and reports seconds per load:
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 1x ./data/
func BenchmarkLoad(b *testing.B) {
	sets := []struct {
		name, file, path, split string
	}{
		{"mnist", "", "", "train"},
		{"fashion-mnist", "", "", "train"},
		{"cifar10", "cifar10-jpeg.tar.gz", "", "train"},
		{"sst2", "sst2.tar.gz", "", "train"},
	}
	for _, s := range sets {
		path := s.path
		if s.file != "" {
			path = sharedtest.Require(b, s.file)
		}
		root := b.TempDir()
		cache := ""
		for _, mode := range []string{"cold", "cached"} {
			b.Run(s.name+"/"+mode, func(b *testing.B) {
				var total time.Duration
				for range b.N {
					if mode == "cold" || cache == "" {
						var err error
						if cache, err = os.MkdirTemp(root, "cache"); err != nil {
							b.Fatal(err)
						}
					}
					b.Setenv(CacheEnv, cache)
					start := time.Now()
					if _, err := Load(s.name, path, s.split); err != nil {
						b.Fatal(err)
					}
					total += time.Since(start)
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "s/load")
			})
		}
	}
}
