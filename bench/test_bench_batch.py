"""Batch objectives on a realistic workload: a Bayesian logistic-regression likelihood (bench/logistic.py).

Every mcgrad variant is timed next to the same estimate written as a chunked NumPy loop (and, for JAX, as a
jit + vmap JAX loop) in the same run; ``extra_info`` holds samples/s and the ratios.  mcgrad's own share of the
wall time (everything but the batch function) is measured by timing the batch evaluation inside the run.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import best_rate, record
from logistic import (
    BATCH,
    DIM,
    LOC,
    SCALE,
    estimator_terms,
    gradients,
    jax_f,
    njit_gradients,
    njit_values,
    numpy_chunked,
    values,
)

import mcgrad

N = 1 << 19  # eight blocks
ESTIMATORS = ("pathwise", "score")
DIST = mcgrad.Normal(LOC, SCALE)


def _objectives():
    return {
        "numpy": mcgrad.batch_objective(values, gradients, name="loglik"),
        "njit": mcgrad.batch_objective(njit_values, njit_gradients, name="loglik"),
    }


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("kind", ["numpy", "njit"])
def test_logistic_regression_batch_objective(benchmark, kind, estimator):
    objective = _objectives()[kind]
    baseline = best_rate(lambda: numpy_chunked(estimator, N), N, repeats=3)
    spent = [0.0]
    evaluate = objective.batch.evaluate_tapes

    def timed(*args):
        t0 = time.perf_counter()
        evaluate(*args)
        spent[0] += time.perf_counter() - t0

    objective.batch.evaluate_tapes = timed
    mcgrad.estimate(DIST, objective, estimator, N, seed=1)  # compile
    spent[0] = 0.0
    t0 = time.perf_counter()
    mcgrad.estimate(DIST, objective, estimator, N, seed=1)
    share = 1.0 - spent[0] / (time.perf_counter() - t0)
    benchmark.pedantic(lambda: mcgrad.estimate(DIST, objective, estimator, N, seed=1), rounds=3, iterations=1)
    record(benchmark, N, baseline, label=f"logistic regression, {kind} `batch_objective`, `{estimator}`")
    benchmark.extra_info["mcgrad_share_of_wall_time"] = share


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_logistic_regression_jax_objective(benchmark, estimator):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    f = jax_f()
    objective = mcgrad.jax_objective(f, name="loglik")
    grads, vals = jax.jit(jax.vmap(jax.grad(f))), jax.jit(jax.vmap(f))

    def jax_loop():
        key = jax.random.PRNGKey(0)
        total = np.zeros(2 * DIM)
        for _ in range(0, N, BATCH):
            key, sub = jax.random.split(key)
            terms = estimator_terms(estimator, vals, grads, jax.random.normal(sub, (BATCH, DIM)), jnp)
            total += np.asarray(terms.sum(axis=0))
        return total

    baseline = best_rate(jax_loop, N, repeats=3)
    mcgrad.estimate(DIST, objective, estimator, N, seed=1)
    benchmark.pedantic(lambda: mcgrad.estimate(DIST, objective, estimator, N, seed=1), rounds=3, iterations=1)
    record(benchmark, N, label=f"logistic regression, `jax_objective`, `{estimator}`")
    benchmark.extra_info["jax_loop_samples_per_second"] = baseline
    benchmark.extra_info["speedup_vs_jax_loop"] = benchmark.extra_info["samples_per_second"] / baseline
    benchmark.extra_info["numpy_samples_per_second"] = best_rate(lambda: numpy_chunked(estimator, N), N, repeats=3)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_logistic_regression_per_sample_njit(benchmark, estimator):
    """The per-sample path on the same likelihood, for comparison (one point at a time, f and f' by hand)."""
    import numba
    from logistic import YX

    @numba.njit
    def f(w):
        return njit_values(w.reshape(1, -1))[0]

    @numba.njit
    def df(w):
        return njit_gradients(w.reshape(1, -1))[0]

    objective = mcgrad.user_objective(f, df, vector=True, name="loglik")
    assert YX.shape[1] == DIM
    baseline = best_rate(lambda: numpy_chunked(estimator, N // 4), N // 4, repeats=3)
    mcgrad.estimate(DIST, objective, estimator, N // 4, seed=1)
    benchmark.pedantic(lambda: mcgrad.estimate(DIST, objective, estimator, N // 4, seed=1), rounds=3, iterations=1)
    record(benchmark, N // 4, baseline, label=f"logistic regression, per-sample `@njit` f and f′, `{estimator}`")
