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
and then one normal, so on one seed they see the same x.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .gamma import gamma_constants, gamma_draw, implicit_dlog_table, implicit_tables, log_h, rsvi_terms
from .moments import accumulate_sample, block_row, sample_sums
from .objectives import evaluate_vector
from .rng import next_normal
from .special import digamma

SCORE = 0
IMPLICIT = 1
RSVI = 2

_HALF_LOG_HALF = 0.5 * math.log(0.5)
_SMALLEST_NORMAL = 2.2250738585072014e-308


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
                r2 = y[j] * y[j]
                t = r2 * inv_nu[j]
                ratio = (df[j] + 1.0) / (df[j] + r2)
                f_over_scale = fx * inv_scale[j]
                g[j] = 0.5 * fx * (score_df[j] - math.log1p(t) + ratio * t)
                g[dim + j] = f_over_scale * ratio * y[j]
                g[2 * dim + j] = f_over_scale * (ratio * r2 - 1.0)
                continue
            g[dim + j] = grad[j]
            g[2 * dim + j] = grad[j] * y[j]
            g[j] = grad[j] * scale[j] * y[j] * (0.5 * inv_nu[j] - 0.25 * dlog_gamma[j])
            if estimator == RSVI:
                g[j] += 0.5 * fx * cor[j]
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


def block(estimator: int, user_path: int, scalar: bool = False):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a StudentT estimator for a user
    objective (``user_path`` 1) or a built-in (0).  ``params`` = [df; loc; scale]; ``options`` = [boost];
    ``tables`` from :func:`implicit_setup` for implicit.  The estimator comes as a value (``chosen``): one block
    function, one compile, for all of the family's estimators."""
    return _shared_block(user_path)


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
