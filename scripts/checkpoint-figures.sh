#!/usr/bin/env bash
# Checkpoint size and write time at 10 and at 200 epochs: one fig2 job (static 0.5, seed 1,
# every step logged, a checkpoint after every epoch) trained for 10 and for 200 epochs. The size
# is the last checkpoint's; the write time (progress-log append, encoding, atomic write) comes
# from the `checkpoint stored` debug events. Usage: scripts/checkpoint-figures.sh [BIN]
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/weightlab-target}/release/weightlab}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/weightlab-ckpt.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
for epochs in 10 200; do
  sed -e "s/^name: fig2/name: ckpt$epochs/" -e 's/^seeds: .*/seeds: [1]/' \
      -e "s/^  epochs: 24/  epochs: $epochs/" -e 's/^  checkpoint_every: 4/  checkpoint_every: 1/' \
      "$ROOT/experiments/fig2.yaml" |
    awk '/^strategies:/ { print; print "  - static: { w1: [0.5] }"; skip = 1; next }
         skip && /^  / { next } { skip = 0; print }' > "$WORK/ckpt$epochs.yaml"
  RUST_LOG=weightlab::sweep::job=debug "$BIN" sweep run "$WORK/ckpt$epochs.yaml" \
    --out "$WORK/ckpt$epochs" --jobs 1 2> "$WORK/log$epochs" > /dev/null
  ck=$(find "$WORK/ckpt$epochs" -name checkpoint.bin)
  size=$(stat -c %s "$ck")
  times=$(grep -o 'seconds=[0-9.e-]*' "$WORK/log$epochs" | cut -d= -f2 || true)
  if [ -n "$times" ]; then
    summary=$(echo "$times" | sort -g | awk '{ v[NR] = $1; s += $1 } END {
      printf "write %.1f ms median, %.1f ms mean, %.1f ms max over %d checkpoints", v[int((NR + 1) / 2)] * 1e3, s / NR * 1e3, v[NR] * 1e3, NR }')
    last=$(echo "$times" | tail -1 | awk '{ printf "%.1f", $1 * 1e3 }')
    summary="$summary (the epoch-$epochs one: $last ms)"
  else
    summary="(no checkpoint timings in this binary's log)"
  fi
  echo "epochs $epochs: checkpoint.bin $size bytes; $summary"
done
