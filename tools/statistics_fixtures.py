#!/usr/bin/env python3
"""Reference values for the statistics tests, computed with SciPy and statsmodels.

Writes Tests/StatisticsTests/Fixtures/statistics.json. Run from the repository root:

    python3 tools/statistics_fixtures.py

Needs numpy, scipy and statsmodels (pip install statsmodels). The data are generated here with a
fixed seed and stored in the fixture, so the Swift tests see exactly the same numbers.
"""
import json
import math

import numpy as np
from scipy import optimize, special, stats
from statsmodels.stats.power import NormalIndPower

rng = np.random.default_rng(20261123)
fixture = {"generator": f"scipy {__import__('scipy').__version__}, numpy {np.__version__}, "
                        f"statsmodels {__import__('statsmodels').__version__}"}

# Normal and chi-square distribution functions.
ps = [1e-12, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-9]
xs = [-8.0, -3.5, -1.96, -0.5, 0.0, 0.25, 1.0, 2.5, 6.0]
fixture["normal"] = {
    "p": ps, "quantile": [float(special.ndtri(p)) for p in ps],
    "x": xs, "cdf": [float(special.ndtr(x)) for x in xs],
}
chi = [(0.5, 1), (3.84, 1), (10.0, 3), (25.0, 10), (120.0, 100), (0.01, 4)]
fixture["chi_square"] = [{"x": x, "df": k, "survival": float(stats.chi2.sf(x, k))} for x, k in chi]

# Bootstrap: a skewed sample and paired samples.
skewed = rng.lognormal(mean=0.0, sigma=1.0, size=200)
control = rng.beta(2, 3, size=300)
treatment = np.clip(control + rng.normal(0.03, 0.1, size=300), 0, 1)
def bootstrap(data, method):
    result = stats.bootstrap((data,), np.mean, n_resamples=10000, method=method, confidence_level=0.95,
                             random_state=np.random.default_rng(7))
    return {"lower": float(result.confidence_interval.low), "upper": float(result.confidence_interval.high),
            "standard_error": float(result.standard_error)}
def acceleration(data):
    n = len(data)
    jack = (data.sum() - data) / (n - 1)
    d = jack.mean() - jack
    return float((d ** 3).sum() / (6 * ((d ** 2).sum()) ** 1.5))
differences = treatment - control
fixture["bootstrap"] = {
    "resamples": 10000, "level": 0.95,
    "skewed": {"values": skewed.tolist(), "mean": float(skewed.mean()), "acceleration": acceleration(skewed),
               "bca": bootstrap(skewed, "BCa"), "percentile": bootstrap(skewed, "percentile")},
    "paired": {"treatment": treatment.tolist(), "control": control.tolist(), "mean_difference": float(differences.mean()),
               "acceleration": acceleration(differences),
               "bca": bootstrap(differences, "BCa"), "percentile": bootstrap(differences, "percentile")},
}

# Power of a paired (one-sample) two-sided z test, statsmodels NormalIndPower with ratio = 0.
power = NormalIndPower()
fixture["power"] = [
    {"effect_size": d, "alpha": a, "power": pw, "pairs": float(power.solve_power(effect_size=d, alpha=a, power=pw, ratio=0))}
    for d, a, pw in [(0.15, 0.05, 0.8), (0.3, 0.05, 0.9), (0.05, 0.01, 0.8)]
]
fixture["power_function"] = [
    {"effect_size": d, "pairs": n, "alpha": a, "power": float(power.power(effect_size=d, nobs1=n, alpha=a, ratio=0))}
    for d, n, a in [(0.1, 500, 0.05), (0.0626, 2000, 0.05), (0.3, 50, 0.01), (0.02, 100, 0.05)]
]
# solve_power stops its root search early for effect sizes (its power at the returned value is
# off by up to 3e-5), so the tests compare minimum detectable effects to 1e-4 relative and the
# power function itself to 1e-12.
fixture["minimum_detectable_effect"] = [
    {"pairs": n, "alpha": a, "power": pw, "effect_size": float(power.solve_power(nobs1=n, alpha=a, power=pw, ratio=0))}
    for n, a, pw in [(500, 0.05, 0.8), (2000, 0.05, 0.8), (120, 0.1, 0.9)]
]

# Sample-ratio mismatch: Pearson chi-square against the intended split.
srm = [([5000, 5210], [0.5, 0.5]), ([9500, 520], [0.95, 0.05]), ([9400, 600], [0.95, 0.05]), ([3300, 3350, 3250], [1, 1, 1])]
fixture["sample_ratio_mismatch"] = []
for observed, shares in srm:
    total = sum(observed)
    expected = [total * s / sum(shares) for s in shares]
    result = stats.chisquare(observed, f_exp=expected)
    fixture["sample_ratio_mismatch"].append({"observed": observed, "shares": shares,
                                             "chi_square": float(result.statistic), "p_value": float(result.pvalue)})

# Off-policy estimators on fixed logged data (textbook formulas), and the ridge reward model.
n = 400
mu = rng.uniform(0.05, 0.9, size=n)
pi = np.clip(mu * rng.lognormal(0, 0.7, size=n), 0, 1)
rewards = rng.binomial(1, 0.4, size=n).astype(float)
rhat_logged = np.clip(0.4 + rng.normal(0, 0.1, size=n), 0, 1)
rhat_target = np.clip(0.45 + rng.normal(0, 0.1, size=n), 0, 1)
w = pi / mu
tau = 2.0
fixture["off_policy"] = {
    "rewards": rewards.tolist(), "propensities": mu.tolist(), "target": pi.tolist(),
    "predicted_logged": rhat_logged.tolist(), "predicted_target": rhat_target.tolist(), "switch_threshold": tau,
    "ips": float(np.mean(w * rewards)),
    "snips": float(np.sum(w * rewards) / np.sum(w)),
    "dm": float(np.mean(rhat_target)),
    "dr": float(np.mean(rhat_target + w * (rewards - rhat_logged))),
    "switch-dr": float(np.mean(rhat_target + (w <= tau) * w * (rewards - rhat_logged))),
    "effective_sample_size": float(w.sum() ** 2 / (w ** 2).sum()),
}
X = np.column_stack([np.ones(60), rng.normal(size=(60, 3))])
y = X @ np.array([0.5, 1.0, -2.0, 0.25]) + rng.normal(0, 0.1, size=60)
penalty = 3.0 * np.eye(4)
penalty[0, 0] = 0
fixture["ridge"] = {"rows": X.tolist(), "targets": y.tolist(), "lambda": 3.0,
                    "coefficients": np.linalg.solve(X.T @ X + penalty, X.T @ y).tolist()}

# Group-sequential boundaries from the joint normal distribution of the looks (Genz's algorithm in
# scipy's multivariate_normal.cdf), solved look by look.
def continuation(bounds, t):
    k = len(bounds)
    cov = np.array([[math.sqrt(min(t[i], t[j]) / max(t[i], t[j])) for j in range(k)] for i in range(k)])
    mvn = stats.multivariate_normal(mean=np.zeros(k), cov=cov, maxpts=2_000_000, abseps=1e-9, releps=1e-9, seed=1)
    return float(mvn.cdf(np.array(bounds)))
def spending_bounds(spend, alpha, t):
    bounds, spent = [], 0.0
    for k in range(len(t)):
        target = spend(alpha, t[k]) - spent
        previous = continuation(bounds, t) if bounds else 1.0
        f = lambda b: previous - continuation(bounds + [b], t[:k + 1]) - target
        b = optimize.brentq(f, 0.5, 12, xtol=1e-7)
        bounds.append(b)
        spent += previous - continuation(bounds, t[:k + 1])
    return bounds
obf = lambda a, s: 2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - a / 2) / math.sqrt(s))
pocock = lambda a, s: a * math.log(1 + (math.e - 1) * s)
t4 = [0.25, 0.5, 0.75, 1.0]
classical = optimize.brentq(lambda c: (1 - continuation([c / math.sqrt(s) for s in t4], t4)) - 0.025, 1.5, 3, xtol=1e-8)
fixture["group_sequential"] = {
    "alpha": 0.025, "fractions": t4,
    "obrien_fleming_spending": spending_bounds(obf, 0.025, t4),
    "pocock_spending": spending_bounds(pocock, 0.025, t4),
    "classical_obrien_fleming": [classical / math.sqrt(s) for s in t4],
    "uneven_fractions": [0.2, 0.45, 0.7, 1.0],
    "obrien_fleming_spending_uneven": spending_bounds(obf, 0.025, [0.2, 0.45, 0.7, 1.0]),
}

with open("Tests/StatisticsTests/Fixtures/statistics.json", "w") as out:
    json.dump(fixture, out, indent=1)
print("wrote Tests/StatisticsTests/Fixtures/statistics.json")
print("group sequential:", json.dumps(fixture["group_sequential"], indent=None))
