//go:build !unix

package bench

import "time"

// processCPUTime is not measured on this platform; CPU columns then read 0.
func processCPUTime() time.Duration { return 0 }
