#!/usr/bin/env python3
"""Reference values for the power statistics of crates/stats/src/power.rs (re-exported by
src/report/stats.rs), from scipy and statsmodels (an implementation independent of
weightlab's). Its output is pasted into that file's unit tests `noncentral_t_matches_scipy` and
`power_mde_and_pairs_match_statsmodels`.

    python3 -m venv /tmp/sci && /tmp/sci/bin/pip install scipy statsmodels
    /tmp/sci/bin/python scripts/power-reference.py
"""
import math

from scipy import optimize, stats
from statsmodels.stats.power import TTestPower

power = TTestPower()
print("# nct.cdf(t, df, nc)")
for t, df, nc in [(2.0, 4, 1.0), (-1.5, 9, 0.5), (3.0, 1, 2.0), (10.0, 29, 8.0),
                  (0.5, 2, -1.0), (177.0, 1, 230.0)]:
    print(t, df, nc, repr(float(stats.nct.cdf(t, df, nc))))
print("# two-sided power(effect size d, nobs n, alpha)")
for d, n, a in [(0.5, 5, 0.05), (1.2, 5, 0.05), (2.0, 5, 0.05 / 14), (0.8, 20, 0.05 / 14),
                (0.3, 40, 0.05), (3.0, 3, 0.05)]:
    print(d, n, a, repr(float(power.power(effect_size=d, nobs=n, alpha=a,
                                          alternative="two-sided"))))
def nct_power(d, n, a):
    """Two-sided power straight from scipy's noncentral t."""
    c = stats.t.ppf(1 - a / 2, n - 1)
    nc = d * math.sqrt(n)
    return 1.0 - stats.nct.cdf(c, n - 1, nc) + stats.nct.cdf(-c, n - 1, nc)


# statsmodels' solve_power for the effect size is not used here: at n = 5, alpha = 0.05/14 it
# returns 3.0837, where its own power() gives 0.698 (its search runs into NaN power values).
print("# effect size d detected with power 0.8 (nobs n, alpha): root of scipy's nct power")
for n, a in [(5, 0.05), (5, 0.05 / 14), (10, 0.05), (20, 0.05 / 14), (3, 0.05), (8, 0.05 / 10)]:
    hi = 0.5
    while nct_power(hi, n, a) < 0.8:  # scipy's nct gives NaN far out: bracket from below
        hi *= 1.5
    d = optimize.brentq(lambda d: nct_power(d, n, a) - 0.8, 1e-3, hi, xtol=1e-13)
    print(n, a, repr(float(d)), "power there:", float(nct_power(d, n, a)))
print("# pairs for power 0.8 (effect, sd, alpha): continuous, rounded up")
for e, sd, a in [(1.0, 1.5, 0.05), (1.0, 1.5, 0.05 / 14), (1.0, 2.3, 0.05 / 14),
                 (0.5, 0.6, 0.05)]:
    n = power.solve_power(effect_size=e / sd, nobs=None, alpha=a, power=0.8,
                          alternative="two-sided")
    k = math.ceil(n)
    print(e, sd, a, repr(float(n)), k, "scipy power at", k - 1, "and", k, ":",
          float(nct_power(e / sd, k - 1, a)), float(nct_power(e / sd, k, a)))
