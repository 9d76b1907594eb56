#!/usr/bin/env bash
# gpu-check.sh: does tsam train on GoMLX's XLA backend, and how fast? For a machine with an
# NVIDIA GPU and a CUDA PJRT plugin; about 3 minutes, 5 at most (every step has a timeout).
#
#   scripts/gpu-check.sh [PLUGIN]
#
# PLUGIN (or $TSAM_PJRT_PLUGIN) is the plugin's absolute path or an installed plugin's name;
# without either, the usual install places are searched. Nothing is downloaded
# (GOMLX_NO_AUTO_INSTALL=1, and tsam turns GoMLX's auto-install off anyway).
#
# 1. builds tsam with -tags xla (cgo);
# 2. runs the XLA tests: TestXLATrainsLikeCPU, ERM, SAM and TSAM (s = 3) on a batch-norm CNN,
#    30 steps from the same initial weights on cpu and XLA, whose first losses must agree within
#    2e-3 relative (float32 rounding and TF32 on the GPU: the same weights and batch), and
#    TestXLABatchNormInference (float64 gradient and Hessian-vector product, 1e-10);
# 3. trains the small CNN (-model cnn) on MNIST with each method, STEPS (300) steps on XLA and
#    CPU_STEPS (100) on cpu, and prints steps per second (from the run's mean step time:
#    evaluation excluded, the first step's graph compilation included) and the final training
#    loss. The backends draw their random numbers with different generators (PCG on cpu,
#    Philox on XLA), so on one seed they start from different weights: these losses agree in
#    trend, not in digits.
#
# Paste its output into docs/BACKEND.md ("XLA backend").
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-300}
cpu_steps=${CPU_STEPS:-100} # the CPU reference is 10-100× slower: fewer steps keep the check under 5 minutes

plugin=${1:-${TSAM_PJRT_PLUGIN:-}}
if [ -z "$plugin" ]; then
  for f in /usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so "$HOME/.local/lib/go-xla/pjrt_c_api_cuda_plugin.so" \
    $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null | tr ' ' '\n' | sed 's|$|/jax_plugins/xla_cuda*/xla_cuda_plugin.so|'); do
    for g in $f; do [ -f "$g" ] && plugin=$g && break 2; done
  done
fi
if [ -z "$plugin" ]; then
  echo "gpu-check: no CUDA PJRT plugin found: pass its absolute path (scripts/gpu-check.sh /abs/path/pjrt_c_api_cuda_plugin.so) or set TSAM_PJRT_PLUGIN" >&2
  exit 2
fi
export TSAM_PJRT_PLUGIN=$plugin GOMLX_NO_AUTO_INSTALL=1
start=$SECONDS
echo "gpu-check: plugin $plugin; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== build with -tags xla"
CGO_ENABLED=1 timeout 120 go build -tags xla -o "$tmp/tsam" ./cmd/tsam

echo "== same weights on cpu and xla: first losses within 2e-3 relative"
if ! timeout 150 go test -tags xla -count=1 -run 'XLA' -v ./backend/ ./sam/ ./sharpness/ >"$tmp/test.log" 2>&1; then
  cat "$tmp/test.log"
  echo "gpu-check: the XLA tests failed (above)" >&2
  exit 1
fi
grep -E 'first loss|params: loss|^(--- |ok)' "$tmp/test.log"

echo "== small CNN on MNIST, batch 64, seed 1: $steps steps on xla, $cpu_steps on cpu"
printf '%-6s %-8s %8s %10s %12s\n' method backend steps steps/s train_loss
for method in erm sam tsam; do
  for be in cpu "xla:$plugin"; do
    out="$tmp/$method-${be%%:*}" n=$steps
    [ "$be" = cpu ] && n=$cpu_steps
    timeout 100 "$tmp/tsam" train -backend "$be" -data mnist -model cnn -method "$method" -batch 64 \
      -max-steps "$n" -subset $((n * 64)) -seed 1 -out "$out" >"$out.log" 2>&1 ||
      { echo "gpu-check: $method on $be failed:"; tail -5 "$out.log"; exit 1; }
    python3 - "$method" "${be%%:*}" "$out/metrics.jsonl" <<'PY'
import json, sys
method, be, path = sys.argv[1:]
last = [json.loads(l) for l in open(path)][-1]
print(f"{method:<6} {be:<8} {last['step']:>8} {1 / last['step_seconds']:>10.1f} {last['train_loss']:>12.4f}")
PY
  done
done
echo "gpu-check: done in $((SECONDS - start)) s"
