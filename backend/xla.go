//go:build xla

package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends/xla"
)

// Built with -tags xla: GoMLX's XLA/PJRT backend is linked in and registered as "xla"
// (aliases "stablehlo", "hlo", "shlo": xlaNames).
//
// Its auto-install (which downloads PJRT plugins from GitHub or PyPI at the first New) is turned
// off: a training run must never fetch native code behind the user's back. The user names an
// installed plugin instead, by absolute path ("xla:/abs/path/pjrt_c_api_cuda_plugin.so") or by
// name ("xla:cuda", found in $PJRT_PLUGIN_LIBRARY_PATH or GoMLX's standard directories).
func init() {
	xla.EnableAutoInstall(false)
	checkXLA = checkXLAPlugin
}

// checkXLAPlugin reports, before GoMLX tries to load it, a PJRT plugin that is not there, with
// the fix; the plugin's own load errors (a wrong CUDA version, no device) come from GoMLX.
// config is what follows "xla:": a plugin's absolute path or name, then GoMLX's options.
func checkXLAPlugin(config string) error {
	plugin, _, _ := strings.Cut(config, ",")
	if filepath.IsAbs(plugin) {
		if _, err := os.Stat(plugin); err != nil {
			return fmt.Errorf("PJRT plugin %s cannot be read (%w): give the absolute path of an installed plugin, e.g. -backend xla:/abs/path/pjrt_c_api_cuda_plugin.so", plugin, err)
		}
		return nil
	}
	found := xla.GetAvailablePlugins()
	if plugin == "" && len(found) > 0 || slices.Contains(found, plugin) {
		return nil
	}
	what := "no PJRT plugin is installed"
	if plugin != "" {
		what = fmt.Sprintf("PJRT plugin %q is not installed (installed: %s)", plugin, orNone(found))
	}
	return fmt.Errorf("%s: give its absolute path (-backend xla:/abs/path/plugin.so), or put its directory in $PJRT_PLUGIN_LIBRARY_PATH and use -backend xla:NAME; to install one, run `go run github.com/gomlx/go-xla/cmd/pjrt_installer@latest` (tsam never downloads plugins itself)", what)
}

// orNone joins names, or says "none".
func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
