"""VonMises family: D independent von Mises(loc, concentration) variables, per-sample gradient estimators.

A draw is x = loc + z with z ~ von Mises(0, kappa) on (-pi, pi) by Best & Fisher's sampler
(:mod:`mcgrad.kernels.von_mises_special`), so x lies in (loc - pi, loc + pi); an objective periodic in 2 pi sees
the same values as under any other wrapping.  Components are ``loc[0..D-1], concentration[0..D-1]``.  With
A = I1(kappa) / I0(kappa):

* score:     g_loc = f(x) kappa sin z,   g_kappa = f(x) (cos z - A), formed as f(x) ((1 - A) - 2 sin^2(z / 2))
  (no cancellation when both are near 1 at large kappa), both from w = tan(z / 2), the sampler's own output;
* implicit:  g_loc = f'(x) (pathwise: dx/dloc = 1),  g_kappa = f'(x) dz/dkappa with the implicit
  reparameterisation gradient dz/dkappa = -(dF/dkappa)(z) / q(z) (Figurnov et al. 2018).

Both draw the same z per coordinate (two normals and a uniform per proposal), so on one seed they see the same x.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .moments import accumulate_sample, block_row, sample_sums
from .objectives import evaluate_vector
from .von_mises_special import bessel_terms, draw_half_tangent, dz_dkappa, sampler_constants

SCORE = 0
IMPLICIT = 1


@jit
def _block(estimator, user_path, loc, kappa, code, p, user, s, m, row, count_nonfinite):
    """One block; returns ``(non-finite samples, sampler proposals)``."""
    literally(user_path)
    dim = loc.shape[0]
    consts = np.empty((5, dim))
    ratio, scale, rho, a, one_minus_a = consts[0], consts[1], consts[2], consts[3], consts[4]
    for j in range(dim):
        ratio[j], scale[j], rho[j] = sampler_constants(kappa[j])
        _, a[j], one_minus_a[j] = bessel_terms(kappa[j])
    work = np.empty((3, dim))
    z, x, w = work[0], work[1], work[2]
    grad = np.zeros(dim)
    g, acc, shift = sample_sums(2 * dim, row.shape[0])
    bad = 0
    proposals = 0
    for i in range(m):
        for j in range(dim):
            s, w[j], tries = draw_half_tangent(s, ratio[j], scale[j], rho[j])
            proposals += tries
            z[j] = 2.0 * math.atan(w[j])
            x[j] = loc[j] + z[j]
        fx = evaluate_vector(user_path, code, p, user, 1, x, grad)
        for j in range(dim):
            if estimator == SCORE:  # with w = tan(z/2): sin z = 2 w q, sin^2(z/2) = w^2 q, q = 1 / (1 + w^2)
                ww = w[j] * w[j]
                q = 1.0 / (1.0 + ww)
                g[j] = fx * kappa[j] * 2.0 * w[j] * q
                g[dim + j] = fx * (one_minus_a[j] - 2.0 * (ww * q if ww < 1e300 else 1.0))
            else:
                g[j] = grad[j]
                g[dim + j] = grad[j] * dz_dkappa(z[j], kappa[j], a[j], one_minus_a[j])
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


def block(estimator: int, user_path: int, scalar: bool = False):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a VonMises estimator for a user
    objective (``user_path`` 1) or a built-in (0).  ``params`` = [loc; concentration].  The estimator comes as a
    value (``chosen``): one block function, one compile, for both estimators."""
    return _shared_block(user_path)


@functools.cache
def _shared_block(user_path: int):
    @jit
    def von_mises_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        return _block(chosen, user_path, params[0], params[1], code, p, user, s, m, row, counting)

    return von_mises_block
