//go:build xla

// Package xlatest gives the tests built with -tags xla their XLA backend: GoMLX's XLA/PJRT
// backend on the plugin named by $TSAM_PJRT_PLUGIN, or a skip that says what to set.
package xlatest

import (
	"os"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/tsamgo/tsam/backend"
)

// PluginEnv names the PJRT plugin the XLA tests run on: an absolute path or the name of an
// installed plugin (e.g. cuda).
const PluginEnv = "TSAM_PJRT_PLUGIN"

// Backend returns the XLA backend on $TSAM_PJRT_PLUGIN, skips the test when the variable is
// unset, and fails it when the plugin cannot be loaded (a set variable is a request to test).
func Backend(t testing.TB) backends.Backend {
	t.Helper()
	plugin := os.Getenv(PluginEnv)
	if plugin == "" {
		t.Skipf("no PJRT plugin: set %s to a plugin's absolute path (e.g. /usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so) or an installed plugin's name (cuda) to run the XLA tests", PluginEnv)
	}
	be, err := backend.FromFlag("xla:" + plugin)
	if err != nil {
		t.Fatalf("%s=%s: %v", PluginEnv, plugin, err)
	}
	return be
}
