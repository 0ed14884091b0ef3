#!/usr/bin/env bash
# The GPU session's check, in two halves.
#
#   scripts/gpu-check.sh prepare     (here, on the CPU machine; about 25 min after the default
#                                     build, 50 cold)
#     builds weightlab and weightlab-bench with the wgpu feature in their own target folder,
#     strips and compresses them into .gpu/, runs experiments/smoke.yaml on flex into
#     .gpu/flex-smoke (the reference), and downloads the Vulkan loader packages into .gl/
#     (both folders git-excluded; the device tool carries them: carry [".gpu", ".gl"]).
#
#   scripts/gpu-check.sh run [OUT]   (on the GPU machine; about 8 min)
#     unpacks the loader if the machine lacks one; fails unless the adapter wgpu picks is a
#     real GPU (not llvmpipe/lavapipe, not type Cpu); runs the smoke sweep on wgpu and
#     `report diff`s it against the flex reference (1e-3, as make wgpu-check); times the
#     training step of the small and paper presets at batch 32, 64 and 256 on wgpu and with the
#     PyTorch CUDA mirror (bench/peer/step.py, tuned and compiled); runs one seed of fig2 at
#     --jobs 1, 2, 4 and 8 and picks the fastest; times experiments/fig2.yaml end to end with
#     it. Everything goes into one JSON file, OUT/gpu-check.json (OUT defaults to $OUT, the
#     device tool's folder that comes back).
#
# GPU_CHECK_ALLOW_CPU=1 lets `run` go on with a CPU adapter (a rehearsal on Mesa's lavapipe).
# GPU_CHECK_PHASES (default "smoke steps jobs fig2") runs some phases only (the adapter check
# and the smoke diff always run), so that the check can be split over device commands of at
# most 10 minutes each, e.g. "steps" then "jobs fig2"; GPU_CHECK_PRESETS (default "small paper")
# and GPU_CHECK_BATCHES (default "32 64 256") narrow the step timings, GPU_CHECK_JOBS skips the
# --jobs search for fig2.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
MODE="${1:-}"

prepare() {
    local target="${WGPU_TARGET_DIR:-$HOME/.cache/weightlab-target-wgpu}"
    CARGO_TARGET_DIR="$target" cargo build --release --features wgpu \
        --bin weightlab --bin weightlab-bench
    local exclude
    exclude="$(git rev-parse --git-dir)/info/exclude"
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo /.gpu/ >>"$exclude"
    grep -qx '/.gl/' "$exclude" 2>/dev/null || echo /.gl/ >>"$exclude"
    rm -rf .gpu && mkdir -p .gpu
    for bin in weightlab weightlab-bench; do
        strip -o ".gpu/$bin" "$target/release/$bin"
        xz -T0 -9 -f ".gpu/$bin"
    done
    "$target/release/weightlab" sweep run experiments/smoke.yaml --out .gpu/flex-smoke \
        --device flex --fresh
    # `report diff` reads the logs; the checkpoints and models only take room in the carry.
    find .gpu/flex-smoke \( -name checkpoint.bin -o -name '*.bpk' \) -delete
    if [ ! -d .gl ] || ! ls .gl/*.deb >/dev/null 2>&1; then
        mkdir -p .gl /tmp/amd64/partial
        local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update >/dev/null
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    fi
    du -sh .gpu .gl
    local total
    total=$(du -sbc .gpu .gl | tail -1 | cut -f1)
    # The device tool carries 64 MiB with the tracked files (about 5 MB).
    if [ "$total" -gt $((56 * 1024 * 1024)) ]; then
        echo "error: .gpu and .gl hold $total bytes; the device tool carries 64 MiB with the tree" >&2
        exit 1
    fi
    echo "ready: run on the device with carry [\".gpu\", \".gl\"]: scripts/gpu-check.sh run"
}

# Seconds since `$1` (from `now`), to the millisecond.
now() { date +%s%N; }
since() { local d=$(($(now) - $1)); printf '%d.%03d' $((d / 1000000000)) $((d / 1000000 % 1000)); }
phase() { [[ " ${GPU_CHECK_PHASES:-smoke steps jobs fig2} " == *" $1 "* ]]; }

run() {
    local out="${1:-${OUT:-$ROOT/.gpu/out}}"
    mkdir -p "$out"
    local work
    work="$(mktemp -d /tmp/weightlab-gpu.XXXXXX)"
    local log="$out/gpu-check.log"
    exec > >(tee -a "$log") 2>&1
    if ! ldconfig -p | grep -q libvulkan; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
        export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
        export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    fi
    for bin in weightlab weightlab-bench; do
        xz -dc ".gpu/$bin.xz" >"$work/$bin"
        chmod +x "$work/$bin"
    done
    local wl="$work/weightlab" bench="$work/weightlab-bench"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
        >"$work/nvidia-smi.txt" 2>/dev/null || true

    : >"$work/times.txt"
    : >"$work/steps.jsonl"
    : >"$work/jobs.txt"
    echo "{}" >"$work/adapter.json"
    echo "-1" >"$work/diff.rc"
    : >"$work/diff.txt"
    : >"$work/fig2-compare.md"
    local start best=1

    echo "== $(date -u +%T) adapter and smoke sweep on wgpu against the flex reference"
    start=$(now)
    "$wl" sweep run experiments/smoke.yaml --out "$work/wgpu-smoke" --device wgpu --fresh
    echo "smoke_wall_s $(since "$start")" >>"$work/times.txt"
    cp "$work/wgpu-smoke/adapter.json" "$work/adapter.json"
    python3 - "$work/adapter.json" <<'EOF'
import json, os, sys
a = json.load(open(sys.argv[1]))
text = json.dumps(a).lower()
cpu = "llvmpipe" in text or "lavapipe" in text or str(a.get("device_type", a.get("type", ""))).lower() == "cpu"
print("adapter:", a)
if cpu and os.environ.get("GPU_CHECK_ALLOW_CPU") != "1":
    sys.exit("error: wgpu picked a CPU adapter, not the GPU (see adapter.json); is the NVIDIA ICD found?")
EOF
    set +e
    "$wl" report diff .gpu/flex-smoke "$work/wgpu-smoke" --tol 1e-3 >"$work/diff.txt" 2>&1
    echo "$?" >"$work/diff.rc"
    set -e
    cat "$work/diff.txt"

    phase steps && for preset in ${GPU_CHECK_PRESETS:-small paper}; do
        for batch in ${GPU_CHECK_BATCHES:-32 64 256}; do
            "$bench" step --device wgpu --preset "$preset" --batch "$batch" --steps 48 --warmup 8 \
                >>"$work/steps.jsonl" || echo "{\"system\":\"weightlab\",\"preset\":\"$preset\",\"batch_size\":$batch,\"error\":true}" >>"$work/steps.jsonl"
            for variant in tuned compiled; do
                python3 bench/peer/step.py --device cuda --variant "$variant" --preset "$preset" \
                    --batch "$batch" --steps 48 --warmup 8 >>"$work/steps.jsonl" \
                    || echo "{\"system\":\"pytorch\",\"variant\":\"$variant\",\"preset\":\"$preset\",\"batch_size\":$batch,\"error\":true}" >>"$work/steps.jsonl"
            done
            echo "$(date -u +%T) step $preset batch $batch done"
        done
    done

    if phase jobs; then
        echo "== $(date -u +%T) sweep throughput against --jobs (fig2, one seed, 3 epochs)"
        for jobs in 1 2 4 8; do
            start=$(now)
            "$wl" sweep run experiments/fig2.yaml 'seeds=[1]' train.epochs=3 --device wgpu \
                --jobs "$jobs" --out "$work/jobs-$jobs" --fresh >/dev/null 2>&1
            echo "$jobs $(since "$start")" >>"$work/jobs.txt"
        done
        cat "$work/jobs.txt"
        best=$(sort -k2 -g "$work/jobs.txt" | head -1 | cut -d' ' -f1)
    fi
    best="${GPU_CHECK_JOBS:-$best}"

    if phase fig2; then
        echo "== $(date -u +%T) experiments/fig2.yaml end to end, --jobs $best"
        start=$(now)
        "$wl" sweep run experiments/fig2.yaml --device wgpu --jobs "$best" --out "$work/fig2" \
            --fresh >/dev/null 2>&1
        echo "fig2_wall_s $(since "$start")" >>"$work/times.txt"
        "$wl" report compare "$work/fig2" >"$work/fig2-compare.md" 2>&1 || true
    fi

    python3 - "$work" "$out/gpu-check.json" "$best" <<'EOF'
import json, sys
work, dest, best = sys.argv[1], sys.argv[2], int(sys.argv[3])
def lines(name):
    return [l.rstrip("\n") for l in open(f"{work}/{name}") if l.strip()]
times = dict((k, float(v)) for k, v in (l.split() for l in lines("times.txt")))
steps = [json.loads(l) for l in lines("steps.jsonl")]
jobs = {int(j): float(s) for j, s in (l.split() for l in lines("jobs.txt"))}
report = {
    "adapter": json.load(open(f"{work}/adapter.json")),
    "nvidia_smi": open(f"{work}/nvidia-smi.txt").read().strip(),
    "smoke": {"wall_s": times.get("smoke_wall_s"), "diff_vs_flex_tol": 1e-3,
              "diff_exit": int(open(f"{work}/diff.rc").read()),
              "diff": open(f"{work}/diff.txt").read()[-4000:]},
    "steps": steps,
    "sweep_jobs_wall_s": jobs,
    "sweep_jobs_throughput_vs_1": {j: jobs[1] / s for j, s in jobs.items()} if 1 in jobs else {},
    "chosen_jobs": best,
    "fig2": {"jobs": best, "wall_s": times.get("fig2_wall_s"),
             "compare": open(f"{work}/fig2-compare.md").read()[-6000:]},
}
json.dump(report, open(dest, "w"), indent=2)
print("wrote", dest)
EOF
    rm -rf "$work"
}

case "$MODE" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *)
        echo "usage: scripts/gpu-check.sh prepare | run [OUT]" >&2
        exit 2
        ;;
esac
