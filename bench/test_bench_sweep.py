"""Sweep throughput: a grid of small points in one sweep call against point-by-point estimate calls.

Run: ``pytest bench/test_bench_sweep.py --benchmark-only``; ``extra_info`` holds points x samples per second
for the sweep, for the point-by-point loop measured in the same run, and their ratio; and, for the
variance-reduced score, the rate next to plain score and to a NumPy version of the same work.
"""

import numpy as np
import pytest
from conftest import best_rate, record

import mcgrad

GRID = {"loc": np.linspace(-1.0, 1.0, 8), "scale": [0.5, 1.0, 2.0, 4.0]}
POINTS = 8 * 4


@pytest.mark.parametrize("per_point", [65_536, 1_048_576])
def test_sweep_against_point_by_point(benchmark, per_point):
    def grid_sweep():
        mcgrad.sweep(mcgrad.Normal, GRID, "cos", ["pathwise"], n=per_point, seed=0)

    def point_by_point():
        for loc in GRID["loc"]:
            for scale in GRID["scale"]:
                mcgrad.estimate(mcgrad.Normal(loc, scale), "cos", "pathwise", per_point, seed=0)

    total = POINTS * per_point
    grid_sweep()
    benchmark.pedantic(grid_sweep, rounds=5, warmup_rounds=1)
    rate = record(benchmark, total, label=f"`sweep`, 32 Normal points x {per_point} samples, `pathwise`, f = cos")
    loop = best_rate(point_by_point, total, repeats=3)
    benchmark.extra_info["point_by_point_samples_per_second"] = loop
    benchmark.extra_info["speedup_vs_point_by_point"] = rate / loop


def numpy_score_baseline(n, mu, sigma, k, b, rng):
    """The same work as score_baseline with a fixed baseline: draws, f, plain and reduced terms, their moments."""
    e = rng.standard_normal(n)
    f = np.cos(k * (mu + sigma * e))
    s = np.stack([e / sigma, (e * e - 1.0) / sigma])
    plain = f * s
    reduced = (f - b) * s
    terms = np.concatenate([plain, reduced, plain + reduced, plain - reduced])
    centred = terms - terms.mean(axis=1, keepdims=True)
    return [(centred**p).sum(axis=1) for p in (2, 3, 4)]


def test_score_baseline_throughput(benchmark):
    n = 10_000_000
    dist = mcgrad.Normal(0.7, 0.8)
    f = mcgrad.cos(1.5)
    mcgrad.estimate(dist, f, "score_baseline", n, baseline=0.4)
    benchmark.pedantic(mcgrad.estimate, args=(dist, f, "score_baseline", n), kwargs={"baseline": 0.4}, rounds=5,
                       warmup_rounds=1)
    rng = np.random.default_rng(0)
    baseline = best_rate(lambda: numpy_score_baseline(n, 0.7, 0.8, 1.5, 0.4, rng), n, repeats=2)
    record(benchmark, n, baseline, label="Normal `score_baseline` (constant b), f = cos 1.5x")
    benchmark.extra_info["plain_score_samples_per_second"] = best_rate(
        lambda: mcgrad.estimate(dist, f, "score", n), n, repeats=3)
