"""Bernoulli and Categorical throughput (all threads) beside same-run NumPy baselines.

Bernoulli: one variable with the toy f(b) = (b - 0.45)^2 at logit 0.3.  Categorical: K = 10 classes,
f = sum_k (x_k - 0.45)^2.  The NumPy baselines (numpy_discrete.py) do the same work vectorised.  Raw
references: one open uniform per sample for Bernoulli, the K Gumbels of a Gumbel-max draw for Categorical.
"""

import numba
import numpy as np
import pytest
import raw
from conftest import best_rate, record, thread_scaling
from numpy_discrete import bernoulli_estimator, categorical_estimator, gumbel_max_samples

import mcgrad

N = 10_000_000
LOGIT, T = 0.3, 0.45
CATEGORICAL_LOGITS = np.linspace(-1.0, 1.0, 10)


@numba.njit
def _cv(z):
    return 0.3 * z * z - 0.1 * z


@numba.njit
def _dcv(z):
    return 0.6 * z - 0.1


CONTROL = mcgrad.user_objective(_cv, _dcv, name="cv")


def test_uniform_sampling(benchmark):
    run = raw.uniforms(N)
    run()
    benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    record(benchmark, N, label="raw open uniforms", scaling=thread_scaling(raw.uniforms(10 * N), 10 * N))


def test_gumbel_max_sampling(benchmark):
    n = N // 4
    log_theta = CATEGORICAL_LOGITS - np.logaddexp.reduce(CATEGORICAL_LOGITS)
    run = raw.gumbel_max(CATEGORICAL_LOGITS, n)
    run()
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    record(benchmark, n, best_rate(lambda: gumbel_max_samples(log_theta, n // 4), n // 4, repeats=2),
           label="raw Gumbel-max, K = 10", scaling=thread_scaling(raw.gumbel_max(CATEGORICAL_LOGITS, 2 * N), 2 * N))


BERNOULLI = ["score", "arm", "disarm", "arms", "gumbel_softmax", "straight_through", "rebar", "relax"]


@pytest.mark.parametrize("estimator", BERNOULLI)
def test_bernoulli_toy(benchmark, estimator):
    dist = mcgrad.Bernoulli(logits=LOGIT)
    opts = {"control": CONTROL} if estimator == "relax" else {}
    mcgrad.estimate(dist, mcgrad.toy(T), estimator, N, 0, **opts)
    reference = "uniforms", best_rate(raw.uniforms(N), N, repeats=10)
    benchmark.pedantic(mcgrad.estimate, args=(dist, mcgrad.toy(T), estimator, N, 0), kwargs=opts, rounds=5,
                       warmup_rounds=1)
    baseline_n = N // 4
    big = 10 * N
    scaling = thread_scaling(lambda: mcgrad.estimate(dist, mcgrad.toy(T), estimator, big, 0, **opts), big)
    record(benchmark, N, best_rate(lambda: bernoulli_estimator(estimator, LOGIT, T, baseline_n), baseline_n, 2),
           reference, label=f"Bernoulli toy `{estimator}`", scaling=scaling)


@pytest.mark.parametrize("estimator", ["score", "gumbel_softmax", "straight_through", "reinmax",
                                       "gapped_straight_through", "gumbel_rao", "sum_and_sample", "unordered_set",
                                       "carms", "rebar"])
def test_categorical_k10(benchmark, estimator):
    dist = mcgrad.Categorical(logits=CATEGORICAL_LOGITS)
    n = N // 10
    mcgrad.estimate(dist, mcgrad.toy(T), estimator, n, 0)
    reference = "Gumbel-max, K = 10", best_rate(raw.gumbel_max(CATEGORICAL_LOGITS, n), n, repeats=3)
    benchmark.pedantic(mcgrad.estimate, args=(dist, mcgrad.toy(T), estimator, n, 0), rounds=3, warmup_rounds=1)
    baseline_n = n // 4
    big = 2 * N  # 2 x 10^7: at ~10 M/s on two threads, 10^8 would take a minute per repeat
    scaling = thread_scaling(lambda: mcgrad.estimate(dist, mcgrad.toy(T), estimator, big, 0), big, repeats=2)
    lam = 1.0 if estimator in ("reinmax", "gapped_straight_through") else 0.5  # each at its default temperature
    samples = 4 if estimator in ("unordered_set", "carms") else 10  # each at its default (set size, draws)
    record(benchmark, n, best_rate(lambda: categorical_estimator(estimator, CATEGORICAL_LOGITS, T, baseline_n, lam,
                                                                 samples=samples),
                                   baseline_n, 2), reference, label=f"Categorical K = 10 `{estimator}`",
           scaling=scaling)
