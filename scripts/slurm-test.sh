#!/usr/bin/env bash
# End-to-end test of `sweep run --executor slurm` against a real Slurm: installs Debian's
# slurm-wlm daemons and munge, writes a one-node slurm.conf for this host, starts munged,
# slurmctld and slurmd, submits a tiny sweep, waits for it, checks that every job is done and
# that `report compare` reads it, resubmits (nothing left to submit), then requeues a running
# task (`scontrol requeue`, as a preemption does) and checks that it resumes from its checkpoint
# to the logs of an uninterrupted run, and stops the daemons.
# Needs root (it installs packages and starts daemons). Usage: scripts/slurm-test.sh [BIN]
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/weightlab-target}/release/weightlab}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/weightlab-slurm.XXXXXX)"
PIDS=()

say() { echo "slurm-test: $*" >&2; }
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 1
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld, slurmd, slurm-client and munge"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

HOST="$(hostname -s)"
CPUS="$(nproc)"
mkdir -p "$WORK"/{state,spool,log,munge,run}
# munge: a fresh key and a private socket, so no system munged is needed.
dd if=/dev/urandom bs=1 count=1024 of="$WORK/munge/munge.key" 2>/dev/null
chmod 400 "$WORK/munge/munge.key"
chmod 700 "$WORK/munge"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/munge.socket" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/seed"
PIDS+=("$(cat "$WORK/munge/munged.pid")")

cat > "$WORK/slurm.conf" <<CONF
ClusterName=weightlab
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$WORK/slurm.conf"

slurmctld -D -f "$SLURM_CONF" > "$WORK/log/slurmctld.out" 2>&1 &
PIDS+=("$!")
slurmd -D -f "$SLURM_CONF" > "$WORK/log/slurmd.out" 2>&1 &
PIDS+=("$!")

say "waiting for the node"
for _ in $(seq 60); do
  state="$(sinfo -h -o %T 2>/dev/null | head -1 || true)"
  [ "$state" = "idle" ] && break
  sleep 1
done
if [ "${state:-}" != "idle" ]; then
  say "node never became idle (state: ${state:-none})"; tail -20 "$WORK"/log/*.log >&2; exit 1
fi

cd "$WORK"
cp "$ROOT/tests/slurm/slurm.yaml" .
"$BIN" sweep run slurm.yaml --executor slurm --out sweep --time 00:10:00 --dry-run > dry.sbatch
grep -q -- "--array=0-5" dry.sbatch || { say "dry run script lacks the array"; cat dry.sbatch >&2; exit 1; }
[ ! -e sweep/slurm/submissions.json ] || { say "a dry run submitted"; exit 1; }

# --begin holds the array for a few seconds, so that its tasks are surely still pending below.
JOB="$("$BIN" sweep run slurm.yaml --executor slurm --out sweep --time 00:10:00 --sbatch-arg=--begin=now+4)"
say "submitted array job $JOB"
"$BIN" sweep status sweep > queued.txt
[ "$(grep -c "slurm PENDING" queued.txt)" = "6" ] || { say "sweep status lacks the Slurm states"; cat queued.txt >&2; exit 1; }
# A second submission while the array is queued adds nothing.
"$BIN" sweep run slurm.yaml --executor slurm --out sweep 2> resubmit.err
grep -q "nothing to submit" resubmit.err || { say "resubmission submitted again"; cat resubmit.err >&2; exit 1; }

for _ in $(seq 180); do
  done_jobs="$("$BIN" sweep status sweep | sed -n '1s/.* \([0-9]*\) done.*/\1/p')"
  [ "$done_jobs" = "6" ] && break
  sleep 1
done
"$BIN" sweep status sweep >&2
[ "$done_jobs" = "6" ] || { say "only ${done_jobs:-0}/6 jobs done"; tail -20 "$WORK"/log/*.log >&2; cat sweep/slurm/*.out >&2 || true; exit 1; }
"$BIN" report compare sweep > compare.md
grep -q "| l3 |" compare.md || { say "report compare did not read the sweep"; cat compare.md >&2; exit 1; }
"$BIN" sweep run slurm.yaml --executor slurm --out sweep 2> again.err
grep -q "nothing to submit" again.err || { say "a finished sweep was submitted again"; exit 1; }
say "ok: 6/6 jobs done through Slurm array $JOB, report compare read them, nothing resubmitted"

# Preemption: a task requeued by Slurm while it trains resumes from its checkpoint, and ends
# with the logs of an uninterrupted run.
cp "$ROOT/tests/slurm/preempt.yaml" .
PJOB="$("$BIN" sweep run preempt.yaml --executor slurm --out preempt --time 00:10:00)"
say "submitted preemption test job $PJOB"
for _ in $(seq 240); do
  "$BIN" sweep status preempt 2>/dev/null | grep -Eq "running .* epoch ([3-9]|[1-9][0-9])/" && break
  sleep 0.5
done
"$BIN" sweep status preempt >&2
"$BIN" sweep status preempt | grep -Eq "epoch ([3-9]|[1-9][0-9])/" \
  || { say "the job never reached epoch 3"; cat preempt/slurm/*.out >&2 || true; exit 1; }
scontrol requeue "${PJOB}_0"
say "requeued ${PJOB}_0 while it trained"
for _ in $(seq 300); do
  "$BIN" sweep status preempt | grep -q "1 done" && break
  sleep 1
done
"$BIN" sweep status preempt >&2
"$BIN" sweep status preempt | grep -q "1 done" \
  || { say "the requeued job did not finish"; tail -20 "$WORK"/log/*.log >&2; cat preempt/slurm/*.out >&2 || true; exit 1; }
grep -q "job resumed from its checkpoint" preempt/slurm/*.out \
  || { say "the requeued task did not resume from its checkpoint"; cat preempt/slurm/*.out >&2; exit 1; }
"$BIN" sweep run preempt.yaml --out preempt-ref 2> /dev/null
"$BIN" report diff preempt-ref preempt --tol 0 > preempt-diff.txt \
  || { say "the resumed job's logs differ from an uninterrupted run"; cat preempt-diff.txt >&2; exit 1; }
for d in preempt-ref/*/; do
  cmp -s "$d/steps.parquet" "preempt/$(basename "$d")/steps.parquet" \
    || { say "steps.parquet differs after the requeue"; exit 1; }
done
say "ok: ${PJOB}_0 requeued mid-run resumed from its checkpoint; logs identical to an uninterrupted run (diff --tol 0, steps.parquet byte for byte)"

# A process trainer's job (the stand-in trainer) requeued mid-run: the trainer is stopped with
# the task, resumes from its own state, and the job ends with the logs of an uninterrupted run.
sed "s|FAKE|$ROOT/tests/fake_trainer/fake_trainer.py|" "$ROOT/tests/slurm/process.yaml" > process.yaml
XJOB="$("$BIN" sweep run process.yaml --executor slurm --out process --time 00:10:00)"
say "submitted process-trainer job $XJOB"
for _ in $(seq 240); do
  [ "$(cat process/*/rows.jsonl 2>/dev/null | wc -l)" -ge 6 ] && break
  sleep 0.25
done
scontrol requeue "${XJOB}_0"
say "requeued ${XJOB}_0 while its trainer ran"
for _ in $(seq 300); do
  "$BIN" sweep status process | grep -q "1 done" && break
  sleep 1
done
"$BIN" sweep status process >&2
"$BIN" sweep status process | grep -q "1 done" \
  || { say "the requeued process job did not finish"; cat process/slurm/*.out >&2 || true; cat process/*/trainer.err >&2 || true; exit 1; }
"$BIN" sweep run process.yaml --out process-ref 2> /dev/null
"$BIN" report diff process-ref process --tol 0 > process-diff.txt \
  || { say "the resumed process job's logs differ from an uninterrupted run"; cat process-diff.txt >&2; exit 1; }
say "ok: ${XJOB}_0 (a process trainer) requeued mid-run resumed; logs identical to an uninterrupted run (diff --tol 0)"

