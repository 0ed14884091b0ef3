#!/usr/bin/env python3
"""A stand-in trainer for weightlab's process-job tests: it speaks contract 1 like
examples/torch/train.py but needs only Python's standard library and trains nothing.

    python3 tests/fake_trainer/fake_trainer.py --spec JOB.json   # or WEIGHTLAB_JOB=JOB.json

Rows are a pure function of (seed, strategy, task, epoch, step): losses decay with the epoch,
faster for a task with more weight; metrics improve likewise; `w` is the static point, or for an
external method a fixed function of the method's name and the epoch. So a killed and resumed job
writes exactly the rows of an uninterrupted one. State (the next epoch) is kept in
state_dir/state.json, written atomically after each epoch row.

Params (all optional; the dataset entry's settings, `external: {...}`, override them):
  sleep            seconds to sleep in each epoch, before its row (default 0)
  steps_per_epoch  steps in an epoch, for step rows and the epoch means (default 4)
  no_val           true: `val` is null in every epoch row (a trainer without a validation split)
  fault            one of the modes below (default: none)

Fault modes (`params.fault`), each for one of weightlab's fault tests:
  crash_after_epoch:N  exit 3, with a line on stderr, right after writing the row of epoch N (a
                       run that resumes past epoch N goes on normally)
  garbage_line         a line that is not JSON right after the epoch-1 row, then carries on
  unknown_task         the epoch-1 row carries an extra task `bogus` in every per-task map
  nan                  the epoch-1 row has a loss written literally as NaN (not valid JSON)
  null_metric          the epoch-1 row has an explicit null test metric for the first task
                       (valid: the job must succeed)
  hang                 sleeps forever once epoch 1 is logged (also when resumed past it, and
                       when epoch 1 is the last); SIGTERM still stops it as usual
  ignore_sigterm       ignores SIGTERM from the start, writes epoch 1, then sleeps forever:
                       only SIGKILL ends it
  no_last_row          exits 0 after the row of epoch `epochs - 1`, one row short
  resend_rows          on resume, writes every earlier row (steps and epochs) again, identical,
                       before going on
  resend_different     on resume, writes the epoch-1 row again with its first loss changed
  out_of_order         writes the epoch-2 row before the epoch-1 row (epochs 1 and 2 are done
                       together), then goes on in order

Exit codes: 0 done; 2 bad spec or params; 3 crash_after_epoch; 143 stopped by SIGTERM (state
saved: the next run resumes after the last epoch row written).
"""

import argparse
import json
import math
import os
import random
import signal
import sys
import time
import zlib

CONTRACT = 1
EXIT_BAD_SPEC = 2
EXIT_CRASH = 3
EXIT_STOPPED = 143
FAULTS = {
    "garbage_line",
    "unknown_task",
    "nan",
    "null_metric",
    "hang",
    "ignore_sigterm",
    "no_last_row",
    "resend_rows",
    "resend_different",
    "out_of_order",
}

_stop_requested = False


def _on_sigterm(_signum, _frame):
    global _stop_requested
    _stop_requested = True


class SpecError(Exception):
    pass


def read_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        raise SpecError(f"{path}: cannot read the job spec: {e}") from e
    if not isinstance(spec, dict) or spec.get("contract") != CONTRACT:
        raise SpecError(f"{path}: not a contract-{CONTRACT} job spec")
    for key in ("run_id", "seed", "epochs", "tasks", "strategy", "rows", "state_dir"):
        if key not in spec:
            raise SpecError(f"{path}: missing field `{key}`")
    if not isinstance(spec["epochs"], int) or spec["epochs"] < 1:
        raise SpecError(f"{path}: `epochs` must be a positive integer")
    spec["names"] = [t["name"] for t in spec["tasks"]]
    spec["step_rows"] = spec.get("step_rows") or 0
    # The dataset entry's settings (`external: {...}`) come over the params: one sweep can then
    # give each of its datasets a fault of its own.
    params = dict(spec.get("params") or {})
    params.update((spec.get("dataset") or {}).get("settings") or {})
    known = {"sleep", "steps_per_epoch", "no_val", "fault"}
    if set(params) - known:
        raise SpecError(f"{path}: unknown params {sorted(set(params) - known)}")
    spec["sleep"] = float(params.get("sleep", 0))
    spec["steps_per_epoch"] = int(params.get("steps_per_epoch", 4))
    spec["no_val"] = bool(params.get("no_val", False))
    fault = params.get("fault")
    spec["crash_after"] = None
    if fault is not None and fault.startswith("crash_after_epoch:"):
        spec["crash_after"] = int(fault.split(":", 1)[1])
    elif fault is not None and fault not in FAULTS:
        raise SpecError(f"{path}: unknown fault {fault!r}")
    spec["fault"] = fault
    strategy = spec["strategy"]
    if strategy.get("kind") == "static":
        weights = strategy.get("weights") or {}
        if set(weights) != set(spec["names"]):
            raise SpecError(f"{path}: static weights must name exactly the tasks {spec['names']}")
    elif strategy.get("kind") != "external":
        raise SpecError(f"{path}: strategy kind {strategy.get('kind')!r}")
    return spec


# ---------------------------------------------------------------------------------------------
# The rows, as functions of the spec and the epoch


def jitter(*key):
    """A number in [-1, 1) fixed by its key; str seeds are hashed with SHA-512 by `random`,
    so unlike hash() this does not change between processes."""
    return random.Random("/".join(map(str, key))).random() * 2 - 1


def raw_weights(spec, epoch):
    strategy = spec["strategy"]
    if strategy["kind"] == "static":
        return [float(strategy["weights"][n]) for n in spec["names"]]
    phase = zlib.crc32(strategy["name"].encode()) % 1000 / 1000 * 2 * math.pi
    return [1 + 0.5 * math.sin(0.7 * epoch + 1.3 * i + phase) for i in range(len(spec["names"]))]


def normalised(raw):
    total = sum(raw)
    return [v / total for v in raw] if total > 0 else [1 / len(raw)] * len(raw)


def step_losses(spec, epoch, step_in_epoch, w):
    spe = spec["steps_per_epoch"]
    t = epoch - 1 + (step_in_epoch + 1) / spe
    return [
        (1.0 + i)
        * (0.3 + 0.7 * math.exp(-t * (0.15 + 0.5 * w[i])))
        * (1 + 0.02 * jitter(spec["seed"], epoch, step_in_epoch, i))
        for i in range(len(w))
    ]


def metrics(spec, epoch, w, split):
    out = {}
    for i, task in enumerate(spec["tasks"]):
        progress = 1 - math.exp(-epoch * (0.1 + 0.4 * w[i]))
        noise = 0.005 * jitter(spec["seed"], epoch, i, split)
        if task.get("direction") == "lower":
            out[task["name"]] = round(0.2 * (1 - 0.8 * progress) + noise, 6)
        else:
            out[task["name"]] = round(0.5 + 0.45 * progress + noise, 6)
    return out


def by_task(spec, values):
    return dict(zip(spec["names"], values, strict=True))


def rows_of_epoch(spec, epoch):
    """The step rows due in this epoch, then its epoch row."""
    spe = spec["steps_per_epoch"]
    raw = raw_weights(spec, epoch)
    w = normalised(raw)
    rows, sums = [], [0.0] * len(w)
    for s in range(spe):
        losses = step_losses(spec, epoch, s, w)
        sums = [a + b for a, b in zip(sums, losses, strict=True)]
        step = (epoch - 1) * spe + s + 1
        if spec["step_rows"] and step % spec["step_rows"] == 0:
            rows.append(
                {
                    "kind": "step",
                    "epoch": epoch,
                    "step": step,
                    "loss": by_task(spec, losses),
                    "w": by_task(spec, w),
                    "raw_w": by_task(spec, raw),
                }
            )
    loss = [v / spe for v in sums]
    rows.append(
        {
            "kind": "epoch",
            "epoch": epoch,
            "loss": by_task(spec, loss),
            "w": by_task(spec, w),
            "raw_w": by_task(spec, raw),
            "loss_total": sum(a * b for a, b in zip(w, loss, strict=True)),
            "test": metrics(spec, epoch, w, "test"),
            "val": None if spec["no_val"] else metrics(spec, epoch, w, "val"),
        }
    )
    return rows


def faulted(spec, row):
    """The epoch-1 row as a fault mode spoils it; other rows as they are."""
    if row["kind"] != "epoch" or row["epoch"] != 1:
        return row
    row = json.loads(json.dumps(row))
    first = spec["names"][0]
    if spec["fault"] == "unknown_task":
        for key in ("loss", "w", "raw_w", "test", "val"):
            if row[key] is not None:
                row[key]["bogus"] = 0.5
    elif spec["fault"] == "nan":
        row["loss"][first] = float("nan")
    elif spec["fault"] == "null_metric":
        row["test"][first] = None
    return row


# ---------------------------------------------------------------------------------------------
# Files


class Rows:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def write_line(self, line):
        self.file.write(line + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def write(self, row):
        # allow_nan: json writes a float NaN as the bare token NaN, which the nan fault wants.
        self.write_line(json.dumps(row, separators=(",", ":"), allow_nan=True))


def state_path(spec):
    return os.path.join(spec["state_dir"], "state.json")


def load_state(spec):
    try:
        with open(state_path(spec), encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return {"next_epoch": 1}
    if state.get("run_id") != spec["run_id"]:
        raise SpecError(f"{state_path(spec)} belongs to run {state.get('run_id')!r}")
    return state


def save_state(spec, next_epoch):
    os.makedirs(spec["state_dir"], exist_ok=True)
    path = state_path(spec)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"run_id": spec["run_id"], "next_epoch": next_epoch}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def sleep(seconds):
    """Sleeps in short slices so that a SIGTERM is answered promptly; True if stopped."""
    end = time.monotonic() + seconds
    while True:
        if _stop_requested:
            return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.02))


def sleep_forever():
    while not sleep(3600):
        pass


# ---------------------------------------------------------------------------------------------


def run(spec):
    fault = spec["fault"]
    if fault == "ignore_sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    start = load_state(spec)["next_epoch"]
    rows = Rows(spec["rows"])
    last = spec["epochs"] - 1 if fault == "no_last_row" else spec["epochs"]

    if start > 1 and fault == "resend_rows":
        for epoch in range(1, start):
            for row in rows_of_epoch(spec, epoch):
                rows.write(faulted(spec, row))
    if start > 1 and fault == "resend_different":
        row = rows_of_epoch(spec, 1)[-1]
        row["loss"][spec["names"][0]] += 1.0
        rows.write(row)

    def crash():
        print(f"fake_trainer: crash_after_epoch:{spec['crash_after']}: crashing", file=sys.stderr)
        return EXIT_CRASH

    if spec["crash_after"] == 0 and start == 1:
        return crash()

    def stopped(next_epoch):
        save_state(spec, next_epoch)
        print(f"SIGTERM: stopped before epoch {next_epoch}", flush=True)
        return EXIT_STOPPED

    epoch = start
    while True:
        if fault == "hang" and epoch > 1:
            sleep_forever()
            return stopped(epoch)
        if fault == "ignore_sigterm" and epoch > 1:
            while True:
                time.sleep(3600)
        if epoch > last:
            if start > last and last >= 1:
                # Finished before, but the exit was not seen: the last row again, then success.
                rows.write(faulted(spec, rows_of_epoch(spec, last)[-1]))
            return 0
        if sleep(spec["sleep"]):
            return stopped(epoch)
        if fault == "out_of_order" and epoch == 1 and last >= 2:
            first, second = rows_of_epoch(spec, 1), rows_of_epoch(spec, 2)
            for row in second + first:
                rows.write(row)
            epoch = 3
        else:
            for row in rows_of_epoch(spec, epoch):
                rows.write(faulted(spec, row))
            if fault == "garbage_line" and epoch == 1:
                rows.write_line("this is not {json")
            epoch += 1
        save_state(spec, epoch)
        print(f"epoch {epoch - 1} written", flush=True)
        if spec["crash_after"] is not None and epoch - 1 == spec["crash_after"]:
            return crash()
        if _stop_requested and epoch <= last:
            return stopped(epoch)


def main(argv=None):
    signal.signal(signal.SIGTERM, _on_sigterm)
    parser = argparse.ArgumentParser(description="weightlab's stand-in trainer (contract 1)")
    parser.add_argument("--spec", help="job.json (default: $WEIGHTLAB_JOB)")
    args = parser.parse_args(argv)
    path = args.spec or os.environ.get("WEIGHTLAB_JOB")
    if not path:
        print("error: no job spec: pass --spec PATH or set WEIGHTLAB_JOB", file=sys.stderr)
        return EXIT_BAD_SPEC
    try:
        return run(read_spec(path))
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_SPEC


if __name__ == "__main__":
    sys.exit(main())
