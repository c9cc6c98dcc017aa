"""Gamma-family throughput (all threads) beside same-run NumPy baselines (NumPy's own Gamma sampler), and as a
fraction of Marsaglia-Tsang sampling alone with the same number of boosts B."""

import pytest
import raw
from conftest import best_rate, record, thread_scaling
from numpy_baselines import gamma_estimator, gamma_samples

import mcgrad

N = 10_000_000
ALPHA = 2.5


@pytest.mark.parametrize("boost", [0, 1])
def test_gamma_sampling(benchmark, boost):
    run = raw.gammas(ALPHA, boost, N)
    run()
    benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    record(benchmark, N, best_rate(lambda: gamma_samples(ALPHA, N), N, repeats=3) if boost == 0 else None,
           label=f"raw Gamma({ALPHA}) sampling, B = {boost}", scaling=thread_scaling(raw.gammas(ALPHA, boost, 5 * N),
                                                                                    5 * N))


CASES = [("rsvi", 0), ("rsvi", 1), ("rsvi_rep_only", 0), ("implicit", 0), ("grep", 0), ("score", 0)]


@pytest.mark.parametrize("estimator,boost", CASES, ids=[f"{e}-B{b}" for e, b in CASES])
def test_gamma_estimator(benchmark, estimator, boost):
    dist = mcgrad.Gamma(ALPHA)
    mcgrad.estimate(dist, "square", estimator, N, seed=0, boost=boost)
    reference = f"Gamma sampling, B = {boost}", best_rate(raw.gammas(ALPHA, boost, N), N, repeats=5)
    benchmark.pedantic(mcgrad.estimate, args=(dist, "square", estimator, N, 0), kwargs={"boost": boost},
                       rounds=10, warmup_rounds=1)
    # the implicit baseline evaluates scipy's gammainc twice per sample: a smaller n keeps it to seconds
    baseline_n = N // 4 if estimator != "implicit" else N // 16
    big = 5 * N
    scaling = thread_scaling(lambda: mcgrad.estimate(dist, "square", estimator, big, 0, boost=boost), big)
    record(benchmark, N, best_rate(lambda: gamma_estimator(estimator, ALPHA, baseline_n, boost=boost), baseline_n, 2),
           reference, label=f"Gamma({ALPHA}) `{estimator}`, f = z², B = {boost}", scaling=scaling)
