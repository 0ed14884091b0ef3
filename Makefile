# weightlab — the newcomer's commands. One cargo profile (release) for builds and tests, and a
# target folder outside the clone so that fresh clones (and CI) reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/weightlab-target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/weightlab

.PHONY: bench-process build fig2 fig2-full fig2-sequential claims faces3 faces3-calibration torch-digits torch-digits-calibration torch-ci calibration strategies smoke test lint bench bench-scale bench-avx2 bench-venv chaos golden memcheck slurm-test wgpu-check clean-runs torch-venv verify-sequential

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
	$(BIN) report compare $(FULL) --baseline 'static w1=0.9' > reports/fig2/compare-vs-w0.9.md
	$(BIN) report compare $(FULL) --baseline 'static w1=0.9' --format csv > reports/fig2/compare-vs-w0.9.csv
	$(BIN) report power $(FULL) > reports/fig2/power.txt
	$(BIN) report seeds $(FULL) > reports/fig2/seeds.csv
	$(BIN) report seeds $(FULL) --reference single-task > reports/fig2/seeds-single-task.csv
	$(BIN) report replay $(FULL) > reports/fig2-sequential/replay.txt
	$(BIN) report replay $(FULL) --format csv > reports/fig2-sequential/replay.csv

## fig2-full as a sequential study: seeds in rounds, each point stopped once it is better,
## worse or within ±1 % of w1 = 0.5 (docs/sequential.md). Its jobs are fig2-full's; its
## tables and the jobs it ran into reports/fig2-sequential/.
SEQ := runs/fig2-sequential
fig2-sequential: build
	$(BIN) sweep run experiments/fig2-sequential.yaml
	$(BIN) report compare $(SEQ) > reports/fig2-sequential/compare.md
	$(BIN) report compare $(SEQ) --format csv > reports/fig2-sequential/compare.csv
	$(BIN) sweep status $(SEQ) > reports/fig2-sequential/status.txt
	$(BIN) report seeds $(SEQ) > reports/fig2-sequential/seeds.csv

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
	$(BIN) report seeds runs/strategies --baseline equal > reports/strategies/seeds.csv

## The three-task face study (fv, ex and the head's tilt, a lower-is-better error): the static
## grid on the simplex and every dynamic strategy, its figures, page, tables and power into
## reports/faces3/. The calibration before it (seeds 101–104) chose its best static point and
## its seed count by the rule in experiments/faces3/calibration.yaml.
FACES3 := runs/faces3
faces3: build
	$(BIN) sweep run experiments/faces3.yaml
	$(BIN) report plot $(FACES3) --out reports/faces3
	$(BIN) report compare $(FACES3) > reports/faces3/compare.md
	$(BIN) report compare $(FACES3) --format csv > reports/faces3/compare.csv
	$(BIN) report compare $(FACES3) --baseline "$$(cat experiments/faces3/best-static.txt)" > reports/faces3/compare-vs-best-static.md
	$(BIN) report compare $(FACES3) --baseline "$$(cat experiments/faces3/best-static.txt)" --format csv > reports/faces3/compare-vs-best-static.csv
	$(BIN) report compare $(FACES3) --reference single-task --format csv > reports/faces3/compare-single-task.csv
	$(BIN) report power $(FACES3) > reports/faces3/power.txt
	$(BIN) report seeds $(FACES3) > reports/faces3/seeds.csv

faces3-calibration: build
	$(BIN) sweep run experiments/faces3/calibration.yaml
	$(BIN) report compare runs/faces3-calibration --baseline equal --format csv > experiments/faces3/calibration.csv
	$(BIN) report power runs/faces3-calibration --baseline equal > experiments/faces3/calibration-power.txt

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
## weightlab's own cost per process job (spawn, rows, parquet) against the trainer's time.
bench-process: build
	scripts/process-overhead.sh bench/process-overhead.txt

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

## Every number of the README and the committed reports against the file its claim names
## (make test runs the same check in tests/claims.rs).
claims: build
	$(BIN) report claims reports/readme-claims.yaml reports/*/claims.yaml

clean-runs:
	rm -rf runs

## The PyTorch + torchjd trainer of examples/torch (weightlab runs it as a process job): a venv
## with the pinned versions of examples/torch/requirements.txt. PyPI's torch is the CUDA build
## (about 3 GB); the trainer uses the CPU only. Skipped when the pins are already installed.
TORCH_VENV ?= $(HOME)/.cache/weightlab-torch-venv
torch-venv:
	test -x $(TORCH_VENV)/bin/python || python3 -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python examples/torch/check_venv.py || $(TORCH_VENV)/bin/pip install --quiet -r examples/torch/requirements.txt
	$(TORCH_VENV)/bin/python examples/torch/check_venv.py

## The torch-digits study: examples/torch's trainer (PyTorch, torchjd) run as a process job
## on scikit-learn's digits with three tasks, the best static point of its calibration and
## torchjd's methods; its figures, page, tables and power into reports/torch-digits/. The
## calibration (seeds 101–104, the static grid on the simplex) chose that point and the seed
## count by the rule in experiments/torch-digits/calibration.yaml.
TORCH_PYTHON := trainer.command.0=$(TORCH_VENV)/bin/python
TORCH := runs/torch-digits
torch-digits: build torch-venv
	$(BIN) sweep run experiments/torch-digits.yaml $(TORCH_PYTHON)
	$(BIN) report plot $(TORCH) --baseline mean --out reports/torch-digits
	$(BIN) report compare $(TORCH) --baseline mean > reports/torch-digits/compare.md
	$(BIN) report compare $(TORCH) --baseline mean --format csv > reports/torch-digits/compare.csv
	$(BIN) report compare $(TORCH) --baseline "$$(cat experiments/torch-digits/best-static.txt)" > reports/torch-digits/compare-vs-best-static.md
	$(BIN) report compare $(TORCH) --baseline "$$(cat experiments/torch-digits/best-static.txt)" --format csv > reports/torch-digits/compare-vs-best-static.csv
	$(BIN) report power $(TORCH) --baseline mean > reports/torch-digits/power.txt
	$(BIN) report seeds $(TORCH) --baseline mean > reports/torch-digits/seeds.csv

torch-digits-calibration: build torch-venv
	$(BIN) sweep run experiments/torch-digits/calibration.yaml $(TORCH_PYTHON)
	$(BIN) report compare runs/torch-digits-calibration --baseline mean --format csv > experiments/torch-digits/calibration.csv
	$(BIN) report power runs/torch-digits-calibration --baseline mean > experiments/torch-digits/calibration-power.txt

## The torch trainer in CI: two seeds, two epochs, a few methods, with the real venv.
TORCH_CI := $(CARGO_TARGET_DIR)/tmp/torch-ci
torch-ci: build torch-venv
	$(BIN) sweep run experiments/torch-digits/ci.yaml $(TORCH_PYTHON) --out $(TORCH_CI) --fresh
	$(BIN) sweep status $(TORCH_CI) | grep -q '10 done, 0 failed'
	$(BIN) report compare $(TORCH_CI) | grep -q '| digits | upgrad |'

## The sequential designs of crates/stats checked by simulation: boundary constants,
## type-I error over 10⁶ null paths at three data scales, family-wise error over 14 correlated
## points, equivalence at ±margin, a negative control that must be flagged, a replay; the table
## goes to docs/sequential-verification.txt (docs/sequential.md). Not part of make test.
verify-sequential:
	$(CARGO) run --release -p weightlab-stats --example verify-sequential -- --out docs/sequential-verification.txt
