//go:build xla

package backend

import (
	"strings"
	"testing"
)

// With -tags xla, a plugin path that does not exist is reported by name, with the fix, and
// nothing is downloaded (auto-install is off: GoMLX would otherwise fetch plugins here).
func TestXLAMissingPluginIsAClearError(t *testing.T) {
	const path = "/nonexistent/pjrt_c_api_cuda_plugin.so"
	_, err := FromFlag("xla:" + path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "-backend xla:/abs/path") {
		t.Fatalf("FromFlag(xla:%s) = %v, want an error naming the path and the fix", path, err)
	}
	if _, err := FromFlag("stablehlo:" + path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("the alias stablehlo must be checked as xla is, got %v", err)
	}
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir()) // no plugin there
	_, err = FromFlag("xla:no_such_plugin")
	if err == nil || !strings.Contains(err.Error(), `"no_such_plugin" is not installed`) || !strings.Contains(err.Error(), "PJRT_PLUGIN_LIBRARY_PATH") {
		t.Fatalf("FromFlag(xla:no_such_plugin) = %v, want an error naming the plugin and the fix", err)
	}
}

// The tag must not change the default: GoMLX's default config ("xla") would otherwise pick a
// plugin the machine may not have.
func TestXLATagKeepsCPUDefault(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	be, err := FromFlag("")
	if err != nil {
		t.Fatal(err)
	}
	if be.String() != Name {
		t.Fatalf("default backend with -tags xla is %q, want %q", be.String(), Name)
	}
}
