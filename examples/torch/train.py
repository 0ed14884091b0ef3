#!/usr/bin/env python3
"""A weightlab process-job trainer (contract 1): three tasks on scikit-learn's 8x8 digits, a
shared MLP with one head per task, and the weighting methods of torchjd 0.18.

    python examples/torch/train.py --spec JOB.json      # or WEIGHTLAB_JOB=JOB.json

Tasks (each image of the split gets a rotation k*90 degrees and a hidden quadrant):
  digit     10-way classification of the digit, accuracy (higher is better)
  rotation  4-way classification of the rotation, accuracy (higher is better)
  inpaint   the 16 pixels of the hidden (zeroed) quadrant, scaled to [0, 1], MSE (lower)

Methods (`strategy`): static weights from the spec; torchjd aggregators upgrad, mgda, imtlg,
nashmtl, alignedmtl, mean, random, cagrad (Jacobian descent on the shared trunk through
torchjd.autojac.mtl_backward + jac_to_grad); torchjd scalarizers uw, dwa, famo. Their options go
in `settings` (see SETTINGS below). Params: lr, batch_size, hidden, weight_decay (see PARAMS).

Exit codes: 0 trained to the last epoch; 2 bad spec; 143 stopped by SIGTERM after saving a
checkpoint to state_dir, from which the next run with the same spec continues bit for bit.
"""

import os
import signal
import sys

# Before numpy and torch load: several jobs share the cores, and a thread count that varied with
# the machine would change BLAS reduction orders (quadprog, cvxpy, torch) and so the results.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

_stop_requested = False


def _on_sigterm(_signum, _frame):
    global _stop_requested
    _stop_requested = True


# Installed before the slow imports so that a SIGTERM during start-up is not a hard kill.
signal.signal(signal.SIGTERM, _on_sigterm)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

CONTRACT = 1
EXIT_BAD_SPEC = 2
EXIT_STOPPED = 143
CHECKPOINT_FORMAT = 1

# Every job of every seed is validated and tested on the same images and the same rotation and
# quadrant draws; only the training split's draws depend on the job's seed.
SPLIT_SEED = 20261206
TRAIN_FRACTION, VAL_FRACTION = 0.6, 0.2

TASKS = {
    # name: (kind, metric, direction, head outputs)
    "digit": ("classification", "acc", "higher", 10),
    "rotation": ("classification", "acc", "higher", 4),
    "inpaint": ("regression", "mse", "lower", 16),
}
TASK_ORDER = list(TASKS)

PARAMS = {"lr": 3e-3, "batch_size": 64, "hidden": 256, "weight_decay": 0.0}

# Each method's settings and their defaults (torchjd's own defaults where it has them).
SETTINGS = {
    "upgrad": {"pref_vector": None, "norm_eps": 1e-4, "reg_eps": 1e-4},
    "mgda": {"epsilon": 1e-3, "max_iters": 100},
    "imtlg": {},
    "nashmtl": {"max_norm": 1.0, "update_weights_every": 1, "optim_niter": 20},
    "alignedmtl": {"pref_vector": None, "scale_mode": "min"},
    "mean": {},
    "random": {},
    "cagrad": {"c": 0.5, "norm_eps": 1e-4},
    "uw": {},
    "dwa": {"temperature": 2.0},
    "famo": {"lr": 0.025, "weight_decay": 1e-3, "min_losses": None},
}
AGGREGATORS = {"upgrad", "mgda", "imtlg", "nashmtl", "alignedmtl", "mean", "random", "cagrad"}
SCALARIZERS = {"uw", "dwa", "famo"}


class SpecError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The spec


def read_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        raise SpecError(f"{path}: cannot read the job spec: {e}") from e
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: the job spec is not a JSON object")
    if spec.get("contract") != CONTRACT:
        raise SpecError(
            f"{path}: contract {spec.get('contract')!r}, this trainer speaks {CONTRACT}"
        )
    for key in ("run_id", "seed", "epochs", "tasks", "strategy", "rows", "state_dir"):
        if key not in spec:
            raise SpecError(f"{path}: missing field `{key}`")
    seed, epochs = spec["seed"], spec["epochs"]
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError(f"{path}: `seed` must be a non-negative integer, got {seed!r}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise SpecError(f"{path}: `epochs` must be a positive integer, got {epochs!r}")
    step_rows = spec.get("step_rows", 0)
    if not isinstance(step_rows, int) or isinstance(step_rows, bool) or step_rows < 0:
        raise SpecError(f"{path}: `step_rows` must be a non-negative integer, got {step_rows!r}")
    spec["step_rows"] = step_rows
    spec["task_names"] = read_tasks(path, spec["tasks"])
    spec["params"] = read_params(path, spec.get("params") or {})
    read_strategy(path, spec["strategy"], spec["task_names"])
    return spec


def read_tasks(path, tasks):
    if not isinstance(tasks, list) or not tasks:
        raise SpecError(f"{path}: `tasks` must be a non-empty list")
    names = []
    for task in tasks:
        name = task.get("name") if isinstance(task, dict) else None
        if name not in TASKS:
            raise SpecError(f"{path}: task {name!r} is not one of {', '.join(TASK_ORDER)}")
        if name in names:
            raise SpecError(f"{path}: task {name!r} is listed twice")
        kind, metric, direction, _ = TASKS[name]
        for field, expected in (("kind", kind), ("metric", metric), ("direction", direction)):
            if task.get(field, expected) != expected:
                raise SpecError(
                    f"{path}: task {name!r} has {field} {task[field]!r}; this trainer computes "
                    f"{expected!r}"
                )
        names.append(name)
    return names


def read_params(path, params):
    if not isinstance(params, dict):
        raise SpecError(f"{path}: `params` must be an object")
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        # A misspelt lr would otherwise train silently with the default.
        raise SpecError(f"{path}: unknown params {unknown}; known: {sorted(PARAMS)}")
    out = dict(PARAMS)
    out.update(params)
    for key in ("batch_size", "hidden"):
        if not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 1:
            raise SpecError(f"{path}: params.{key} must be a positive integer, got {out[key]!r}")
    for key in ("lr", "weight_decay"):
        value = out[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
            raise SpecError(f"{path}: params.{key} must be a non-negative number, got {value!r}")
        out[key] = float(value)
    return out


def read_strategy(path, strategy, names):
    if not isinstance(strategy, dict):
        raise SpecError(f"{path}: `strategy` must be an object")
    kind = strategy.get("kind")
    if kind == "static":
        weights = strategy.get("weights")
        if not isinstance(weights, dict) or set(weights) != set(names):
            raise SpecError(f"{path}: static weights must name exactly the tasks {names}")
        for name, value in weights.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise SpecError(f"{path}: static weight of {name!r} is {value!r}")
        return
    if kind != "external":
        raise SpecError(f"{path}: strategy kind {kind!r} is neither `static` nor `external`")
    method = strategy.get("name")
    if method not in SETTINGS:
        raise SpecError(
            f"{path}: unknown method {method!r}; this trainer implements "
            f"{', '.join(sorted(SETTINGS))}"
        )
    settings = strategy.get("settings") or {}
    if not isinstance(settings, dict):
        raise SpecError(f"{path}: settings of {method} must be an object")
    unknown = sorted(set(settings) - set(SETTINGS[method]))
    if unknown:
        raise SpecError(
            f"{path}: unknown settings {unknown} for {method}; known: {sorted(SETTINGS[method])}"
        )


# ---------------------------------------------------------------------------------------------
# Data


class Split:
    """Images of one split with their rotation and hidden-quadrant draws made into tensors."""

    def __init__(self, x, digit, rotation, inpaint):
        self.x, self.targets = x, {"digit": digit, "rotation": rotation, "inpaint": inpaint}

    def __len__(self):
        return self.x.shape[0]

    def batch(self, idx):
        return self.x[idx], {name: t[idx] for name, t in self.targets.items()}


def quadrant_masks():
    masks = torch.zeros(4, 8, 8, dtype=torch.bool)
    for q in range(4):
        r, c = (q // 2) * 4, (q % 2) * 4
        masks[q, r : r + 4, c : c + 4] = True
    return masks


QUADRANTS = quadrant_masks()


def make_split(rotated, labels, idx, rotation, quadrant):
    """Input: the rotated image with the drawn quadrant zeroed, and which quadrant (one-hot),
    since the task is to fill a known hole, not to find it."""
    images = rotated[rotation, idx]
    masks = QUADRANTS[quadrant]
    hidden = images[masks].reshape(len(idx), 16)
    shown = images.masked_fill(masks, 0.0).reshape(len(idx), 64)
    x = torch.cat([shown, F.one_hot(quadrant, 4).to(shown.dtype)], dim=1)
    return Split(x, labels[idx], rotation, hidden)


class Digits:
    def __init__(self):
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32) / 16.0
        self.labels = torch.tensor(digits.target, dtype=torch.int64)
        self.rotated = torch.stack([torch.rot90(images, k, dims=(1, 2)) for k in range(4)])
        n = images.shape[0]
        g = torch.Generator().manual_seed(SPLIT_SEED)
        order = torch.randperm(n, generator=g)
        n_train, n_val = round(TRAIN_FRACTION * n), round(VAL_FRACTION * n)
        self.train_idx = order[:n_train]
        val_idx, test_idx = order[n_train : n_train + n_val], order[n_train + n_val :]
        self.val = self._fixed(val_idx, g)
        self.test = self._fixed(test_idx, g)

    def _fixed(self, idx, g):
        rotation = torch.randint(0, 4, (len(idx),), generator=g)
        quadrant = torch.randint(0, 4, (len(idx),), generator=g)
        return make_split(self.rotated, self.labels, idx, rotation, quadrant)

    def train_epoch(self, seed, epoch, batch_size):
        """The epoch's draws and batch order from (seed, epoch) alone, so that a resumed run
        needs no generator state to rebuild them."""
        state = np.random.SeedSequence([SPLIT_SEED, seed, epoch]).generate_state(1, np.uint64)[0]
        g = torch.Generator().manual_seed(int(state))
        n = len(self.train_idx)
        rotation = torch.randint(0, 4, (n,), generator=g)
        quadrant = torch.randint(0, 4, (n,), generator=g)
        split = make_split(self.rotated, self.labels, self.train_idx, rotation, quadrant)
        order = torch.randperm(n, generator=g)
        return split, list(order.split(batch_size))


# ---------------------------------------------------------------------------------------------
# Model


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(68, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        # All heads always, in one order: a seed then gives the same initial network whatever
        # tasks and order the spec names (single-task references start where the others do).
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, TASKS[name][3]) for name in TASK_ORDER})

    def forward(self, x, names):
        features = self.trunk(x)
        return features, {name: self.heads[name](features) for name in names}


def task_loss(name, output, target):
    if name == "inpaint":
        return F.mse_loss(torch.sigmoid(output), target)
    return F.cross_entropy(output, target)


@torch.no_grad()
def evaluate(model, split, names):
    _, outputs = model(split.x, names)
    scores = {}
    for name in names:
        target = split.targets[name]
        if name == "inpaint":
            scores[name] = F.mse_loss(torch.sigmoid(outputs[name]), target).item()
        else:
            scores[name] = int((outputs[name].argmax(dim=1) == target).sum()) / len(target)
    return {name: finite(scores[name]) for name in names}


# ---------------------------------------------------------------------------------------------
# Methods


def _pref_vector(value, names):
    if value is None:
        return None
    if isinstance(value, dict):
        if set(value) != set(names):
            raise SpecError(f"pref_vector must name exactly the tasks {names}")
        value = [value[name] for name in names]
    if not isinstance(value, list) or len(value) != len(names):
        raise SpecError(f"pref_vector must have one entry per task ({len(names)})")
    return torch.tensor([float(v) for v in value])


class Method:
    """One step's objective and the weights it applied to each task's loss (`raw_w`: the
    aggregator's weights on the Jacobian's rows, or d total / d loss_i for a scalarizer)."""

    def __init__(self, strategy, names):
        self.names = names
        self.kind = strategy["kind"]
        self.name = strategy.get("name", "static")
        settings = dict(SETTINGS.get(self.name, {}))
        settings.update(strategy.get("settings") or {})
        self.aggregator = self.scalarizer = None
        m = len(names)
        if self.kind == "static":
            # Python floats: the logged raw_w is then exactly the spec's weight, not its float32.
            self.static_weights = [float(strategy["weights"][n]) for n in names]
            self.static = torch.tensor(self.static_weights)
            return
        from torchjd import aggregation, scalarization

        if self.name == "upgrad":
            from torchjd.linalg import QuadprogProjector

            projector = QuadprogProjector(
                norm_eps=settings["norm_eps"], reg_eps=settings["reg_eps"]
            )
            self.aggregator = aggregation.UPGrad(
                pref_vector=_pref_vector(settings["pref_vector"], names), projector=projector
            )
        elif self.name == "mgda":
            self.aggregator = aggregation.MGDA(
                epsilon=settings["epsilon"], max_iters=settings["max_iters"]
            )
        elif self.name == "imtlg":
            self.aggregator = aggregation.IMTLG()
        elif self.name == "nashmtl":
            self.aggregator = aggregation.NashMTL(
                n_tasks=m,
                max_norm=settings["max_norm"],
                update_weights_every=settings["update_weights_every"],
                optim_niter=settings["optim_niter"],
            )
        elif self.name == "alignedmtl":
            self.aggregator = aggregation.AlignedMTL(
                pref_vector=_pref_vector(settings["pref_vector"], names),
                scale_mode=settings["scale_mode"],
            )
        elif self.name == "mean":
            self.aggregator = aggregation.Mean()
        elif self.name == "random":
            self.aggregator = aggregation.Random()
        elif self.name == "cagrad":
            self.aggregator = aggregation.CAGrad(c=settings["c"], norm_eps=settings["norm_eps"])
        elif self.name == "uw":
            self.scalarizer = scalarization.UW(m)
        elif self.name == "dwa":
            self.scalarizer = scalarization.DWA(temperature=settings["temperature"])
        elif self.name == "famo":
            min_losses = _pref_vector(settings["min_losses"], names)
            self.scalarizer = scalarization.FAMO(
                m, min_losses=min_losses, lr=settings["lr"], weight_decay=settings["weight_decay"]
            )

    def extra_parameters(self):
        """Parameters the model's optimiser learns with the network (UW's log-variances; FAMO
        steps its logits with its own Adam)."""
        return list(self.scalarizer.parameters()) if self.name == "uw" else []

    def step(self, model, x, targets):
        features, outputs = model(x, self.names)
        losses = [task_loss(n, outputs[n], targets[n]) for n in self.names]
        if self.aggregator is not None:
            from torchjd.autojac import jac_to_grad, mtl_backward

            shared = list(model.trunk.parameters())
            mtl_backward(
                losses,
                features=features,
                tasks_params=[list(model.heads[n].parameters()) for n in self.names],
                shared_params=shared,
            )
            raw = jac_to_grad(shared, self.aggregator).tolist()
        else:
            vector = torch.stack(losses)
            if self.scalarizer is None:
                total = (self.static * vector).sum()
                raw = self.static_weights
            else:
                total = self.scalarizer(vector)
                # A scalarizer's weight on a loss: how much the total moves with that loss.
                raw = torch.autograd.grad(total, vector, retain_graph=True)[0].tolist()
            total.backward()
        return [loss.item() for loss in losses], raw

    def after_optimiser_step(self, model, x, targets):
        if self.name == "famo":
            with torch.no_grad():
                _, outputs = model(x, self.names)
                losses = torch.stack([task_loss(n, outputs[n], targets[n]) for n in self.names])
            self.scalarizer.update(losses)

    def end_epoch(self):
        if self.name == "dwa":
            self.scalarizer.step()

    # What a resumed run needs to continue as if never stopped: NashMTL's solver history,
    # DWA's loss averages, FAMO's logits and their Adam (UW's log-variances are in the model's
    # optimiser and saved here too).
    def state_dict(self):
        if self.name == "nashmtl":
            w = self.aggregator.weighting
            return {
                "step": w.step,
                "prvs_alpha": torch.from_numpy(np.array(w.prvs_alpha)),
                "normalization_factor": torch.from_numpy(np.array(w.normalization_factor)),
            }
        if self.name == "dwa":
            s = self.scalarizer
            return {
                "loss_sum": s._loss_sum,
                "n_batches": s._n_batches,
                "previous_averages": list(s._previous_averages),
            }
        if self.name == "famo":
            s = self.scalarizer
            return {
                "module": s.state_dict(),
                "optimizer": None if s._optimizer is None else s._optimizer.state_dict(),
            }
        if self.name == "uw":
            return {"module": self.scalarizer.state_dict()}
        return {}

    def load_state_dict(self, state):
        if self.name == "nashmtl":
            w = self.aggregator.weighting
            w.step = state["step"]
            w.prvs_alpha = state["prvs_alpha"].numpy()
            w.normalization_factor = state["normalization_factor"].numpy()
            if w.step != 0:
                # torchjd builds the cvxpy problem on the first call only (step 0).
                w._init_optim_problem()
        elif self.name == "dwa":
            s = self.scalarizer
            s._loss_sum = state["loss_sum"]
            s._n_batches = state["n_batches"]
            s._previous_averages = list(state["previous_averages"])
        elif self.name == "famo":
            s = self.scalarizer
            s.load_state_dict(state["module"])
            if state["optimizer"] is not None:
                s._optimizer = torch.optim.Adam([s._w], lr=s.lr, weight_decay=s.weight_decay)
                s._optimizer.load_state_dict(state["optimizer"])
        elif self.name == "uw":
            self.scalarizer.load_state_dict(state["module"])


# ---------------------------------------------------------------------------------------------
# Rows and checkpoints


def finite(value):
    return value if value is not None and math.isfinite(value) else None


def normalised(raw):
    total = sum(raw)
    if not math.isfinite(total) or total <= 1e-12:
        return [None] * len(raw)
    return [finite(v / total) for v in raw]


class EpochMeans:
    """Sums over the epoch's steps, in step order, kept as Python floats so that a resumed run
    adds the remaining steps to exactly the same partial sums."""

    def __init__(self, m):
        self.m = m
        self.steps = 0
        self.loss = [0.0] * m
        self.raw = [0.0] * m
        self.w = [0.0] * m
        self.total = 0.0
        self.raw_count = [0] * m
        self.w_count = [0] * m
        self.total_count = 0

    def add(self, losses, raw, w):
        self.steps += 1
        for i in range(self.m):
            self.loss[i] += losses[i]
            if finite(raw[i]) is not None:
                self.raw[i] += raw[i]
                self.raw_count[i] += 1
            if w[i] is not None:
                self.w[i] += w[i]
                self.w_count[i] += 1
        if all(v is not None for v in w):
            self.total += sum(wi * li for wi, li in zip(w, losses, strict=True))
            self.total_count += 1

    def means(self):
        def mean(s, n):
            return finite(s / n) if n else None

        loss = [mean(s, self.steps) for s in self.loss]
        raw = [mean(s, n) for s, n in zip(self.raw, self.raw_count, strict=True)]
        w = [mean(s, n) for s, n in zip(self.w, self.w_count, strict=True)]
        return loss, raw, w, mean(self.total, self.total_count)

    def state_dict(self):
        return dict(self.__dict__)

    @classmethod
    def from_state(cls, state):
        out = cls(state["m"])
        out.__dict__.update(state)
        return out


class Rows:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def write(self, row):
        line = json.dumps(row, separators=(",", ":"), allow_nan=False)
        self.file.write(line + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        return line


def by_task(names, values):
    return {name: finite(v) for name, v in zip(names, values, strict=True)}


def save_checkpoint(state_dir, state):
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, "checkpoint.pt")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_checkpoint(state_dir, spec):
    path = os.path.join(state_dir, "checkpoint.pt")
    if not os.path.exists(path):
        return None
    state = torch.load(path, weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT or state.get("identity") != identity(spec):
        raise SpecError(
            f"{path} was written for another job or trainer version; remove state_dir to restart"
        )
    if state["epoch"] <= spec["epochs"] and state.get("platform") != platform():
        # The same steps give other bits under another torch or another vector ISA, and a
        # mid-epoch resume re-sends no row that would show it: the job would mix two machines.
        raise SpecError(
            f"{path} was written on {state.get('platform')}, this is {platform()}; "
            "resume it where it started, or remove state_dir to restart"
        )
    return state


def platform():
    from importlib.metadata import version

    return {
        "torch": str(torch.__version__),
        "torchjd": version("torchjd"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def identity(spec):
    """What a checkpoint must agree with to be continued: everything that shapes the run."""
    keys = ("run_id", "seed", "epochs", "strategy", "params", "task_names", "step_rows")
    return json.dumps({k: spec[k] for k in keys}, sort_keys=True)


# ---------------------------------------------------------------------------------------------
# Training


def train(spec):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    names, params, seed = spec["task_names"], spec["params"], spec["seed"]
    data = Digits()

    torch.manual_seed(seed)
    model = Net(params["hidden"])
    try:
        method = Method(spec["strategy"], names)
    except (ValueError, TypeError) as e:
        raise SpecError(f"strategy {spec['strategy'].get('name')}: {e}") from e
    optimizer = torch.optim.Adam(
        list(model.parameters()) + method.extra_parameters(),
        lr=params["lr"],
        weight_decay=params["weight_decay"],
    )
    epoch, batch_start, global_step = 1, 0, 0
    means = EpochMeans(len(names))
    last_epoch_row = None

    state = load_checkpoint(spec["state_dir"], spec)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        method.load_state_dict(state["method"])
        torch.set_rng_state(state["torch_rng"])
        epoch, batch_start, global_step = state["epoch"], state["batch"], state["global_step"]
        means = EpochMeans.from_state(state["means"])
        last_epoch_row = state["last_epoch_row"]
        print(f"resumed at epoch {epoch}, batch {batch_start}, step {global_step}", flush=True)

    rows = Rows(spec["rows"])

    def checkpoint(epoch, batch):
        save_checkpoint(
            spec["state_dir"],
            {
                "format": CHECKPOINT_FORMAT,
                "identity": identity(spec),
                "platform": platform(),
                "epoch": epoch,
                "batch": batch,
                "global_step": global_step,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "method": method.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "means": means.state_dict(),
                "last_epoch_row": last_epoch_row,
            },
        )

    if epoch > spec["epochs"]:
        # Finished before, but the exit was not seen: the last row again, then success.
        if last_epoch_row is not None:
            rows.write(json.loads(last_epoch_row))
        return 0

    while epoch <= spec["epochs"]:
        split, batches = data.train_epoch(seed, epoch, params["batch_size"])
        model.train()
        for b in range(batch_start, len(batches)):
            if _stop_requested:
                checkpoint(epoch, b)
                print(f"SIGTERM: saved at epoch {epoch}, batch {b}", flush=True)
                return EXIT_STOPPED
            x, targets = split.batch(batches[b])
            optimizer.zero_grad(set_to_none=True)
            losses, raw = method.step(model, x, targets)
            optimizer.step()
            method.after_optimiser_step(model, x, targets)
            global_step += 1
            w = normalised(raw)
            means.add(losses, raw, w)
            if spec["step_rows"] and global_step % spec["step_rows"] == 0:
                rows.write(
                    {
                        "kind": "step",
                        "epoch": epoch,
                        "step": global_step,
                        "loss": by_task(names, losses),
                        "w": by_task(names, w),
                        "raw_w": by_task(names, raw),
                    }
                )
        method.end_epoch()
        model.eval()
        loss, raw, w, total = means.means()
        row = {
            "kind": "epoch",
            "epoch": epoch,
            "loss": by_task(names, loss),
            "w": by_task(names, w),
            "raw_w": by_task(names, raw),
            "loss_total": total,
            "test": evaluate(model, data.test, names),
            "val": evaluate(model, data.val, names),
        }
        last_epoch_row = rows.write(row)
        print(
            f"epoch {epoch}: loss {row['loss']} test {row['test']}",
            flush=True,
        )
        epoch, batch_start = epoch + 1, 0
        means = EpochMeans(len(names))
        checkpoint(epoch, 0)
        if _stop_requested and epoch <= spec["epochs"]:
            print(f"SIGTERM: saved before epoch {epoch}", flush=True)
            return EXIT_STOPPED
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", help="job.json (default: $WEIGHTLAB_JOB)")
    args = parser.parse_args(argv)
    path = args.spec or os.environ.get("WEIGHTLAB_JOB")
    if not path:
        print("error: no job spec: pass --spec PATH or set WEIGHTLAB_JOB", file=sys.stderr)
        return EXIT_BAD_SPEC
    try:
        spec = read_spec(path)
        return train(spec)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_SPEC


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The interpreter's own shutdown (torch's libraries) takes about a second, during which it
    # has already restored SIGTERM's default action: a stop then would read as a kill of a
    # finished job. Everything the job owes is on disk by now.
    os._exit(code)
