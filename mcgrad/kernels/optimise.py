"""Stochastic gradient descent on a Normal's parameters, the whole loop inside one kernel.

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

from ._jit import jit
from .normal import MEASURE_VALUED, SCORE, _measure_valued, _reparam_pair
from .objectives import USER, USER_FUNCTION, evaluate_vector
from .rng import block_state, next_normal

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
