# weightlab — the newcomer's commands. One cargo profile (release) for builds and tests, and a
# target folder outside the clone so that fresh clones (and CI) reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/weightlab-target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/weightlab

.PHONY: build fig2 fig2-full calibration strategies smoke test lint bench bench-scale bench-avx2 bench-venv chaos golden memcheck slurm-test wgpu-check clean-runs

build:
	$(CARGO) build --release

## The paper's Figure-2 study on the built-in synthetic faces, the newcomer's size (9 seeds).
fig2: build
	$(BIN) sweep run experiments/fig2.yaml

## The committed study: the whole 0.1 grid, sized by `report power` to detect 1 % at Holm's
## level; its figures, page, tables and power into reports/fig2/ (about an hour on 2 cores).
FULL := runs/fig2-full
fig2-full: build
	$(BIN) sweep run experiments/fig2-full.yaml
	$(BIN) report plot $(FULL) --out reports/fig2
	$(BIN) report compare $(FULL) > reports/fig2/compare.md
	$(BIN) report compare $(FULL) --format csv > reports/fig2/compare.csv
	$(BIN) report compare $(FULL) --reference single-task > reports/fig2/compare-single-task.md
	$(BIN) report compare $(FULL) --reference single-task --format csv > reports/fig2/compare-single-task.csv
	$(BIN) report compare $(FULL) --baseline 'static w1=0.9' --format csv > reports/fig2/compare-vs-w0.9.csv
	$(BIN) report power $(FULL) > reports/fig2/power.txt

## How the faces of fig2 were chosen (seeds 101–104; the rule is in the YAML's header).
calibration: build
	$(BIN) sweep run experiments/calibration/calibration.yaml
	$(BIN) report compare runs/calibration --reference single-task --format csv > experiments/calibration/calibration.csv
	$(BIN) report noise runs/calibration --draws 6 --format csv > experiments/calibration/noise.csv

## Every weighting strategy, 5 seeds; figures, page and compare table (verdicts against equal)
## into reports/strategies/.
strategies: build
	$(BIN) sweep run experiments/strategies.yaml
	$(BIN) report plot runs/strategies --baseline equal
	$(BIN) report compare runs/strategies --baseline equal > reports/strategies/compare.md
	$(BIN) report compare runs/strategies --baseline equal --format csv > reports/strategies/compare.csv

smoke: build
	$(BIN) sweep run experiments/smoke.yaml --out runs/smoke --fresh

## Every test (unit, integration, end to end), release profile. Tests whose precondition this
## machine lacks (mounting a tmpfs needs root) say so and are counted at the end.
SKIPPED := $(CARGO_TARGET_DIR)/tmp/weightlab-skipped.txt
# The tests that train (and the kernels' own, through --lib): what the plain paths must pass.
OWN_PARTS := $(CARGO_TARGET_DIR)/tmp/own_parts
PORTABLE_TESTS := --test fast_kernels --test gradient_routing --test golden --test job_logs --test checkpoints
test:
	rm -f $(SKIPPED)
	$(CARGO) test --release --workspace
	@echo "== the kernel and training tests again on the plain paths alone (--features portable)"
	$(CARGO) test --release --workspace --features portable --lib $(PORTABLE_TESTS)
	@echo "== examples/own_parts.rs, a study of its own trunk, strategy and data, read back by weightlab"
	rm -rf $(OWN_PARTS)
	$(CARGO) run --release --example own_parts -- $(OWN_PARTS) > /dev/null
	$(BIN) sweep status $(OWN_PARTS) | grep -q '9 done, 0 failed'
	$(BIN) report compare $(OWN_PARTS) | grep -q '| stripes | loss_share floor=0.2 |'
	@if [ -s $(SKIPPED) ]; then echo "skipped: $$(wc -l < $(SKIPPED)) check(s) this machine cannot run:"; cat $(SKIPPED); else echo "skipped: none"; fi

## Kill a sweep 20 times at random moments, resume each time, check nothing was lost or redone.
chaos:
	WEIGHTLAB_CHAOS_KILLS=20 $(CARGO) test --release --test chaos -- --nocapture

## Regenerate the golden trajectories (say why in the commit message).
golden: build
	rm -rf tests/golden/runs
	$(BIN) sweep run tests/golden/golden.yaml --out tests/golden/runs --jobs 1
	rm -f tests/golden/runs/runs.parquet

## A tiny sweep through a real one-node Slurm (installs slurm-wlm and munge; needs root).
slurm-test: build
	scripts/slurm-test.sh $(BIN)

## The kernel tests under valgrind's memcheck (AVX2 and plain paths; valgrind hides AVX-512).
memcheck:
	scripts/memcheck.sh

## --device wgpu against flex on the smoke sweep (builds the wgpu feature separately).
wgpu-check:
	scripts/wgpu-check.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release --workspace --all-targets --features portable -- -D warnings

## weightlab's training step and forward pass against a PyTorch mirror in three variants
## (bench/peer/, installed into a venv from PyPI; 10 rounds at 1 and 2 threads), GFLOP/s and the
## fraction of the CPU's measured peak, a fig2 job's time split and peak memory, sweep scaling;
## figures go to bench/results.json (about 12 minutes on 2 cores); then bench-scale's figures.
BENCH_VENV ?= $(HOME)/.cache/weightlab-bench-venv
bench: build bench-venv
	$(CARGO) build --release --bin weightlab-bench
	$(CARGO_TARGET_DIR)/release/weightlab-bench all --python $(BENCH_VENV)/bin/python --out bench/results.json
	$(CARGO_TARGET_DIR)/release/weightlab-bench scale --out bench/scale.json

## Study folders of 500, 1,000 and 5,000 finished jobs: sweep status, report compare, report
## plot and a resume with nothing to do, time and peak memory (about 3 minutes on 2 cores).
bench-scale: build
	$(CARGO) build --release --bin weightlab-bench
	$(CARGO_TARGET_DIR)/release/weightlab-bench scale --out bench/scale.json

## The same comparison with AVX2 code paths on both sides, for AVX2-only CPUs measured from an
## AVX-512 one: weightlab built without its avx512 feature (own target folder, whose first
## build compiles the dependencies again), PyTorch held to AVX2; figures go to
## bench/results-avx2.json (11 minutes on 2 cores once built).
bench-avx2: bench-venv
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)-avx2 $(CARGO) build --release --no-default-features --bins
	$(CARGO_TARGET_DIR)-avx2/release/weightlab-bench all --python $(BENCH_VENV)/bin/python --out bench/results-avx2.json

bench-venv:
	test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -c "import torch, numpy" 2>/dev/null || $(BENCH_VENV)/bin/pip install --quiet torch==2.15.0 numpy

clean-runs:
	rm -rf runs
