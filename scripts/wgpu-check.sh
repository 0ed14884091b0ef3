#!/usr/bin/env bash
# Does `--device wgpu` give the same results as flex? Builds weightlab with the wgpu feature
# (in its own target folder, so the default build stays GPU-free), runs experiments/smoke.yaml
# on both backends and compares every logged trajectory with `report diff`.
# Without a GPU, Mesa's software Vulkan (Debian mesa-vulkan-drivers) runs it: slow, but exact
# enough to check the backend. Usage: scripts/wgpu-check.sh [TOL]
set -euo pipefail
TOL="${1:-1e-3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${WGPU_TARGET_DIR:-$HOME/.cache/weightlab-target-wgpu}"
cd "$ROOT"
CARGO_TARGET_DIR="$TARGET" cargo build --release --features wgpu --bin weightlab
BIN="$TARGET/release/weightlab"
WORK="$(mktemp -d /tmp/weightlab-wgpu.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
"$BIN" sweep run experiments/smoke.yaml --out "$WORK/flex" --device flex
"$BIN" sweep run experiments/smoke.yaml --out "$WORK/wgpu" --device wgpu
"$BIN" report diff "$WORK/flex" "$WORK/wgpu" --tol "$TOL"
