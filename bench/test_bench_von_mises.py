"""VonMises(0.4, 2) throughput on f = cos(2x) (all threads) beside same-run NumPy baselines (NumPy's von Mises
sampler; scipy's CDF by differences for the implicit gradient)."""

import pytest
from conftest import best_rate, record, thread_scaling
from numpy_baselines import von_mises_estimator

import mcgrad

N = 10_000_000
LOC, KAPPA, K = 0.4, 2.0, 2.0


@pytest.mark.parametrize("estimator", ["score", "implicit"])
def test_von_mises_estimator(benchmark, estimator):
    dist, f = mcgrad.VonMises(LOC, KAPPA), mcgrad.cos(K)
    mcgrad.estimate(dist, f, estimator, N, seed=0)
    benchmark.pedantic(mcgrad.estimate, args=(dist, f, estimator, N, 0), rounds=5, warmup_rounds=1)
    # the implicit baseline evaluates scipy's von Mises CDF twice per sample: a smaller n keeps it to seconds
    baseline_n = N // 100 if estimator == "implicit" else N // 4
    big = 5 * N
    scaling = thread_scaling(lambda: mcgrad.estimate(dist, f, estimator, big, 0), big)
    record(benchmark, N, best_rate(lambda: von_mises_estimator(estimator, LOC, KAPPA, baseline_n, K), baseline_n, 2),
           label=f"VonMises({KAPPA:g}) `{estimator}`, f = cos 2x", scaling=scaling)
