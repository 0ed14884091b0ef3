#!/usr/bin/env python3
"""An independent recomputation of `weightlab report compare` for N tasks.

Reads the per-seed table (`weightlab report seeds DIR`) and the comparison
(`weightlab report compare DIR --format csv`) of one sweep, recomputes from the per-seed
metrics alone, with its own code (the Student t tail by numerical integration of the density,
not an incomplete beta function), every point's

  - mean paired Δp against the baseline, with each metric's direction,
  - per-task mean paired difference (accuracies in points),
  - two-sided paired t-test p-values and Holm's adjustment over the points, for Δp and for
    every task separately,
  - the verdict, and the static point that dominates it (better on one task after Holm over
    the row's tests against every static point, worse on none),

and exits 1 naming every disagreement (0 when all agree).

    python3 ntask_check.py SEEDS.csv COMPARE.csv BASELINE TASK:METRIC:DIRECTION ...
"""

import csv
import math
import sys

ALPHA = 0.05


def t_density(x, df):
    c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(c - (df + 1) / 2 * math.log1p(x * x / df))


def simpson(f, a, b, n=4000):
    n += n % 2
    h = (b - a) / n
    s = f(a) + f(b)
    for i in range(1, n):
        s += (4 if i % 2 else 2) * f(a + i * h)
    return s * h / 3


def t_two_sided(t, df):
    """P(|T| ≥ |t|): the tail integrated on [|t|, ∞) after x = |t| + u / (1 − u)."""
    a = abs(t)
    if a == 0:
        return 1.0

    def g(u):
        if u >= 1:
            return 0.0
        x = a + u / (1 - u)
        return t_density(x, df) / (1 - u) ** 2

    return min(1.0, 2 * simpson(g, 0.0, 1.0, 20000))


def paired_p(d):
    n = len(d)
    if n < 2:
        return None
    mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / (n - 1)
    sd = math.sqrt(var)
    if sd > 0 and sd > 1e-12 * abs(mean):
        return t_two_sided(mean / (sd / math.sqrt(n)), n - 1)
    return 1.0 if mean == 0 else min(1.0, 2 * 0.5 ** n)


def holm(ps):
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out, running = [0.0] * m, 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * ps[i]))
        out[i] = running
    return out


def close(a, b, rel=1e-6, abs_=1e-9):
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def main():
    seeds_path, compare_path, baseline = sys.argv[1:4]
    tasks = [t.split(":") for t in sys.argv[4:]]
    signs = [1.0 if d == "higher" else -1.0 for _, _, d in tasks]
    factors = [100.0 if m in ("acc", "error") else 1.0 for _, m, _ in tasks]
    cols = [f"{n}_{m}" for n, m, _ in tasks]

    per = {}  # point -> seed -> metrics
    statics = set()
    for r in csv.DictReader(open(seeds_path)):
        per.setdefault(r["strategy"], {})[int(r["seed"])] = [float(r[c]) for c in cols]
        if r["strategy"].startswith("static "):
            statics.add(r["strategy"])
    rows = {r["strategy"]: r for r in csv.DictReader(open(compare_path))}
    base = per[baseline]
    problems = []

    tested = []
    for point, by_seed in per.items():
        if point == baseline:
            continue
        shared = sorted(s for s in by_seed if s in base)
        dp = [
            100 * sum(sg * (m - b) / b for sg, m, b in zip(signs, by_seed[s], base[s])) / len(signs)
            for s in shared
        ]
        tasks_d = [[f * (by_seed[s][k] - base[s][k]) for s in shared] for k, f in enumerate(factors)]
        tested.append((point, dp, tasks_d))

    # Δp: means, p, Holm, verdicts.
    ps = [paired_p(dp) for _, dp, _ in tested]
    adjusted = holm(ps)
    for (point, dp, _), p, ph in zip(tested, ps, adjusted):
        r = rows[point]
        mean = sum(dp) / len(dp)
        for name, want, got in [
            ("delta_p", mean, r["delta_p"]),
            ("p_value", p, r["p_value"]),
            ("p_holm", ph, r["p_holm"]),
        ]:
            if not close(want, float(got)):
                problems.append(f"{point}: {name} {got} against {want}")
        verdict = "tie"
        if ph < ALPHA and mean > 0:
            verdict = "better"
        elif ph < ALPHA and mean < 0:
            verdict = "worse"
        if r["verdict"] != verdict:
            problems.append(f"{point}: verdict {r['verdict']} against {verdict}")

    # Per task: means, p and Holm over the points, each task its own family.
    for k, (name, _, _) in enumerate(tasks):
        ps = [paired_p(d[k]) for _, _, d in tested]
        for (point, _, d), p, ph in zip(tested, ps, holm(ps)):
            r = rows[point]
            mean = sum(d[k]) / len(d[k])
            for col, want in [(f"{name}_delta", mean), (f"{name}_p_value", p), (f"{name}_p_holm", ph)]:
                if not close(want, float(r[col])):
                    problems.append(f"{point}: {col} {r[col]} against {want}")

    # Dominance: every static point against every row's point, task by task.
    for point, by_seed in per.items():
        tests = []
        for s in sorted(statics - {point}):
            for k, sg in enumerate(signs):
                d = [100 * sg * (per[s][seed][k] - by_seed[seed][k]) for seed in sorted(by_seed) if seed in per[s]]
                p = paired_p(d)
                if p is not None:
                    tests.append((s, k, sum(d) / len(d), p))
        adj = holm([t[3] for t in tests])
        worse = {s for s, _, mean, p in tests if p < ALPHA and mean < 0}
        candidates = [(a, s) for (s, _, mean, _), a in zip(tests, adj) if a < ALPHA and mean > 0 and s not in worse]
        want = min(candidates)[1] if candidates else ""
        if rows[point]["dominated_by"] != want:
            problems.append(f"{point}: dominated_by {rows[point]['dominated_by']!r} against {want!r}")

    for p in problems:
        print(p)
    print(f"{len(tested)} points, {len(tasks)} tasks: {len(problems)} disagreement(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
