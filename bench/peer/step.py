"""The PyTorch mirror of weightlab's training step and evaluation forward pass, for `make bench`
and `scripts/gpu-check.sh`.

Same networks as weightlab's presets at the fig2 settings:
  small: 4 conv 3x3 blocks 16-32-64-64 with 3 max-pools, dense to Z = 128;
  paper: the reduced Inception-ResNet-v1 of src/model/paper.rs (stem, 2 blocks A, reduction,
         2 blocks B, global average pooling, dense to Z);
then the FV branch (embedding 64 -> identity classifier over 48 training subjects) and the EX
branch (bottleneck 32 + ReLU -> 7 expressions), and the weight unit Linear(Z -> 2) + softmax
averaged over the batch. The step: L1 = cross-entropy + 0.1 * center loss on the L2-normalised
embedding, L2 = cross-entropy, the l3 objective (w detached for theta, losses and Z detached for
psi), Adam on theta, SGD on psi, the center update, the logged values kept.

Variants, each what a PyTorch user could write:
  plain:    eager, NCHW, ReLU out of place, Adam's default (foreach) implementation;
  tuned:    channels_last model and input, in-place ReLU, Adam(fused=True), logged values read
            back once at the end instead of every step;
  compiled: tuned, with the model under torch.compile (timed after the warm-up steps, which
            include the compilation).
Prints one JSON line with the parameter counts and images/s of the timed steps.
"""

import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallTrunk(nn.Module):
    def __init__(self, size, inplace):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.features = 64 * (size // 8) ** 2
        self.inplace = inplace

    def forward(self, x):
        r = self.inplace
        x = F.max_pool2d(F.relu(self.conv1(x), inplace=r), 2)
        x = F.max_pool2d(F.relu(self.conv2(x), inplace=r), 2)
        x = F.max_pool2d(F.relu(self.conv3(x), inplace=r), 2)
        x = F.relu(self.conv4(x), inplace=r)
        return x.flatten(1)


def conv(c_in, c_out, k, stride=1):
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2)


class ResBlock(nn.Module):
    def __init__(self, channels, width, scale, inplace):
        super().__init__()
        self.b0 = conv(channels, width, 1)
        self.b1a, self.b1b = conv(channels, width, 1), conv(width, width, 3)
        self.b2a, self.b2b, self.b2c = conv(channels, width, 1), conv(width, width, 3), conv(width, width, 3)
        self.project = conv(3 * width, channels, 1)
        self.scale, self.inplace = scale, inplace

    def forward(self, x):
        r = self.inplace
        b0 = F.relu(self.b0(x), inplace=r)
        b1 = F.relu(self.b1b(F.relu(self.b1a(x), inplace=r)), inplace=r)
        b2 = F.relu(self.b2a(x), inplace=r)
        b2 = F.relu(self.b2c(F.relu(self.b2b(b2), inplace=r)), inplace=r)
        mixed = torch.cat([b0, b1, b2], 1)
        return F.relu(x + self.project(mixed) * self.scale, inplace=r)


class PaperTrunk(nn.Module):
    def __init__(self, size, inplace):
        super().__init__()
        self.stem1, self.stem2, self.stem3 = conv(1, 32, 3, 2), conv(32, 32, 3), conv(32, 64, 3)
        self.block_a = nn.Sequential(*[ResBlock(64, 32, 0.17, inplace) for _ in range(2)])
        self.reduce = conv(64, 128, 3, 2)
        self.block_b = nn.Sequential(*[ResBlock(128, 64, 0.10, inplace) for _ in range(2)])
        self.features = 128
        self.inplace = inplace

    def forward(self, x):
        r = self.inplace
        x = F.relu(self.stem1(x), inplace=r)
        x = F.relu(self.stem2(x), inplace=r)
        x = F.max_pool2d(F.relu(self.stem3(x), inplace=r), 2)
        x = self.block_a(x)
        x = F.relu(self.reduce(x), inplace=r)
        x = self.block_b(x)
        return x.mean((2, 3))


class Net(nn.Module):
    def __init__(self, preset, size, z_dim, emb, ex_dim, n_ids, n_expr, inplace):
        super().__init__()
        self.trunk = (SmallTrunk if preset == "small" else PaperTrunk)(size, inplace)
        self.dense = nn.Linear(self.trunk.features, z_dim)
        self.fv_embedding = nn.Linear(z_dim, emb)
        self.fv_classifier = nn.Linear(emb, n_ids)
        self.ex_bottleneck = nn.Linear(z_dim, ex_dim)
        self.ex_classifier = nn.Linear(ex_dim, n_expr)
        self.inplace = inplace

    def forward(self, x):
        r = self.inplace
        z = F.relu(self.dense(self.trunk(x)), inplace=r)
        emb = self.fv_embedding(z)
        ex = self.ex_classifier(F.relu(self.ex_bottleneck(z), inplace=r))
        return z, emb, self.fv_classifier(emb), ex


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--images", type=int, default=2016)
    p.add_argument("--ids", type=int, default=48)
    p.add_argument("--expressions", type=int, default=7)
    p.add_argument("--preset", choices=["small", "paper"], default="small")
    p.add_argument("--variant", choices=["plain", "tuned", "compiled"], default="tuned")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--forward", action="store_true",
                   help="time evaluation's forward pass (no autograd, batches of 256) instead")
    p.add_argument("--test-images", type=int, default=504)
    p.add_argument("--reps", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    dev = torch.device(a.device)
    tuned = a.variant != "plain"
    layout = torch.channels_last if tuned else torch.contiguous_format

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    net = Net(a.preset, a.size, 128, 64, 32, a.ids, a.expressions, inplace=tuned)
    net = net.to(dev, memory_format=layout)
    model = torch.compile(net) if a.variant == "compiled" else net
    base = {
        "system": "pytorch",
        "version": torch.__version__,
        "variant": a.variant,
        "preset": a.preset,
        "device": a.device,
        "threads": a.threads,
        "params_theta": sum(p.numel() for p in net.parameters()),
    }

    if a.forward:
        test = torch.from_numpy(
            rng.standard_normal((a.test_images, 1, a.size, a.size), dtype=np.float32))
        test = test.to(dev).contiguous(memory_format=layout)
        model.eval()
        grad_off = torch.inference_mode if tuned else torch.no_grad

        def forward_pass():
            with grad_off():
                for chunk in test.split(256):
                    _, emb, _, ex_logits = model(chunk)
                    emb.cpu().tolist(), ex_logits.argmax(1).cpu().tolist()

        for _ in range(3 if a.variant == "compiled" else 1):
            forward_pass()
        sync()
        start = time.perf_counter()
        for _ in range(a.reps):
            forward_pass()
        sync()
        seconds = time.perf_counter() - start
        print(json.dumps({**base, "batch_size": 256, "images": a.test_images * a.reps,
                          "seconds": seconds, "images_per_s": a.test_images * a.reps / seconds}))
        return

    images = torch.from_numpy(rng.standard_normal((a.images, 1, a.size, a.size), dtype=np.float32))
    images = images.to(dev).contiguous(memory_format=layout)
    ids = torch.from_numpy(rng.integers(0, a.ids, a.images)).to(dev)
    exprs = torch.from_numpy(rng.integers(0, a.expressions, a.images)).to(dev)

    unit = nn.Linear(128, 2).to(dev)
    nn.init.zeros_(unit.weight)
    nn.init.zeros_(unit.bias)
    theta_opt = torch.optim.Adam(net.parameters(), lr=0.002, fused=True if tuned else None)
    psi_opt = torch.optim.SGD(unit.parameters(), lr=0.1)
    centers = torch.zeros(a.ids, 64, device=dev)
    alpha, beta, eps = 0.1, 0.5, 0.01
    logged = []

    def step(idx):
        nonlocal centers
        x, y_id, y_ex = images[idx], ids[idx], exprs[idx]
        z, emb, id_logits, ex_logits = model(x)
        e = F.normalize(emb, dim=1)
        l_fv = F.cross_entropy(id_logits, y_id) + alpha * ((e - centers[y_id]) ** 2).sum() / len(idx)
        l_ex = F.cross_entropy(ex_logits, y_ex)
        losses = torch.stack([l_fv, l_ex])
        w = F.softmax(unit(z.detach()), dim=1).mean(0)
        total = (w.detach() * losses).sum()
        l3 = (w / (losses.detach() + eps)).sum()
        theta_opt.zero_grad(set_to_none=True)
        psi_opt.zero_grad(set_to_none=True)
        (total + l3).backward()
        theta_opt.step()
        psi_opt.step()
        with torch.no_grad():
            one_hot = F.one_hot(y_id, a.ids).float()
            counts = one_hot.sum(0)[:, None]
            means = one_hot.t() @ e.detach() / counts.clamp(min=1)
            present = (counts > 0).float()
            centers = centers - (centers - means) * present * (1 - beta)
        values = torch.cat([w.detach(), losses.detach(), total.detach()[None], l3.detach()[None]])
        if tuned:
            logged.append(values)
        else:
            logged.append(values.tolist())

    order = torch.randperm(a.images).to(dev)
    batches = [order[(k * a.batch) % a.images:][: a.batch] for k in range(a.warmup + a.steps)]
    warmup = batches[: a.warmup]
    if a.variant == "compiled":
        # One step of every batch size first: a new shape compiles again.
        sizes = {len(idx): idx for idx in batches}
        warmup += [sizes[n] for n in sorted(sizes)] * 2
    for idx in warmup:
        step(idx)
    sync()
    start = time.perf_counter()
    n = 0
    for idx in batches[a.warmup:]:
        step(idx)
        n += len(idx)
    if tuned:
        logged = torch.stack(logged).cpu().tolist()
    sync()
    seconds = time.perf_counter() - start
    print(json.dumps({**base, "params_psi": sum(p.numel() for p in unit.parameters()),
                      "batch_size": a.batch, "images": n, "seconds": seconds,
                      "images_per_s": n / seconds, "last_logged": logged[-1]}))


if __name__ == "__main__":
    main()
