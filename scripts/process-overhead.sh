#!/usr/bin/env bash
# weightlab's own cost per process job: spawning the trainer, reading and checking its rows,
# writing the parquet logs and the job's status. Each job runs the stand-in trainer
# (tests/fake_trainer) under /usr/bin/time, which records the trainer process's own wall time
# from exec to exit; weightlab's share is the job's logged wall time less that. The trainer
# sleeps so that a job takes about 5 s (5 epochs × 1 s) and logs a step row every step, the
# heaviest logging the contract allows.
#
#   scripts/process-overhead.sh [OUT]      (default bench/process-overhead.txt)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/weightlab-target}/release/weightlab"
OUT="$(realpath -m "${1:-$ROOT/bench/process-overhead.txt}")"
JOBS=10
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
cat > overhead.yaml <<EOF
name: overhead
seeds: [$(seq -s, 1 "$JOBS")]
tasks:
  - { name: digit, kind: classification, metric: acc }
  - { name: rotation, kind: classification, metric: acc }
  - { name: inpaint, kind: regression, metric: mse }
trainer:
  command: [/usr/bin/time, -f, "%e", -o, "{job_dir}/trainer.time", python3, $ROOT/tests/fake_trainer/fake_trainer.py, --spec, "{job_file}"]
  timeout: 120
  params: { sleep: 1.0, steps_per_epoch: 17 }
datasets:
  - { name: fake, external: {} }
train: { epochs: 5 }
strategies:
  - external: { name: upgrad }
log: { every_steps: 1 }
EOF
"$BIN" sweep run overhead.yaml --out runs --jobs 1 2> sweep.log
python3 - "$OUT" "$BIN" <<'PY'
import json, os, pathlib, platform, statistics, subprocess, sys
out, bin_ = sys.argv[1], sys.argv[2]
rows = []
for d in sorted(pathlib.Path("runs").iterdir()):
    status = d / "status.json"
    if not status.is_file():
        continue
    s = json.loads(status.read_text())
    assert s["state"] == "done", (d, s)
    trainer = float((d / "trainer.time").read_text().split()[-1])
    rows.append((d.name, s["wall_s"], trainer))
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
isa = " ".join(f for f in ("avx2", "fma", "avx512f") if f in flags)
over = [w - t for _, w, t in rows]
share = [100 * (w - t) / w for _, w, t in rows]
lines = [
    "# weightlab's own cost per process job (scripts/process-overhead.sh): the job's logged wall",
    "# time less the trainer process's own (from /usr/bin/time), stand-in trainer, 5 epochs of",
    "# 17 step rows each, one job at a time.",
    f"# CPU: {cpu} ({isa}), {os.cpu_count()} cores; Python {platform.python_version()}",
    f"# load average when it ended (other work on the machine): {open('/proc/loadavg').read().split()[0]}",
    f"jobs: {len(rows)}",
    f"job wall (s): median {statistics.median(w for _, w, _ in rows):.3f}",
    f"trainer wall (s): median {statistics.median(t for _, _, t in rows):.3f}",
    f"weightlab's cost (s): median {statistics.median(over):.3f}, max {max(over):.3f}",
    f"weightlab's share of the job (%): median {statistics.median(share):.2f}, max {max(share):.2f}",
    "",
    "run_id,job_wall_s,trainer_wall_s,weightlab_s",
] + [f"{r},{w:.3f},{t:.3f},{w - t:.3f}" for r, w, t in rows]
pathlib.Path(out).write_text("\n".join(lines) + "\n")
print("\n".join(lines[:10]))
PY
