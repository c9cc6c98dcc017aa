"""Stochastic gradient descent on a distribution's parameters, the whole loop inside one kernel.

Step t draws K samples from block t's stream (so a run depends only on the seed and the settings),
averages the estimator over them and moves (loc, scale) by ``-learning_rate`` times that average.
Estimators and their formulas are those of :mod:`mcgrad.kernels.normal`; ``score`` can carry a
moving-average baseline b_t = decay b_{t-1} + (1 - decay) fbar_{t-1} built from earlier steps only (so
each step stays unbiased): g = (f(x) - b_t) grad log p(x).

The scale is iterated as a real number: x = loc + scale eps has the law N(loc, scale^2) for either sign,
and every estimator here is the gradient of E f(loc + scale eps) for any scale != 0, so a step that
crosses zero is followed rather than clipped.
"""

from __future__ import annotations

import math

import numpy as np
from numba import literally, types

from . import categorical as categorical_kernels
from . import dirichlet, discrete, gamma, score_vr
from ._jit import jit
from .gamma import implicit_tables
from .normal import MEASURE_VALUED, SCORE, _measure_valued, _reparam_pair
from .objectives import USER, USER_FUNCTION, USER_SCALAR_FUNCTION, evaluate_vector
from .rng import block_state, next_normal
from .score_vr import BERNOULLI, CATEGORICAL, DIRICHLET, GAMMA

SIGNATURE = types.void(
    types.int64, types.int64,  # estimator, option (grep transform)
    types.boolean, types.float64,  # moving-average baseline (score), its decay
    types.float64[::1], types.float64[::1],  # starting loc, scale
    types.int64, types.float64, USER_FUNCTION,  # objective: code, parameter, user function
    types.uint64, types.int64, types.float64,  # key, samples per step K, learning rate
    types.float64[:, ::1],  # out: row t = (loc, scale, mean f over step t's samples, baseline used)
)


@jit
def _path(estimator, option, user_path, moving, decay, loc0, scale0, code, p, user, key, group, lr, out):
    literally(user_path)
    loc = loc0.copy()
    scale = scale0.copy()
    dim = loc.shape[0]
    eps = np.empty(dim)
    x = np.empty(dim)
    grad = np.empty(dim)
    g = np.empty(2 * dim)
    total = np.empty(2 * dim)
    baseline = 0.0
    steps = out.shape[0] - 1
    for t in range(steps + 1):
        out[t, :dim] = loc
        out[t, dim:2 * dim] = scale
        if t == steps:
            out[t, 2 * dim] = math.nan
            out[t, 2 * dim + 1] = baseline
            break
        s = block_state(key, t)
        total[:] = 0.0
        f_sum = 0.0
        for _ in range(group):
            for d in range(dim):
                s, eps[d] = next_normal(s)
                x[d] = loc[d] + scale[d] * eps[d]
            fx = evaluate_vector(user_path, code, p, user, 1, x, grad)
            f_sum += fx
            if estimator == MEASURE_VALUED:
                s = _measure_valued(user_path, code, p, user, loc, scale, x, grad, s, g)
            else:
                shifted = fx - baseline if moving else fx
                for d in range(dim):
                    g[d], g[dim + d] = _reparam_pair(estimator, option, shifted, grad[d], eps[d], 1.0 / scale[d],
                                                     1.0 - scale[d])
            for c in range(2 * dim):
                total[c] += g[c]
        f_mean = f_sum / group
        out[t, 2 * dim] = f_mean
        out[t, 2 * dim + 1] = baseline
        for d in range(dim):
            loc[d] -= lr * total[d] / group
            scale[d] -= lr * total[dim + d] / group
        if moving and estimator == SCORE:
            baseline = f_mean if t == 0 else decay * baseline + (1.0 - decay) * f_mean


@jit
def normal_sgd(estimator, option, moving, decay, loc0, scale0, code, p, user, key, group, lr, out):
    """Fill ``out[t]`` with the iterate before step t, the mean of f over step t's samples and the
    baseline step t used; the last row holds the final iterate."""
    if code == USER:
        _path(estimator, option, 1, moving, decay, loc0, scale0, code, p, user, key, group, lr, out)
    else:
        _path(estimator, option, 0, moving, decay, loc0, scale0, code, p, user, key, group, lr, out)


# --- every other family: each step runs the family's own block function on K samples -------------------
#
# Step t evaluates block t of the family kernel at the current parameters, so its gradient is exactly
# what ``estimate(..., n=K * steps, block_size=K, blocks=(t, t + 1))`` returns there.  Concentrations and
# rates are projected onto [floor, inf) after each step; logits are free.  ``score`` with a moving-average
# baseline runs through the variance-reduced score kernel, whose last column is the mean of f.

GAMMA_SIGNATURE = types.void(
    types.int64, types.int64, types.boolean, types.float64,  # estimator, boost, moving average, decay
    types.float64[::1], types.float64[::1], types.float64, types.float64,  # concentration, rate; their floors
    types.int64, types.float64, USER_FUNCTION, USER_SCALAR_FUNCTION,  # objective
    types.uint64, types.int64, types.float64, types.float64[:, ::1],  # key, K, learning rate, out
)
DIRICHLET_SIGNATURE = types.void(
    types.int64, types.int64, types.boolean, types.boolean, types.float64,  # estimator, boost, Beta, moving, decay
    types.float64[::1], types.float64,  # starting concentration, floor
    types.int64, types.float64, USER_FUNCTION,  # objective
    types.uint64, types.int64, types.float64, types.float64[:, ::1],
)
DISCRETE_SIGNATURE = types.void(
    types.int64, types.boolean, types.float64,  # estimator, moving average, decay
    types.float64[:, ::1], types.float64, types.float64,  # starting logits (D, K), temperature, eta
    types.int64, types.float64, USER_FUNCTION, USER_SCALAR_FUNCTION,  # objective
    USER_FUNCTION, USER_SCALAR_FUNCTION,  # control variate (relax)
    types.uint64, types.int64, types.float64, types.float64[:, ::1],
)


@jit
def _record(out, t, params, loss, baseline):
    width = params.shape[0]
    out[t, :width] = params
    out[t, width] = loss
    out[t, width + 1] = baseline


@jit
def _score_step(family, user_path, boost, first_only, a, b, logits, code, p, user, baseline, s, group, row,
                counters):
    """One step of score with the baseline ``baseline`` (every component) through the variance-reduced kernel."""
    literally(family)
    literally(user_path)
    width = row.shape[0] // score_vr.MAIN_TERMS
    shift = np.full(width, baseline)
    zero = np.zeros(width)
    score_vr._block(family, user_path, score_vr.MAIN, 1, boost, first_only, a, b, logits, code, p, user, shift,
                    zero, zero, np.zeros(0), s, group, row, counters, 0, False)


@jit
def _moving(baseline, t, decay, f_mean):
    return f_mean if t == 0 else decay * baseline + (1.0 - decay) * f_mean


@jit
def gamma_sgd(estimator, boost, moving, decay, alpha0, rate0, floor, rate_floor, code, p, user, user1, key, group, lr,
              out):
    """SGD on Gamma (concentration, rate); ``out[t]`` = (parameters before step t, mean f or NaN, baseline)."""
    alpha = alpha0.copy()
    rate = rate0.copy()
    dim = alpha.shape[0]
    params = np.empty(2 * dim)
    row = np.empty((2 * dim * score_vr.MAIN_TERMS + 1 if moving else 2 * dim, 5))
    counters = np.zeros((2, 1), np.int64)
    b = np.empty((1, 1))
    baseline = 0.0
    steps = out.shape[0] - 1
    for t in range(steps + 1):
        params[:dim] = alpha
        params[dim:] = rate
        if t == steps:
            _record(out, t, params, math.nan, baseline)
            break
        s = block_state(key, t)
        f_mean = math.nan
        if moving:
            if code == USER:
                _score_step(GAMMA, 1, boost, False, alpha, rate, b, code, p, user, baseline, s, group,
                            row, counters)
            else:
                _score_step(GAMMA, 0, boost, False, alpha, rate, b, code, p, user, baseline, s, group,
                            row, counters)
            grad = row[2 * dim:4 * dim, 1]
            f_mean = row[row.shape[0] - 1, 1]
        else:
            tables = implicit_tables(alpha, estimator == gamma.IMPLICIT)
            if code == USER:
                gamma._block(estimator, boost, 1, alpha, rate, code, p, user, user1, tables, s, group, row, counters,
                             0, False)
            else:
                gamma._block(estimator, boost, 0, alpha, rate, code, p, user, user1, tables, s, group, row, counters,
                             0, False)
            grad = row[:, 1]
        _record(out, t, params, f_mean, baseline)
        for d in range(dim):
            alpha[d] = max(alpha[d] - lr * grad[d], floor)
            rate[d] = max(rate[d] - lr * grad[dim + d], rate_floor)
        if moving:
            baseline = _moving(baseline, t, decay, f_mean)


@jit
def dirichlet_sgd(estimator, boost, first_only, moving, decay, alpha0, floor, code, p, user, key, group, lr, out):
    """SGD on Beta / Dirichlet concentrations; ``out`` as :func:`gamma_sgd`."""
    alpha = alpha0.copy()
    dim = alpha.shape[0]
    row = np.empty((dim * score_vr.MAIN_TERMS + 1 if moving else dim, 5))
    counters = np.zeros((2, 1), np.int64)
    empty = np.zeros(1)
    b = np.empty((1, 1))
    baseline = 0.0
    steps = out.shape[0] - 1
    for t in range(steps + 1):
        if t == steps:
            _record(out, t, alpha, math.nan, baseline)
            break
        s = block_state(key, t)
        f_mean = math.nan
        if moving:
            if code == USER:
                _score_step(DIRICHLET, 1, boost, first_only, alpha, empty, b, code, p, user, baseline, s,
                            group, row, counters)
            else:
                _score_step(DIRICHLET, 0, boost, first_only, alpha, empty, b, code, p, user, baseline, s,
                            group, row, counters)
            grad = row[dim:2 * dim, 1]
            f_mean = row[row.shape[0] - 1, 1]
        else:
            tables = implicit_tables(alpha, estimator == gamma.IMPLICIT)
            if code == USER:
                dirichlet._block(estimator, boost, first_only, 1, alpha, code, p, user, tables, s, group, row,
                                 counters, 0, False)
            else:
                dirichlet._block(estimator, boost, first_only, 0, alpha, code, p, user, tables, s, group, row,
                                 counters, 0, False)
            grad = row[:, 1]
        _record(out, t, alpha, f_mean, baseline)
        for d in range(dim):
            alpha[d] = max(alpha[d] - lr * grad[d], floor)
        if moving:
            baseline = _moving(baseline, t, decay, f_mean)


@jit
def _discrete_sgd(categorical, estimator, moving, decay, logits0, lam, eta, code, p, user, user1, cv, cv1, key,
                  group, lr, out):
    literally(categorical)
    logits = logits0.copy()
    flat = logits.ravel()
    width = flat.shape[0]
    factor = np.ones(width)
    row = np.empty((width * score_vr.MAIN_TERMS + 1 if moving else width, 5))
    counters = np.zeros((2, 1), np.int64)
    empty = np.zeros(1)
    baseline = 0.0
    steps = out.shape[0] - 1
    for t in range(steps + 1):
        if t == steps:
            _record(out, t, flat, math.nan, baseline)
            break
        s = block_state(key, t)
        f_mean = math.nan
        if moving:
            if categorical:
                if code == USER:
                    _score_step(CATEGORICAL, 1, 0, False, empty, factor, logits, code, p, user, baseline, s, group,
                                row, counters)
                else:
                    _score_step(CATEGORICAL, 0, 0, False, empty, factor, logits, code, p, user, baseline, s, group,
                                row, counters)
            elif code == USER:
                _score_step(BERNOULLI, 1, 0, False, empty, factor, logits, code, p, user, baseline, s, group, row,
                            counters)
            else:
                _score_step(BERNOULLI, 0, 0, False, empty, factor, logits, code, p, user, baseline, s, group, row,
                            counters)
            grad = row[width:2 * width, 1]
            f_mean = row[row.shape[0] - 1, 1]
        elif categorical:
            if code == USER:
                categorical_kernels._block(estimator, 1, logits, factor, lam, eta, code, p, user, cv, s, group, row,
                                           False)
            else:
                categorical_kernels._block(estimator, 0, logits, factor, lam, eta, code, p, user, cv, s, group, row,
                                           False)
            grad = row[:, 1]
        else:
            if code == USER:
                discrete._bernoulli_block(estimator, 1, logits, factor, lam, eta, code, p, user, user1, cv, cv1, s,
                                          group, row, False)
            else:
                discrete._bernoulli_block(estimator, 0, logits, factor, lam, eta, code, p, user, user1, cv, cv1, s,
                                          group, row, False)
            grad = row[:, 1]
        _record(out, t, flat, f_mean, baseline)
        for c in range(width):
            flat[c] -= lr * grad[c]
        if moving:
            baseline = _moving(baseline, t, decay, f_mean)


@jit
def bernoulli_sgd(estimator, moving, decay, logits0, lam, eta, code, p, user, user1, cv, cv1, key, group, lr, out):
    """SGD on Bernoulli logits (shape (D, 1)); ``out`` as :func:`gamma_sgd`."""
    _discrete_sgd(False, estimator, moving, decay, logits0, lam, eta, code, p, user, user1, cv, cv1, key, group, lr,
                  out)


@jit
def categorical_sgd(estimator, moving, decay, logits0, lam, eta, code, p, user, user1, cv, cv1, key, group, lr, out):
    """SGD on Categorical logits (shape (D, K)); ``out`` as :func:`gamma_sgd`."""
    _discrete_sgd(True, estimator, moving, decay, logits0, lam, eta, code, p, user, user1, cv, cv1, key, group, lr,
                  out)
