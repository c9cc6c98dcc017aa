"""Normal-family throughput at n = 10^7 with all threads, beside same-run NumPy baselines.

Run: ``pytest bench/ --benchmark-only``; samples/s, the NumPy ratio, the fraction of the raw normal-draw
rate (measured next to each estimator) and the one-thread / all-threads scaling at n = 10^8 are in each
benchmark's ``extra_info`` (``--benchmark-json=out.json`` keeps them).
"""

import numpy as np
import pytest
import raw
from conftest import best_rate, record, thread_scaling
from numpy_baselines import multivariate_normal_estimator, normal_estimator, normal_stream

import mcgrad

N = 10_000_000
N_SCALING = 100_000_000


def _raw_rate():
    """The raw normal rate, measured right next to each estimator (machine speed drifts between tests)."""
    return "normals", best_rate(raw.normals(N), N, repeats=20)


def test_raw_normal_stream(benchmark):
    run = raw.normals(N)
    run()
    benchmark.pedantic(run, rounds=20, warmup_rounds=2)
    record(benchmark, N, best_rate(lambda: normal_stream(N), N), label="raw ziggurat normals",
           scaling=thread_scaling(raw.normals(N_SCALING), N_SCALING))


CASES = [
    ("score", {}, "square", 0.0),
    ("pathwise", {}, "square", 0.0),
    ("grep", {"transform": 1}, "square", 0.0),
    ("grep", {"transform": 2}, "square", 0.0),
    ("measure_valued", {}, "square", 0.0),
    ("pathwise", {}, "cos", 2.0),
]


@pytest.mark.parametrize("estimator,opts,objective,param", CASES,
                         ids=[f"{c[0]}{c[1].get('transform', '')}-{c[2]}" for c in CASES])
def test_normal_estimator(benchmark, estimator, opts, objective, param):
    dist = mcgrad.Normal(1.0, 1.0)
    f = mcgrad.objectives.BUILTINS[objective](param)
    n = N if estimator != "measure_valued" else N // 5
    mcgrad.estimate(dist, f, estimator, n, seed=0, **opts)
    reference = _raw_rate()
    benchmark.pedantic(mcgrad.estimate, args=(dist, f, estimator, n, 0), kwargs=opts, rounds=20, warmup_rounds=2)
    baseline = best_rate(
        lambda: normal_estimator(estimator, 1.0, 1.0, objective, param, n, transform=opts.get("transform", 1)),
        n, repeats=3)
    option = f" {opts['transform']}" if "transform" in opts else ""
    big = 10 * n
    scaling = thread_scaling(lambda: mcgrad.estimate(dist, f, estimator, big, 0, **opts), big)
    record(benchmark, n, baseline, reference, label=f"Normal `{estimator}`{option}, f = {f.name}", scaling=scaling)


def test_user_objective_pathwise(benchmark):
    import numba

    @numba.njit
    def f(x):
        return x * x

    @numba.njit
    def df(x):
        return 2.0 * x

    obj = mcgrad.user_objective(f, df)
    dist = mcgrad.Normal(1.0, 1.0)
    mcgrad.estimate(dist, obj, "pathwise", N)
    benchmark.pedantic(mcgrad.estimate, args=(dist, obj, "pathwise", N, 0), rounds=20, warmup_rounds=2)
    record(benchmark, N, best_rate(lambda: normal_estimator("pathwise", 1.0, 1.0, "square", 0.0, N), N, 2),
           _raw_rate(), label="Normal `pathwise`, user @njit f = x²")


MVN_DIM = 10
MVN_LOC = np.linspace(-1.0, 1.0, MVN_DIM)
MVN_TRIL = np.tril(np.full((MVN_DIM, MVN_DIM), 0.1)) + np.diag(np.linspace(0.5, 1.5, MVN_DIM))


@pytest.mark.parametrize("estimator", ["pathwise", "score"])
def test_multivariate_normal_d10(benchmark, estimator):
    """MultivariateNormal D = 10, full L (65 components), f = sum x_i^2; the raw reference is 10 normals a sample."""
    dist = mcgrad.MultivariateNormal(MVN_LOC, MVN_TRIL)
    f = mcgrad.square(0.0)
    n = N // 5
    mcgrad.estimate(dist, f, estimator, n, seed=0)
    reference = "10 normals", best_rate(raw.normals(MVN_DIM * n), n, repeats=5)
    benchmark.pedantic(mcgrad.estimate, args=(dist, f, estimator, n, 0), rounds=5, warmup_rounds=1)
    baseline_n = n // 10
    baseline = best_rate(lambda: multivariate_normal_estimator(estimator, MVN_LOC, MVN_TRIL, "square", 0.0,
                                                               baseline_n), baseline_n, repeats=2)
    big = 5 * n
    scaling = thread_scaling(lambda: mcgrad.estimate(dist, f, estimator, big, 0), big, repeats=2)
    record(benchmark, n, baseline, reference, label=f"MultivariateNormal D = 10 `{estimator}`, f = square",
           scaling=scaling)
