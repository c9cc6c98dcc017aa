"""Gamma-family throughput (all threads) beside same-run NumPy baselines (NumPy's own Gamma sampler)."""

import numpy as np
import pytest
from conftest import best_rate, record
from numpy_baselines import gamma_estimator, gamma_samples

import mcgrad
from mcgrad.kernels import gamma as gk
from mcgrad.kernels import rng

N = 10_000_000
ALPHA = 2.5


def test_gamma_sampling(benchmark):
    out = np.empty(-(-N // 65536))
    key = rng.run_key(0)

    def run():
        gk.sum_gamma_blocks(key, ALPHA, 0, 65536, N, out)

    run()
    benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    record(benchmark, N, best_rate(lambda: gamma_samples(ALPHA, N), N, repeats=3))


@pytest.mark.parametrize("estimator", ["rsvi", "rsvi_rep_only", "implicit", "grep", "score"])
def test_gamma_estimator(benchmark, estimator):
    dist = mcgrad.Gamma(ALPHA)
    mcgrad.estimate(dist, "square", estimator, N, seed=0, boost=0)
    benchmark.pedantic(mcgrad.estimate, args=(dist, "square", estimator, N, 0), kwargs={"boost": 0},
                       rounds=10, warmup_rounds=1)
    # the implicit baseline evaluates scipy's gammainc twice per sample: a smaller n keeps it to seconds
    baseline_n = N // 4 if estimator != "implicit" else N // 16
    record(benchmark, N, best_rate(lambda: gamma_estimator(estimator, ALPHA, baseline_n, boost=0), baseline_n, 2))
