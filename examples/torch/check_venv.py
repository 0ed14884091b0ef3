"""Exit 0 when this Python has examples/torch/requirements.txt installed at the pinned versions
and torchjd's optional solvers import; `make torch-venv` installs only otherwise, so that a venv
left from older pins is brought up to date rather than silently reused."""

import importlib
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# What torchjd[full] adds (UPGrad's quadprog projector, NashMTL's and CAGrad's cvxpy), checked by
# import since torchjd only looks for them when an aggregator is built.
MODULES = [
    "torch",
    "torchjd",
    "sklearn",
    "numpy",
    "scipy",
    "cvxpy",
    "ecos",
    "quadprog",
    "qpsolvers",
]

requirements = Path(__file__).with_name("requirements.txt").read_text().splitlines()
stale = []
for line in requirements:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)\s*", line.split("#")[0])
    if not m:
        continue
    try:
        installed = version(m.group(1))
    except PackageNotFoundError:
        installed = None
    if installed != m.group(3):
        stale.append(f"{m.group(1)} {installed} (want {m.group(3)})")
for module in MODULES:
    try:
        importlib.import_module(module)
    except ImportError as e:
        stale.append(f"{module}: {e}")
if stale:
    print("torch venv out of date: " + "; ".join(stale), file=sys.stderr)
    sys.exit(1)
