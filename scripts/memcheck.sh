#!/usr/bin/env bash
# The kernel crate's tests under valgrind's memcheck: reads of uninitialised memory (the
# `set_len` class of bug), invalid reads and writes. Valgrind's CPU has no AVX-512, so the
# AVX2 paths run, then, built with --features portable, the plain paths. Exits non-zero on the
# first error valgrind reports or a failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weightlab-target}"
command -v valgrind >/dev/null || { echo "error: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

# The test executable cargo builds for the kernels crate with the given features.
test_binary() {
  cargo test --release -p weightlab-kernels "$@" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["lib"]:
        print(m["executable"])'
}

for features in "" "--features portable"; do
  # shellcheck disable=SC2086
  bin=$(test_binary $features)
  [ -n "$bin" ] || { echo "error: no kernel test binary built ($features)" >&2; exit 1; }
  echo "== memcheck: weightlab-kernels tests ${features:-(vector paths)}: $bin"
  # should_panic tests unwind through the test harness: panics are expected, leaks are not
  # what this checks (a panicking test leaks its allocations by design).
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --track-origins=yes \
    --quiet "$bin" --test-threads=2 -q
done
echo "memcheck: no errors"
