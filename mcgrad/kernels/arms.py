"""ARMS (Dimitriev & Zhou 2021): antithetic multi-sample REINFORCE for D independent Bernoullis.

Per coordinate d, n antithetic uniforms come from a Dirichlet copula: with (e_1..e_n) standard exponentials and
w_i = e_i / sum_j e_j (uniform on the simplex, each w_i ~ Beta(1, n - 1)), u_i = 1 - (1 - w_i)^(n-1) is uniform,
and the n uniforms are negatively dependent (n = 2: u and 1 - u).  The outcomes are b_id = [u_id > 1 - theta_d],
that is b_id = [w_id > s_d] with s_d = 1 - theta_d^(1/(n-1)).  The estimator

    g_d = 1 / ((n - 1)(1 - rho_d)) sum_i (f(b_i) - fbar) (b_id - theta_d)
        = theta_d (1 - theta_d) / ((n - 1) P10_d) sum_i (f(b_i) - fbar) b_id,

with fbar the mean of the n values, is unbiased: rho_d is the correlation of two outcomes of coordinate d,
1 - rho_d = P10_d / (theta_d (1 - theta_d)), and P10_d = P(b_id = 1, b_jd = 0) = (1 - s)^(n-1) - (1 - 2s)_+^(n-1)
(for the uniform Dirichlet, P(w_i > a, w_j > b) = (1 - a - b)_+^(n-1)).  The difference is formed as
(1 - s)^(n-1) (1 - (1 - s / (1 - s))^(n-1)) with expm1 and log1p, so no cancellation when s is small.
n = 2 gives DisARM.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .moments import accumulate_sample, block_row, sample_sums
from .objectives import evaluate_vector
from .rng import next_double_open

SAMPLES = 0  # the options vector: [samples]


@jit
def copula_constants(logit, samples):
    """``(s, scale)`` of one coordinate: the simplex threshold s = 1 - theta^(1/(n-1)) and the estimator's
    factor theta (1 - theta) / ((n - 1) P10)."""
    n1 = samples - 1.0
    log_theta = -(max(-logit, 0.0) + math.log1p(math.exp(-abs(logit))))  # log sigmoid(logit)
    log_theta_bar = log_theta - logit  # log sigmoid(-logit)
    s = -math.expm1(log_theta / n1)
    theta = math.exp(log_theta)
    if s < 0.5:  # (1 - s)^(n-1) = theta
        p10 = theta * -math.expm1(n1 * math.log1p(-s / (1.0 - s)))
    else:
        p10 = theta
    return s, theta * math.exp(log_theta_bar) / (n1 * p10)


@jit(inline=True)
def _copula_draws(s, samples, threshold, u):
    """One coordinate's n uniforms into ``u`` and the cut c with b_i = [u_i < c]: e_i = -log u_i, and
    w_i = e_i / sum_j e_j > s  <=>  u_i < (prod_j u_j)^s, so one log and one exp replace n logs.  The product
    is folded into its logarithm before it can underflow.  Returns ``(state, c)``."""
    log_product = 0.0
    product = 1.0
    for i in range(samples):
        s, u[i] = next_double_open(s)
        product *= u[i]
        if product < _FOLD:
            log_product += math.log(product)
            product = 1.0
    return s, math.exp(threshold * (log_product + math.log(product)))


_FOLD = 1e-280  # below it a product of uniforms (each >= 2^-53) could underflow within a few more factors


@jit
def _block(user_path, logits, factor, samples, code, p, user, s, m, row, count_nonfinite):
    """One block of ARMS with ``samples`` = n draws per coordinate; returns the non-finite count.

    D = 1: f takes two values, f(0) and f(1), evaluated once per block, and with k of the n outcomes equal to 1
    the sum is (f(1) - f(0)) k (n - k) / n.
    """
    literally(user_path)
    dim = logits.shape[0]
    consts = np.empty((2, dim))
    threshold, scale = consts[0], consts[1]
    for d in range(dim):
        threshold[d], scale[d] = copula_constants(logits[d, 0], float(samples))
        scale[d] *= factor[d]
    u = np.empty(samples)
    b = np.zeros((samples, dim))
    values = np.empty(samples)
    grad = np.empty(dim)
    g, acc, shift = sample_sums(dim, row.shape[0])
    gap = 0.0
    if dim == 1:
        for i in range(2):
            b[0, 0] = float(i)
            values[i] = evaluate_vector(user_path, code, p, user, 1, b[0], grad)
        gap = (values[1] - values[0]) * scale[0] / samples
    bad = 0
    for t in range(m):
        if dim == 1:
            s, cut = _copula_draws(s, samples, threshold[0], u)
            ones = 0
            for i in range(samples):
                ones += 1 if u[i] < cut else 0
            g[0] = gap * (ones * (samples - ones)) if 0 < ones < samples else 0.0
            bad += accumulate_sample(acc, shift, g, t == 0, count_nonfinite)
            continue
        for d in range(dim):
            s, cut = _copula_draws(s, samples, threshold[d], u)
            for i in range(samples):
                b[i, d] = 1.0 if u[i] < cut else 0.0
        mean = 0.0
        for i in range(samples):
            values[i] = evaluate_vector(user_path, code, p, user, 1, b[i], grad)
            mean += values[i]
        mean /= samples
        for d in range(dim):
            total = 0.0
            for i in range(samples):
                if b[i, d] > 0.0:
                    total += values[i] - mean
            g[d] = scale[d] * total
        bad += accumulate_sample(acc, shift, g, t == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad


@functools.cache
def block(user_path: int):
    """The ARMS block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) for a user objective
    (``user_path`` 1) or a built-in (0); arguments as :func:`mcgrad.kernels.discrete.block`, options [samples]."""

    @jit
    def arms_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        return _block(user_path, params, extra, np.int64(options[SAMPLES]), code, p, user, s, m, row, counting), 0

    return arms_block
