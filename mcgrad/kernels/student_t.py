"""StudentT family: D independent Student-t(df, loc, scale) variables as Normal-Gamma scale mixtures.

With nu = df, a = nu / 2, gamma ~ Gamma(a, 1) drawn by Marsaglia-Tsang with shape augmentation (gamma.py)
and eps ~ N(0, 1):  w = sqrt(nu / (2 gamma)),  y = eps w,  x = loc + scale y  (so x - loc = scale y and
nu / (2 gamma) ~ 1 / Gamma(nu / 2, rate nu / 2)).  Components are ``df[0..D-1], loc[0..D-1], scale[0..D-1]``.
With f' = df/dx_j and f = f(x):

* reparameterisation in loc and scale (implicit, rsvi):  g_loc = f',  g_scale = f' y;
* df through the Gamma:  dx/dnu = scale y (1 / (2 nu) - dlog gamma/da / 4),  with dlog gamma/da from
  implicit reparameterisation (implicit: -dP(a, gamma)/da / (gamma q(gamma; a)), the Gamma tables) or through
  the sampler (rsvi, which adds f * dlog pi(eps_MT | a + B)/da / 2, its correction term);
* score: with r = y,  g_loc = f (nu + 1) r / (scale (nu + r^2)),
  g_scale = f ((nu + 1) r^2 / (nu + r^2) - 1) / scale,
  g_df = f (psi((nu + 1)/2) - psi(nu/2) - 1/nu - log1p(r^2/nu) + (nu + 1) r^2 / (nu (nu + r^2))) / 2.

Every estimator draws, per coordinate, one Marsaglia-Tsang Gamma (normal and uniform proposals, B uniforms)
and then one normal, so on one seed they see the same x.  D = 1 with a built-in objective runs in rounds
(:func:`_block_1d`); the rest runs the per-sample array loop (:func:`_block`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .elementary import log1p_nonnegative, log_positive
from .gamma import gamma_constants, gamma_draw, implicit_dlog_table, implicit_tables, log_h, rsvi_terms
from .moments import ROUND, accumulate_sample, add_round, block_row, lane_sums, lanes_row, sample_sums
from .objectives import builtin_round, evaluate_vector
from .rng import next_normal
from .special import digamma

SCORE = 0
IMPLICIT = 1
RSVI = 2

_HALF_LOG_HALF = 0.5 * math.log(0.5)
_SMALLEST_NORMAL = 2.2250738585072014e-308


@jit(inline=True)
def _score_terms(fx, y, nu, inv_nu, inv_scale, score_df, vectorised):
    """score's ``(g_df, g_loc, g_scale)`` at r = y (module docstring); ``score_df`` = psi((nu + 1)/2) - psi(nu/2) -
    1/nu.  ``vectorised``: log1p by :func:`~mcgrad.kernels.elementary.log1p_nonnegative` (r^2/nu < 1e300), else
    ``math.log1p``."""
    r2 = y * y
    q = r2 * inv_nu
    ratio = (nu + 1.0) / (nu + r2)
    f_over_scale = fx * inv_scale
    log1p_q = log1p_nonnegative(q) if vectorised else math.log1p(q)
    return 0.5 * fx * (score_df - log1p_q + ratio * q), f_over_scale * ratio * y, f_over_scale * (ratio * r2 - 1.0)


@jit(inline=True)
def _df_through_gamma(dfx, scale, y, inv_nu, dlog_gamma):
    """The reparameterised part of g_df: f' dx/dnu = f' scale y (1 / (2 nu) - dlog gamma/da / 4)."""
    return dfx * scale * y * (0.5 * inv_nu - 0.25 * dlog_gamma)


@jit
def _block(estimator, boost, user_path, df, loc, scale, code, p, user, tables, s, m, row, count_nonfinite):
    """One block; returns ``(non-finite samples, sampler proposals)``."""
    literally(user_path)
    dim = df.shape[0]
    shape = 0.5 * df  # the mixing Gamma's
    d, c, psi_boosted, psi, _, _ = gamma_constants(shape, boost)
    consts = np.empty((4, dim))
    score_df, half_log_nu, inv_nu, inv_scale = consts[0], consts[1], consts[2], consts[3]
    for j in range(dim):
        score_df[j] = digamma(0.5 * (df[j] + 1.0)) - psi[j] - 1.0 / df[j]
        half_log_nu[j] = 0.5 * math.log(df[j]) + _HALF_LOG_HALF
        inv_nu[j] = 1.0 / df[j]
        inv_scale[j] = 1.0 / scale[j]
    work = np.empty((4, dim))
    x, y, dlog_gamma, cor = work[0], work[1], work[2], work[3]
    grad = np.zeros(dim)
    g, acc, shift = sample_sums(3 * dim, row.shape[0])
    bad = 0
    proposals = 0
    for i in range(m):
        for j in range(dim):
            s, unit, h, e, v, log_sum, log_sum_sq, tries = gamma_draw(s, shape[j], boost, d[j], c[j])
            proposals += tries
            if estimator != SCORE:
                log_h_value = log_h(d[j], v)
                if estimator == IMPLICIT:
                    dlog_gamma[j] = implicit_dlog_table(tables, j, shape[j], unit, log_h_value + log_sum)
                else:
                    dlog_gamma[j], cor[j] = rsvi_terms(log_h_value, e, v, d[j], c[j], shape[j], boost,
                                                       psi_boosted[j], log_sum_sq)
            s, eps = next_normal(s)
            if unit >= _SMALLEST_NORMAL:
                y[j] = eps * math.sqrt(shape[j] / unit)
            else:  # gamma underflowed (df near 0.1): its logarithm is still finite
                y[j] = eps * math.exp(half_log_nu[j] - 0.5 * (log_h(d[j], v) + log_sum))
            x[j] = loc[j] + scale[j] * y[j]
        fx = evaluate_vector(user_path, code, p, user, 1, x, grad)
        for j in range(dim):
            if estimator == SCORE:
                g[j], g[dim + j], g[2 * dim + j] = _score_terms(fx, y[j], df[j], inv_nu[j], inv_scale[j], score_df[j],
                                                                False)
                continue
            g[dim + j] = grad[j]
            g[2 * dim + j] = grad[j] * y[j]
            g[j] = _df_through_gamma(grad[j], scale[j], y[j], inv_nu[j], dlog_gamma[j])
            if estimator == RSVI:
                g[j] += 0.5 * fx * cor[j]
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


# rows of the D = 1 rounds' work array; the gradient rows (df, loc, scale) last, in component order
_UNIT, _E, _V, _LOG_SUM, _LOG_SUM_SQ, _EPS, _LOG_H, _Y, _X, _F, _DF, _G_DF, _G_LOC, _G_SCALE = range(14)


@jit
def _draw_round(s, shape, boost, d, c, count, work):
    """``count`` draws one by one in the stream order of :func:`_block` (a Gamma, then a normal); returns
    ``(state, proposals)``."""
    proposals = 0
    for t in range(count):
        s, work[_UNIT, t], _, work[_E, t], work[_V, t], work[_LOG_SUM, t], work[_LOG_SUM_SQ, t], tries = gamma_draw(
            s, shape, boost, d, c)
        proposals += tries
        s, work[_EPS, t] = next_normal(s)
    return s, proposals


@jit
def _terms_round(estimator, boost, nu, loc, scale, code, p, tables, constants, count, work):
    """y, x, f and f' and the three gradient rows of one round, as vector loops (table look-ups, underflowed
    Gamma draws and non-finite scores aside).  ``constants`` = (d, c, psi(a + B), psi((nu + 1)/2) - psi(a) - 1/nu)
    with a = nu / 2."""
    d, c, psi_boosted, score_df = constants
    shape = 0.5 * nu
    inv_nu = 1.0 / nu
    inv_scale = 1.0 / scale
    log_d = math.log(d)
    for t in range(count):  # vector
        work[_LOG_H, t] = log_d + 3.0 * log_positive(work[_V, t])
        work[_Y, t] = work[_EPS, t] * math.sqrt(shape / work[_UNIT, t])
    for t in range(count):
        if not work[_UNIT, t] >= _SMALLEST_NORMAL:  # the Gamma draw underflowed (df near 0.1): use its logarithm
            work[_Y, t] = work[_EPS, t] * math.exp(0.5 * math.log(nu) + _HALF_LOG_HALF
                                                   - 0.5 * (work[_LOG_H, t] + work[_LOG_SUM, t]))
    for t in range(count):  # vector
        work[_X, t] = loc + scale * work[_Y, t]
    builtin_round(code, p, work, _X, _F, _DF, count)
    if estimator == SCORE:
        for t in range(count):  # vector
            work[_G_DF, t], work[_G_LOC, t], work[_G_SCALE, t] = _score_terms(work[_F, t], work[_Y, t], nu, inv_nu,
                                                                              inv_scale, score_df, True)
        for t in range(count):
            if not work[_Y, t] * work[_Y, t] * inv_nu < 1e300:  # log1p_nonnegative's range
                work[_G_DF, t], work[_G_LOC, t], work[_G_SCALE, t] = _score_terms(
                    work[_F, t], work[_Y, t], nu, inv_nu, inv_scale, score_df, False)
        return
    for t in range(count):  # vector
        work[_G_LOC, t] = work[_DF, t]
        work[_G_SCALE, t] = work[_DF, t] * work[_Y, t]
    if estimator == IMPLICIT:
        for t in range(count):
            dlog_gamma = implicit_dlog_table(tables, 0, shape, work[_UNIT, t], work[_LOG_H, t] + work[_LOG_SUM, t])
            work[_G_DF, t] = _df_through_gamma(work[_DF, t], scale, work[_Y, t], inv_nu, dlog_gamma)
        return
    for t in range(count):  # vector
        dlog_gamma, cor = rsvi_terms(work[_LOG_H, t], work[_E, t], work[_V, t], d, c, shape, boost, psi_boosted,
                                     work[_LOG_SUM_SQ, t])
        reparameterised = _df_through_gamma(work[_DF, t], scale, work[_Y, t], inv_nu, dlog_gamma)
        work[_G_DF, t] = reparameterised + 0.5 * work[_F, t] * cor


@jit
def _block_1d(estimator, boost, nu, loc, scale, code, p, tables, s, m, row, count_nonfinite):
    """One D = 1 block of any estimator on a built-in objective, in rounds: ROUND draws one by one (the stream
    order of :func:`_block`), then :func:`_terms_round`'s vector loops and 16-lane power sums.  Returns
    ``(non-finite samples, sampler proposals)``."""
    shape = np.array([0.5 * nu])
    d, c, psi_boosted, psi, _, _ = gamma_constants(shape, boost)
    constants = (d[0], c[0], psi_boosted[0], digamma(0.5 * (nu + 1.0)) - psi[0] - 1.0 / nu)
    work = np.zeros((14, ROUND))
    lanes, shift = lane_sums(row.shape[0])
    bad = 0
    proposals = 0
    done = 0
    while done < m:
        count = min(ROUND, m - done)
        s, tries = _draw_round(s, shape[0], boost, d[0], c[0], count, work)
        proposals += tries
        _terms_round(estimator, boost, nu, loc, scale, code, p, tables, constants, count, work)
        bad += add_round(lanes, shift, work[_G_DF:], count, done, count_nonfinite)
        done += count
    lanes_row(lanes, shift, m, row)
    return bad, proposals


def block(estimator: int, user_path: int, scalar: bool = False):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a StudentT estimator for a user
    objective (``user_path`` 1) or a built-in (0).  ``params`` = [df; loc; scale]; ``options`` = [boost];
    ``tables`` from :func:`implicit_setup` for implicit.  The estimator comes as a value (``chosen``): one block
    function, one compile, for all of the family's estimators."""
    return _rounds_block() if scalar and not user_path else _shared_block(user_path)


@functools.cache
def _rounds_block():
    @jit
    def student_t_rounds_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                               counting):
        return _block_1d(chosen, int(options[0]), params[0, 0], params[1, 0], params[2, 0], code, p, tables, s, m,
                         row, counting)

    return student_t_rounds_block


@functools.cache
def _shared_block(user_path: int):
    @jit
    def student_t_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        return _block(chosen, int(options[0]), user_path, params[0], params[1], params[2], code, p, user, tables, s,
                      m, row, counting)

    return student_t_block


@jit
def implicit_setup(params, options):
    """The implicit estimator's setup: the Gamma tables of the shapes df / 2 (:func:`implicit_tables`)."""
    return implicit_tables(0.5 * params[0], True)
