"""MultivariateNormal family: score and pathwise estimators of E_{N(loc, L L^T)}[f(x)], batch by batch.

x = loc + L eps with eps ~ N(0, I_D) and L = ``scale_tril`` lower triangular with a positive diagonal.  The
gradient components are ``loc[0..D-1]`` then the entries L_ij, i >= j, row by row (``packed`` order: the
parameters arrive as one row ``[loc, L_00, L_10, L_11, L_20, ...]``, which SGD moves as they are).
Formulas (docs/estimators.md), with w = L^-T eps:

* score:     g_loc = f(x) w,         g_L_ij = f(x) (w_i eps_j - [i = j] / L_ii)
* pathwise:  g_loc = grad f(x),      g_L_ij = grad_i f(x) eps_j

A block runs in batches of C samples in row-major arrays ``a[i, j]`` (row = coordinate or component i,
column = sample j), so x = loc + L eps, the built-in objectives, the estimators' terms and the power sums
are vector loops over a row; the normals are drawn sample by sample, coordinate by coordinate (D per
sample, the stream order of the Normal family's loops, so a diagonal L sees the Normal's eps).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .moments import add_lanes, lane_sums, lanes_row
from .objectives import batch_objective
from .rng import next_normal

SCORE = 0
PATHWISE = 1

_BATCH = 256  # samples per batch (a multiple of LANES)


@jit
def dimension(width):
    """D from the packed parameter count W = D + D (D + 1) / 2."""
    return int(round((math.sqrt(9.0 + 8.0 * width) - 3.0) / 2.0))


@jit
def unpack(packed):
    """``(loc, L)`` from the packed row ``[loc, L_00, L_10, L_11, ...]``."""
    dim = dimension(packed.shape[0])
    loc = packed[:dim].copy()
    tril = np.zeros((dim, dim))
    c = dim
    for i in range(dim):
        for j in range(i + 1):
            tril[i, j] = packed[c]
            c += 1
    return loc, tril


@jit
def tril_inverse(tril):
    """L^-1 of a lower-triangular L with a nonzero diagonal, by forward substitution (lower triangular)."""
    dim = tril.shape[0]
    inv = np.zeros((dim, dim))
    for j in range(dim):
        inv[j, j] = 1.0 / tril[j, j]
        for i in range(j + 1, dim):
            total = 0.0
            for k in range(j, i):
                total += tril[i, k] * inv[k, j]
            inv[i, j] = -total / tril[i, i]
    return inv


@jit
def _count_nonfinite(g, count):
    bad = 0
    for j in range(count):
        finite = True
        for c in range(g.shape[0]):
            finite = finite and math.isfinite(g[c, j])
        bad += 0 if finite else 1
    return bad


@jit
def _block(estimator, user_path, packed, code, p, user, s, m, row, count_nonfinite):
    """One block of m samples; writes its central summaries into ``row``; returns the non-finite count."""
    literally(user_path)
    loc, tril = unpack(packed)
    inv = tril_inverse(tril)
    dim = loc.shape[0]
    width = packed.shape[0]
    chunk = _BATCH
    work = np.zeros((4, dim, chunk))
    eps, x, grad, w = work[0], work[1], work[2], work[3]
    g = np.zeros((width, chunk))
    f = np.zeros(chunk)
    per_column = np.zeros(chunk)
    xv = np.empty(dim)
    gv = np.empty(dim)
    acc, shift = lane_sums(row.shape[0])
    bad = 0
    for start in range(0, m, chunk):
        count = min(chunk, m - start)
        for j in range(count):
            for d in range(dim):
                s, eps[d, j] = next_normal(s)
        for i in range(dim):  # x = loc + L eps
            xi = x[i]
            xi[:] = loc[i]
            for k in range(i + 1):
                lik = tril[i, k]
                ek = eps[k]
                for j in range(chunk):
                    xi[j] += lik * ek[j]
        batch_objective(user_path, user, code, p, 1, x, grad, per_column, chunk, count, f, xv, gv)
        if estimator == PATHWISE:
            for i in range(dim):
                g[i, :] = grad[i]
            c = dim
            for i in range(dim):
                gi = grad[i]
                for k in range(i + 1):
                    ek = eps[k]
                    gc = g[c]
                    for j in range(chunk):
                        gc[j] = gi[j] * ek[j]
                    c += 1
        else:  # score: w = L^-T eps, w_i = sum_{k >= i} inv[k, i] eps_k
            for i in range(dim):
                wi = w[i]
                wi[:] = 0.0
                for k in range(i, dim):
                    a = inv[k, i]
                    ek = eps[k]
                    for j in range(chunk):
                        wi[j] += a * ek[j]
                gi = g[i]
                for j in range(chunk):
                    gi[j] = f[j] * wi[j]
            c = dim
            for i in range(dim):
                wi = w[i]
                for k in range(i + 1):
                    ek = eps[k]
                    diagonal = 1.0 / tril[i, i] if k == i else 0.0
                    gc = g[c]
                    for j in range(chunk):
                        gc[j] = f[j] * (wi[j] * ek[j] - diagonal)
                    c += 1
        add_lanes(acc, shift, g, chunk, count, start)
        if count_nonfinite:
            bad += _count_nonfinite(g, count)
    lanes_row(acc, shift, m, row)
    return bad


def block(estimator: int, user_path: int, scalar: bool = False):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a MultivariateNormal estimator, for
    a user objective (``user_path`` 1) or a built-in (0); ``params`` = the packed row.  The estimator comes as a
    value (``chosen``, a branch per batch): one block function per ``user_path`` serves both estimators, as in
    the Categorical kernels, so no two compiled closures of one function differ only in a captured constant."""
    return _shared_block(user_path)


@functools.cache
def _shared_block(user_path: int):
    @jit
    def multivariate_normal_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                                  counting):
        return _block(chosen, user_path, params[0], code, p, user, s, m, row, counting), 0

    return multivariate_normal_block
