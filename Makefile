# weightlab — the newcomer's commands. One cargo profile (release) for builds and tests, and a
# target folder outside the clone so that fresh clones (and CI) reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/weightlab-target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/weightlab

.PHONY: build fig2 fig2-disjoint strategies smoke test lint bench bench-avx2 bench-venv chaos golden slurm-test wgpu-check clean-runs

build:
	$(CARGO) build --release

## The paper's Figure-2 study on the built-in synthetic faces.
fig2: build
	$(BIN) sweep run experiments/fig2.yaml

## The same study on five other seeds (6–10): its verdicts must not flip (reports/fig2/README.md).
fig2-disjoint: build
	$(BIN) sweep run experiments/fig2.yaml 'seeds=[6,7,8,9,10]' --out runs/fig2-disjoint

## Every weighting strategy, 5 seeds; figures, page and compare table (verdicts against equal)
## into reports/strategies/.
strategies: build
	$(BIN) sweep run experiments/strategies.yaml
	$(BIN) report plot runs/strategies --baseline equal
	$(BIN) report compare runs/strategies --baseline equal > reports/strategies/compare.md

smoke: build
	$(BIN) sweep run experiments/smoke.yaml --out runs/smoke --fresh

## Every test (unit, integration, end to end), release profile. Tests whose precondition this
## machine lacks (mounting a tmpfs needs root) say so and are counted at the end.
SKIPPED := $(CARGO_TARGET_DIR)/tmp/weightlab-skipped.txt
test:
	rm -f $(SKIPPED)
	$(CARGO) test --release
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

## --device wgpu against flex on the smoke sweep (builds the wgpu feature separately).
wgpu-check:
	scripts/wgpu-check.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

## weightlab's training step and forward pass against a PyTorch mirror in three variants
## (bench/peer/, installed into a venv from PyPI; 10 rounds at 1 and 2 threads), GFLOP/s and the
## fraction of the CPU's measured peak, a fig2 job's time split and peak memory, sweep scaling;
## figures go to bench/results.json (about 12 minutes on 2 cores).
BENCH_VENV ?= $(HOME)/.cache/weightlab-bench-venv
bench: build bench-venv
	$(CARGO) build --release --bin weightlab-bench
	$(CARGO_TARGET_DIR)/release/weightlab-bench all --python $(BENCH_VENV)/bin/python --out bench/results.json

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
