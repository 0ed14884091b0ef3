"""The PyTorch mirror of weightlab's training step, for `make bench`.

Same network as weightlab's `small` preset at the fig2 settings (4 conv 3x3 blocks 16-32-64-64
with 3 max-pools, dense to Z = 128; FV branch: embedding 64 -> identity classifier over 48
training subjects; EX branch: bottleneck 32 + ReLU -> 7 expressions; weight unit Linear(Z -> 2)
+ softmax averaged over the batch), the same step: L1 = cross-entropy + 0.1 * center loss on the
L2-normalised embedding, L2 = cross-entropy, the l3 objective (w detached for theta, losses and Z
detached for psi), Adam on theta, SGD on psi, the center update, one read-back of the logged
values. Prints one JSON line with the parameter counts and images/s of the timed steps.
"""

import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, size, z_dim, emb, ex_dim, n_ids, n_expr):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.dense = nn.Linear(64 * (size // 8) ** 2, z_dim)
        self.fv_embedding = nn.Linear(z_dim, emb)
        self.fv_classifier = nn.Linear(emb, n_ids)
        self.ex_bottleneck = nn.Linear(z_dim, ex_dim)
        self.ex_classifier = nn.Linear(ex_dim, n_expr)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = F.relu(self.conv4(x))
        z = F.relu(self.dense(x.flatten(1)))
        emb = self.fv_embedding(z)
        return z, emb, self.fv_classifier(emb), self.ex_classifier(F.relu(self.ex_bottleneck(z)))


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
    p.add_argument("--forward", action="store_true",
                   help="time evaluation's forward pass (no autograd, batches of 256) instead")
    p.add_argument("--test-images", type=int, default=504)
    p.add_argument("--reps", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    rng = np.random.default_rng(1)

    images = torch.from_numpy(rng.standard_normal((a.images, 1, a.size, a.size), dtype=np.float32))
    ids = torch.from_numpy(rng.integers(0, a.ids, a.images))
    exprs = torch.from_numpy(rng.integers(0, a.expressions, a.images))

    net = Net(a.size, 128, 64, 32, a.ids, a.expressions)
    unit = nn.Linear(128, 2)
    nn.init.zeros_(unit.weight)
    nn.init.zeros_(unit.bias)
    theta_opt = torch.optim.Adam(net.parameters(), lr=0.002)
    psi_opt = torch.optim.SGD(unit.parameters(), lr=0.1)
    centers = torch.zeros(a.ids, 64)
    alpha, beta, eps = 0.1, 0.5, 0.01

    def step(idx):
        nonlocal centers
        x, y_id, y_ex = images[idx], ids[idx], exprs[idx]
        z, emb, id_logits, ex_logits = net(x)
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
        return torch.cat([w.detach(), losses.detach(), total.detach()[None], l3.detach()[None]]).tolist()

    if a.forward:
        test = torch.from_numpy(
            rng.standard_normal((a.test_images, 1, a.size, a.size), dtype=np.float32))
        net.eval()

        def forward_pass():
            with torch.no_grad():
                for chunk in test.split(256):
                    _, emb, _, ex_logits = net(chunk)
                    emb.tolist(), ex_logits.argmax(1).tolist()

        forward_pass()
        start = time.perf_counter()
        for _ in range(a.reps):
            forward_pass()
        seconds = time.perf_counter() - start
        print(json.dumps({
            "system": "pytorch",
            "version": torch.__version__,
            "threads": a.threads,
            "batch_size": 256,
            "images": a.test_images * a.reps,
            "seconds": seconds,
            "images_per_s": a.test_images * a.reps / seconds,
        }))
        return

    order = torch.randperm(a.images)
    batches = [order[(k * a.batch) % a.images:][: a.batch] for k in range(a.warmup + a.steps)]
    for idx in batches[: a.warmup]:
        step(idx)
    start = time.perf_counter()
    n = 0
    for idx in batches[a.warmup:]:
        step(idx)
        n += len(idx)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "system": "pytorch",
        "version": torch.__version__,
        "threads": a.threads,
        "params_theta": sum(p.numel() for p in net.parameters()),
        "params_psi": sum(p.numel() for p in unit.parameters()),
        "images": n,
        "seconds": seconds,
        "images_per_s": n / seconds,
    }))


if __name__ == "__main__":
    main()
