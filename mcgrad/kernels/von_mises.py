"""VonMises family: D independent von Mises(loc, concentration) variables, per-sample gradient estimators.

A draw is x = loc + z with z ~ von Mises(0, kappa) on (-pi, pi) by Best & Fisher's sampler
(:mod:`mcgrad.kernels.von_mises_special`), so x lies in (loc - pi, loc + pi); an objective periodic in 2 pi sees
the same values as under any other wrapping.  Components are ``loc[0..D-1], concentration[0..D-1]``.  With
A = I1(kappa) / I0(kappa):

* score:     g_loc = f(x) kappa sin z + q(pi) (f(loc + pi) - f(loc - pi)),   g_kappa = f(x) (cos z - A), formed as
  f(x) ((1 - A) - 2 sin^2(z / 2)).  The window (loc - pi, loc + pi) moves with loc, so the derivative of E f in loc
  has the edge term beside the score's (0 for f periodic in 2 pi); at D = 1 it is one number per block, at D > 1
  f is evaluated at coordinate j's two edges with the other coordinates as drawn (2 D more evaluations)
  (no cancellation when both are near 1 at large kappa), both from w = tan(z / 2), the sampler's own output;
* implicit:  g_loc = f'(x) (pathwise: dx/dloc = 1),  g_kappa = f'(x) dz/dkappa with the implicit
  reparameterisation gradient dz/dkappa = -(dF/dkappa)(z) / q(z) (Figurnov et al. 2018), read per sample from a
  table built once per launch (:func:`implicit_tables`: Chebyshev pieces of (dz/dkappa) / sin z, within 1e-14
  relative of the exact function, which costs about 0.3 microseconds a call).

Both draw the same z per coordinate (two normals and a uniform per proposal), so on one seed they see the same x.
D = 1 with a built-in objective runs in rounds (:func:`_block_1d`): the draws one by one, then z = 2 atan w, f
and the terms as vector loops, with the branch-free atan, sin and cos of :mod:`.trigonometric`; the rest runs the
per-sample array loop (:func:`_block`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .moments import ROUND, accumulate_sample, add_round, block_row, lane_sums, lanes_row, sample_sums
from .objectives import builtin_1d, builtin_round, evaluate_vector
from .trigonometric import atan_any
from .von_mises_special import bessel_terms, draw_half_tangent, dz_dkappa, sampler_constants

SCORE = 0
IMPLICIT = 1
_LOG_2PI = math.log(2.0 * math.pi)

PIECES = 128
TERMS = 10  # Chebyshev terms per piece (degree 9)
Y_END = 12.0  # the y-pieces cover y = sqrt(2 kappa) sin(z/2) in [0, Y_END]; beyond, dz/dkappa is computed directly
Y_KAPPA = 200.0  # from this kappa on, pieces in y (the draws sit within a few 1/sqrt(kappa) of 0); below, in z
TABLE = 1 + PIECES * TERMS  # per coordinate: 1 / (piece width), then the pieces' coefficients
_CHEBYSHEV_ANGLES = (np.arange(TERMS) + 0.5) * np.pi / TERMS


@jit(inline=True)
def _edge_density(kappa, log_i0e):
    """q(pi) = e^-kappa / (2 pi I0(kappa)), from log(I0(kappa) e^-kappa): the weight of the window's edge term."""
    return math.exp(-2.0 * kappa - _LOG_2PI - log_i0e)


@jit(inline=True)
def _score_terms(fx, w, kappa, one_minus_a, boundary):
    """score's ``(g_loc, g_kappa)`` from w = tan(z/2): sin z = 2 w q, sin^2(z/2) = w^2 q with q = 1 / (1 + w^2);
    ``boundary`` is the D = 1 edge term (0 at D > 1, where the caller adds each coordinate's)."""
    ww = w * w
    q = 1.0 / (1.0 + ww)
    return fx * kappa * 2.0 * w * q + boundary, fx * (one_minus_a - 2.0 * (ww * q if ww < 1e300 else 1.0))


@jit
def _block(estimator, user_path, loc, kappa, code, p, user, tables, s, m, row, count_nonfinite):
    """One block; returns ``(non-finite samples, sampler proposals)``."""
    literally(user_path)
    dim = loc.shape[0]
    consts = np.empty((6, dim))
    ratio, scale, rho, a, one_minus_a, edge = consts[0], consts[1], consts[2], consts[3], consts[4], consts[5]
    for j in range(dim):
        ratio[j], scale[j], rho[j] = sampler_constants(kappa[j])
        log_i0e, a[j], one_minus_a[j] = bessel_terms(kappa[j])
        edge[j] = _edge_density(kappa[j], log_i0e)
    work = np.empty((3, dim))
    z, x, w = work[0], work[1], work[2]
    grad = np.zeros(dim)
    boundary = 0.0  # D = 1 score: q(pi) (f(loc + pi) - f(loc - pi)), the same for every sample
    if estimator == SCORE and dim == 1:
        x[0] = loc[0] + math.pi
        boundary = evaluate_vector(user_path, code, p, user, 1, x, grad)
        x[0] = loc[0] - math.pi
        boundary = edge[0] * (boundary - evaluate_vector(user_path, code, p, user, 1, x, grad))
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
            if estimator == SCORE:
                g[j], g[dim + j] = _score_terms(fx, w[j], kappa[j], one_minus_a[j], boundary)
                if dim > 1:  # the window's edges given the other coordinates' draws
                    x[j] = loc[j] + math.pi
                    upper = evaluate_vector(user_path, code, p, user, 1, x, grad)
                    x[j] = loc[j] - math.pi
                    g[j] += edge[j] * (upper - evaluate_vector(user_path, code, p, user, 1, x, grad))
                    x[j] = loc[j] + z[j]
            else:
                g[j] = grad[j]
                g[dim + j] = grad[j] * implicit_from_table(tables, j, kappa[j], a[j], one_minus_a[j], w[j])
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


@jit
def _ratio_at(kappa, a, one_minus_a, v):
    """u = (dz/dkappa) / sin z at the table variable v (z itself below Y_KAPPA, y = sqrt(2 kappa) sin(z/2) above):
    an even, smooth function of z on [0, pi] (dz/dkappa is odd, ~ -c z at 0 and ~ -(1 + A)(pi - z) at pi)."""
    z = v if kappa < Y_KAPPA else 2.0 * math.asin(v / math.sqrt(2.0 * kappa))
    return dz_dkappa(z, kappa, a, one_minus_a) / math.sin(z)


@jit
def implicit_tables(params, options):
    """Per coordinate the row ``[1 / width, c_(p, k) ...]``: on each of PIECES pieces of the table variable (z over
    [0, pi] below Y_KAPPA, y over [0, Y_END] above), the Chebyshev coefficients of u = (dz/dkappa) / sin z
    interpolated at TERMS Chebyshev nodes, from the exact :func:`~mcgrad.kernels.von_mises_special.dz_dkappa`."""
    kappa = params[1]
    out = np.empty((kappa.shape[0], TABLE))
    values = np.empty(TERMS)
    for j in range(kappa.shape[0]):
        _, a, one_minus_a = bessel_terms(kappa[j])
        end = math.pi if kappa[j] < Y_KAPPA else Y_END
        width = end / PIECES
        out[j, 0] = 1.0 / width
        for piece in range(PIECES):
            for i in range(TERMS):
                v = width * (piece + 0.5 * (1.0 + math.cos(_CHEBYSHEV_ANGLES[i])))
                values[i] = _ratio_at(kappa[j], a, one_minus_a, v)
            for k in range(TERMS):
                total = 0.0
                for i in range(TERMS):
                    total += values[i] * math.cos(k * _CHEBYSHEV_ANGLES[i])
                out[j, 1 + piece * TERMS + k] = (1.0 if k > 0 else 0.5) * 2.0 * total / TERMS
    return out


@jit(inline=True)
def implicit_from_table(tables, j, kappa, a, one_minus_a, w):
    """dz/dkappa of the draw z = 2 atan(w) from row j of :func:`implicit_tables`: u by Clenshaw's recurrence on
    the piece, times sin z = 2 w / (1 + w^2); past Y_END (rare tail draws) the exact function."""
    q = 1.0 / (1.0 + w * w)
    if kappa < Y_KAPPA:
        v = 2.0 * math.atan(abs(w))
    else:
        v = math.sqrt(2.0 * kappa * w * w * q)
        if v >= Y_END:
            return dz_dkappa(2.0 * math.atan(w), kappa, a, one_minus_a)
    position = v * tables[j, 0]
    piece = min(int(position), PIECES - 1)
    t = 2.0 * (position - piece) - 1.0
    base = 1 + piece * TERMS
    b1 = 0.0
    b2 = 0.0
    for k in range(TERMS - 1, 0, -1):
        b1, b2 = 2.0 * t * b1 - b2 + tables[j, base + k], b1
    u = t * b1 - b2 + tables[j, base]
    return u * 2.0 * w * q


_W, _X, _F, _DF, _G_LOC, _G_KAPPA = range(6)  # rows of the D = 1 rounds' work array, the gradient rows last


@jit
def _block_1d(estimator, loc, kappa, code, p, tables, s, m, row, count_nonfinite):
    """One D = 1 block on a built-in objective, in rounds: ROUND draws one by one (the array loop's stream
    order), then x, f and the two gradient rows as vector loops and 16-lane power sums.  Returns
    ``(non-finite samples, sampler proposals)``; the same estimates as :func:`_block` up to rounding."""
    ratio, scale, rho = sampler_constants(kappa)
    log_i0e, a, one_minus_a = bessel_terms(kappa)
    boundary = 0.0  # score: q(pi) (f(loc + pi) - f(loc - pi)), the same for every sample
    if estimator == SCORE:
        boundary = _edge_density(kappa, log_i0e) * (builtin_1d(code, p, loc + math.pi)[0]
                                                   - builtin_1d(code, p, loc - math.pi)[0])
    work = np.zeros((6, ROUND))
    lanes, shift = lane_sums(row.shape[0])
    bad = 0
    proposals = 0
    done = 0
    while done < m:
        count = min(ROUND, m - done)
        for t in range(count):
            s, work[_W, t], tries = draw_half_tangent(s, ratio, scale, rho)
            proposals += tries
        for t in range(count):  # vector
            work[_X, t] = loc + 2.0 * atan_any(work[_W, t])
        builtin_round(code, p, work, _X, _F, _DF, count)
        if estimator == SCORE:
            for t in range(count):  # vector
                work[_G_LOC, t], work[_G_KAPPA, t] = _score_terms(work[_F, t], work[_W, t], kappa, one_minus_a,
                                                                  boundary)
        else:
            for t in range(count):
                work[_G_LOC, t] = work[_DF, t]
                work[_G_KAPPA, t] = work[_DF, t] * implicit_from_table(tables, 0, kappa, a, one_minus_a, work[_W, t])
        bad += add_round(lanes, shift, work[_G_LOC:], count, done, count_nonfinite)
        done += count
    lanes_row(lanes, shift, m, row)
    return bad, proposals


def block(estimator: int, user_path: int, scalar: bool = False):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a VonMises estimator for a user
    objective (``user_path`` 1) or a built-in (0).  ``params`` = [loc; concentration]; ``tables`` from
    :func:`implicit_tables` for implicit.  The estimator comes as a value (``chosen``): one block function, one
    compile, for both estimators."""
    return _rounds_block() if scalar and not user_path else _shared_block(user_path)


@functools.cache
def _rounds_block():
    @jit
    def von_mises_rounds_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                               counting):
        return _block_1d(chosen, params[0, 0], params[1, 0], code, p, tables, s, m, row, counting)

    return von_mises_rounds_block


@functools.cache
def _shared_block(user_path: int):
    @jit
    def von_mises_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        return _block(chosen, user_path, params[0], params[1], code, p, user, tables, s, m, row, counting)

    return von_mises_block
