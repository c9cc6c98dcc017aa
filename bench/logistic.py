"""A realistic batch objective: the log-likelihood of a Bayesian logistic regression, and the same work in NumPy.

q(w) is a diagonal Normal over D = 31 weights (30 features and an intercept); the data are 569 rows (the size
of the Wisconsin breast-cancer set), generated here with a fixed seed.  f(w) = sum_i log sigmoid(y_i x_i . w),
grad f(w) = sum_i y_i x_i sigmoid(-y_i x_i . w).  The NumPy and ``@njit`` versions use the same formulas:
log sigmoid(m) = -(max(-m, 0) + log1p(exp(-|m|))) and sigmoid(-m) = 1 / (1 + exp(m)).
"""

from __future__ import annotations

import numba
import numpy as np

ROWS, FEATURES = 569, 30
DIM = FEATURES + 1
BATCH = 4096


def data(seed: int = 7) -> np.ndarray:
    """The rows y_i x_i (intercept column included), shape (569, 31)."""
    rng = np.random.default_rng(seed)
    x = np.hstack([rng.standard_normal((ROWS, FEATURES)), np.ones((ROWS, 1))])
    w_true = rng.standard_normal(DIM) * 0.5
    y = np.where(rng.random(ROWS) < 1.0 / (1.0 + np.exp(-x @ w_true)), 1.0, -1.0)
    return np.ascontiguousarray(y[:, None] * x)


YX = data()
YX_T = np.ascontiguousarray(YX.T)
LOC = np.linspace(-0.3, 0.3, DIM)
SCALE = np.full(DIM, 0.1)


def values(w: np.ndarray) -> np.ndarray:
    """f at each row of w (B, D)."""
    margins = w @ YX_T
    return -(np.maximum(-margins, 0.0) + np.log1p(np.exp(-np.abs(margins)))).sum(axis=1)


def gradients(w: np.ndarray) -> np.ndarray:
    """grad f at each row of w (B, D)."""
    return (1.0 / (1.0 + np.exp(w @ YX_T))) @ YX


@numba.njit(cache=True)
def njit_values(w):
    margins = w @ YX_T
    out = np.empty(w.shape[0])
    for b in range(w.shape[0]):
        total = 0.0
        for i in range(margins.shape[1]):
            m = margins[b, i]
            total -= max(-m, 0.0) + np.log1p(np.exp(-abs(m)))
        out[b] = total
    return out


@numba.njit(cache=True)
def njit_gradients(w):
    weights = w @ YX_T
    for b in range(weights.shape[0]):
        for i in range(weights.shape[1]):
            weights[b, i] = 1.0 / (1.0 + np.exp(weights[b, i]))
    return weights @ YX


def jax_f():
    """The per-point JAX function (jax imported on use)."""
    import jax.numpy as jnp

    yx = jnp.asarray(YX)

    def f(w):
        return -jnp.logaddexp(0.0, -(yx @ w)).sum()

    return f


def estimator_terms(estimator: str, f, grad_f, eps, xp):
    """Per-sample gradients w.r.t. (loc, scale) at w = loc + scale eps, in array module ``xp`` (NumPy or
    jax.numpy): pathwise (grad f(w), grad f(w) eps) or score f(w) (eps, eps^2 - 1) / scale."""
    w = LOC + SCALE * eps
    if estimator == "pathwise":
        g = grad_f(w)
        return xp.hstack([g, g * eps])
    fw = f(w)[:, None]
    return xp.hstack([fw * eps / SCALE, fw * (eps * eps - 1.0) / SCALE])


def numpy_chunked(estimator: str, n: int, seed: int = 0, chunk: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """The same estimate in plain NumPy, ``chunk`` samples at a time: mean and variance of the per-sample
    gradient w.r.t. (loc, scale) by ``pathwise`` (needs grad f only) or ``score`` (f only)."""
    rng = np.random.default_rng(seed)
    total = np.zeros(2 * DIM)
    total_sq = np.zeros(2 * DIM)
    done = 0
    while done < n:
        b = min(chunk, n - done)
        terms = estimator_terms(estimator, values, gradients, rng.standard_normal((b, DIM)), np)
        total += terms.sum(axis=0)
        total_sq += (terms * terms).sum(axis=0)
        done += b
    mean = total / n
    return mean, total_sq / n - mean * mean
