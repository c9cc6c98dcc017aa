"""Bernoulli and Categorical throughput (all threads) beside same-run NumPy baselines.

Bernoulli: one variable with the toy f(b) = (b - 0.45)^2 at logit 0.3.  Categorical: K = 10 classes,
f = sum_k (x_k - 0.45)^2.  The NumPy baselines (numpy_discrete.py) do the same work vectorised.
"""

import numba
import numpy as np
import pytest
from conftest import best_rate, record
from numpy_discrete import bernoulli_estimator, categorical_estimator, gumbel_max_samples

import mcgrad
from mcgrad.kernels import categorical, rng

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


def test_gumbel_max_sampling(benchmark):
    n = N // 4
    log_theta = CATEGORICAL_LOGITS - np.logaddexp.reduce(CATEGORICAL_LOGITS)
    out = np.empty(-(-n // 65536), np.int64)
    key = rng.run_key(0)

    def run():
        categorical.sum_gumbel_max_blocks(key, log_theta, 65536, n, out)

    run()
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    record(benchmark, n, best_rate(lambda: gumbel_max_samples(log_theta, n // 4), n // 4, repeats=2))


BERNOULLI = ["score", "arm", "disarm", "gumbel_softmax", "straight_through", "rebar", "relax"]


@pytest.mark.parametrize("estimator", BERNOULLI)
def test_bernoulli_toy(benchmark, estimator):
    dist = mcgrad.Bernoulli(logits=LOGIT)
    opts = {"control": CONTROL} if estimator == "relax" else {}
    mcgrad.estimate(dist, mcgrad.toy(T), estimator, N, 0, **opts)
    benchmark.pedantic(mcgrad.estimate, args=(dist, mcgrad.toy(T), estimator, N, 0), kwargs=opts, rounds=5,
                       warmup_rounds=1)
    baseline_n = N // 4
    record(benchmark, N, best_rate(lambda: bernoulli_estimator(estimator, LOGIT, T, baseline_n), baseline_n, 2))


@pytest.mark.parametrize("estimator", ["score", "gumbel_softmax", "straight_through", "rebar"])
def test_categorical_k10(benchmark, estimator):
    dist = mcgrad.Categorical(logits=CATEGORICAL_LOGITS)
    n = N // 10
    mcgrad.estimate(dist, mcgrad.toy(T), estimator, n, 0)
    benchmark.pedantic(mcgrad.estimate, args=(dist, mcgrad.toy(T), estimator, n, 0), rounds=3, warmup_rounds=1)
    baseline_n = n // 4
    record(benchmark, n, best_rate(lambda: categorical_estimator(estimator, CATEGORICAL_LOGITS, T, baseline_n),
                                   baseline_n, 2))
