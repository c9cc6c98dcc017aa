"""Normal family: per-sample gradient estimators of E_{N(loc, diag(scale^2))}[f(x)].

:func:`block` gives each estimator's block function for the one driver
(:mod:`mcgrad.kernels.driver`); each compiles only its own loops.  Components are ordered
``loc[0..D-1], scale[0..D-1]``.  Formulas (docs/estimators.md), with x = loc + scale * eps:

* score:     g_loc = f(x) eps / scale,             g_scale = f(x) (eps^2 - 1) / scale
* pathwise:  g_loc = f'(x),                        g_scale = f'(x) eps
* grep, transform 1: g_loc = f'(x),                g_scale = f(x) (eps^2 - 1) / scale
* grep, transform 2: g_loc = f'(x)(1 - scale) + f(x) eps,   g_scale = f'(x) eps
* measure_valued (coupled): g_loc = (f(loc + scale W) - f(loc - scale W)) / (scale sqrt(2 pi)),
  W Rayleigh; g_scale = (f(loc + scale M) - f(loc + scale U M)) / scale, M double-sided
  Maxwell, U uniform, so that U M is standard normal.  Built-ins take these differences in
  closed form through the offsets (no cancellation when scale << |loc|).

Score, pathwise and grep draw exactly D normals per sample, in coordinate order, so on the same
seed they see the same eps (common random numbers).  D = 1 runs loops compiled per estimator (Numba
literal specialisation): rounds of vector loops for built-in objectives (:func:`_block_1d_rounds`), a
scalar loop whose state stays in registers for user functions and measure_valued; D > 1 uses small
per-block work arrays.  The D = 1 measure-valued loop draws no base normal (there is no other
coordinate to hold fixed), so its stream use differs from the D > 1 loop's; optimisation steps run the
same block function, so they draw exactly as ``estimate`` does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import literally

from ._jit import jit
from .moments import (
    ROUND,
    accumulate_sample,
    add_powers,
    add_round,
    block_row,
    lane_sums,
    lanes_row,
    pair_row,
    sample_sums,
)
from .objectives import (
    SQUARE,
    builtin_round,
    coordinate_term,
    evaluate_1d,
    quadratic_form,
    term_difference,
)
from .rng import next_double, next_double_open, next_normal

SCORE = 0
PATHWISE = 1
GREP = 2
MEASURE_VALUED = 3

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

@jit
def _reparam_pair(estimator, option, fx, dfx, e, inv_scale, one_minus_scale):
    """(g_loc, g_scale) of score, pathwise or grep for one coordinate."""
    if estimator == SCORE:
        return fx * e * inv_scale, fx * (e * e - 1.0) * inv_scale
    if estimator == PATHWISE:
        return dfx, dfx * e
    if option == 1:
        return dfx, fx * (e * e - 1.0) * inv_scale
    return dfx * one_minus_scale + fx * e, dfx * e


@jit(inline=True)
def _difference(user_path, code, p, user, x, grad, d, base, a, b):
    """f(x) with x_d = base + a minus f(x) with x_d = base + b; a built-in's by
    :func:`~mcgrad.kernels.objectives.term_difference` (no cancellation when a, b << base)."""
    if user_path:
        keep = x[d]
        x[d] = base + a
        f_a = user(code, p, x, grad)
        x[d] = base + b
        f_b = user(code, p, x, grad)
        x[d] = keep
        return f_a - f_b
    return term_difference(code, p, d, base, a, b)


@jit(inline=True)
def _difference_1d(user_path, code, p, user1, base, a, b):
    """f(base + a) - f(base + b) at D = 1, as :func:`_difference`."""
    if user_path:
        return user1(code, p, base + a)[0] - user1(code, p, base + b)[0]
    return term_difference(code, p, 0, base, a, b)


@jit
def _measure_valued(user_path, code, p, user, loc, scale, x, grad, s, g):
    dim = loc.shape[0]
    for d in range(dim):
        s, u = next_double_open(s)
        w = scale[d] * math.sqrt(-2.0 * math.log(u))
        g[d] = _difference(user_path, code, p, user, x, grad, d, loc[d], w, -w) * _INV_SQRT_2PI / scale[d]
        s, z = next_normal(s)
        s, u = next_double_open(s)
        maxwell = scale[d] * math.copysign(math.sqrt(z * z - 2.0 * math.log(u)), z)
        s, u = next_double(s)
        g[dim + d] = _difference(user_path, code, p, user, x, grad, d, loc[d], maxwell, u * maxwell) / scale[d]
    return s


@jit(inline=True)
def _measure_valued_pair(user_path, code, p, user1, loc, scale, inv_scale, s):
    """One D = 1 sample of the coupled measure-valued estimator: ``(state, g_loc, g_scale)``."""
    s, u = next_double_open(s)
    w = scale * math.sqrt(-2.0 * math.log(u))
    g0 = _difference_1d(user_path, code, p, user1, loc, w, -w) * (_INV_SQRT_2PI * inv_scale)
    s, z = next_normal(s)
    s, u = next_double_open(s)
    maxwell = scale * math.copysign(math.sqrt(z * z - 2.0 * math.log(u)), z)
    s, u = next_double(s)
    g1 = _difference_1d(user_path, code, p, user1, loc, maxwell, u * maxwell) * inv_scale
    return s, g0, g1


_EPS, _F, _DF, _G0, _G1 = range(5)  # rows of the D = 1 rounds' work array


@jit
def _block_1d_rounds(estimator, option, loc, scale, code, p, s, m, row, count_nonfinite):
    """D = 1 loop of score, pathwise and grep on a built-in objective, in rounds (as the Gamma loop).

    ROUND normals are drawn one by one (the stream order of every Normal loop), then the estimator's terms
    and the power sums (``LANES`` interleaved lanes) each run as one vector loop over the round.  A quadratic
    objective (``w (x - c)^2 + v x``, branch-free) goes from eps to the two terms in one pass, with no f and f'
    stored between; other built-ins go through :func:`~mcgrad.kernels.objectives.builtin_round` first (cos k x
    vectorised too).  Returns the non-finite count.

    Notes
    -----
    The draws are bound by the core's throughput, not by their latency (two interleaved streams draw no
    faster than one), so everything after them adds to the time.  One thread, 2-core Xeon, ns per sample
    for pathwise on x^2: the draws alone 1.8; the two terms +0.05; the power sums of the two components
    +0.6 (timed alone 0.35 with the sums in vector registers, :mod:`~mcgrad.kernels.lanes`, 0.65 with them in
    memory); each round's calls, which pass arrays and so update reference counts atomically, about 75 ns per
    round, hence rounds of 1024 (and the moments helpers inlined).

    Score on a quadratic objective takes f(x) / scale as a quadratic in eps,
    ``q0 + q1 eps + q2 eps^2`` with ``q0 = (w (loc - c)^2 + v loc + const) / scale``, ``q1 = 2 w (loc - c) + v``,
    ``q2 = w scale``: five multiplies per sample instead of nine, which bound that loop (0.14 -> 0.09 ns per
    sample, Zen 5).  It rounds differently from the per-sample loop (within its tests' tolerance) and keeps
    more of eps's bits where scale << |loc|, as loc + scale eps is never formed.
    """
    inv_scale = 1.0 / scale
    one_minus_scale = 1.0 - scale
    quadratic, w, centre, slope = quadratic_form(code, p, 1, 0)
    constant = p if code == SQUARE else 0.0
    offset = loc - centre
    q0 = (w * (offset * offset) + slope * loc + constant) * inv_scale
    q1 = 2.0 * w * offset + slope
    q2 = w * scale
    work = np.empty((5, ROUND))
    eps, fx, dfx, g0, g1 = work[_EPS], work[_F], work[_DF], work[_G0], work[_G1]
    lanes, shift = lane_sums(row.shape[0])
    bad = 0
    done = 0
    while done < m:
        count = min(ROUND, m - done)
        for t in range(count):
            s, eps[t] = next_normal(s)
        if quadratic and estimator == SCORE:
            for t in range(count):  # vector
                e = eps[t]
                q = (q2 * e + q1) * e + q0  # f(x) / scale
                g0[t] = q * e
                g1[t] = q * (e * e - 1.0)
        elif quadratic:
            for t in range(count):  # vector
                e = eps[t]
                x = loc + scale * e
                r = x - centre
                g0[t], g1[t] = _reparam_pair(estimator, option, w * (r * r) + slope * x + constant,
                                             2.0 * w * r + slope, e, inv_scale, one_minus_scale)
        else:
            for t in range(count):  # vector
                g0[t] = loc + scale * eps[t]  # x, until the terms overwrite it
            builtin_round(code, p, work, _G0, _F, _DF, count)
            for t in range(count):  # vector
                g0[t], g1[t] = _reparam_pair(estimator, option, fx[t], dfx[t], eps[t], inv_scale, one_minus_scale)
        bad += add_round(lanes, shift, work[_G0:_G1 + 1], count, done, count_nonfinite)
        done += count
    lanes_row(lanes, shift, m, row)
    return bad


@jit
def _block_1d(estimator, option, user_path, loc, scale, code, p, user1, s, m, row, count_nonfinite):
    """Loop for D = 1, every estimator: built-in objectives other than under measure_valued go to
    :func:`_block_1d_rounds`; the rest runs this scalar loop (measure_valued draws no base normal: there is
    no other coordinate to hold fixed).

    Sums live in registers, shifted by the block's first sample.  Non-finite samples are only
    counted when ``count_nonfinite`` is set (the caller re-runs a block whose sums came out
    non-finite), keeping the check out of the fast loop.  No array is passed to a per-sample
    function: each such call would cost reference-count updates.  Returns the non-finite count.
    """
    literally(estimator)
    literally(option)
    literally(user_path)
    if not user_path and estimator != MEASURE_VALUED:
        return _block_1d_rounds(estimator, option, loc, scale, code, p, s, m, row, count_nonfinite)
    inv_scale = 1.0 / scale
    one_minus_scale = 1.0 - scale
    paired = row.shape[0] > 2  # the covariance's pair rows g0 + g1, g0 - g1 (moments.paired_components)
    c0 = c1 = c_plus = c_minus = 0.0
    a1 = a2 = a3 = a4 = b1 = b2 = b3 = b4 = 0.0
    p1 = p2 = p3 = p4 = q1 = q2 = q3 = q4 = 0.0
    bad = 0
    for i in range(m):
        if estimator == MEASURE_VALUED:
            s, g0, g1 = _measure_valued_pair(user_path, code, p, user1, loc, scale, inv_scale, s)
        else:
            s, e = next_normal(s)
            fx, dfx = evaluate_1d(user_path, code, p, user1, loc + scale * e)
            g0, g1 = _reparam_pair(estimator, option, fx, dfx, e, inv_scale, one_minus_scale)
        if i == 0:
            c0 = g0
            c1 = g1
            c_plus = g0 + g1
            c_minus = g0 - g1
        a1, a2, a3, a4 = add_powers(a1, a2, a3, a4, g0 - c0)
        b1, b2, b3, b4 = add_powers(b1, b2, b3, b4, g1 - c1)
        if paired:
            p1, p2, p3, p4 = add_powers(p1, p2, p3, p4, (g0 + g1) - c_plus)
            q1, q2, q3, q4 = add_powers(q1, q2, q3, q4, (g0 - g1) - c_minus)
        if count_nonfinite and not (math.isfinite(g0) and math.isfinite(g1)):
            bad += 1
    if paired:
        sums = np.array([[a1, a2, a3, a4], [b1, b2, b3, b4], [p1, p2, p3, p4], [q1, q2, q3, q4]])
        block_row(sums, np.array([c0, c1, c_plus, c_minus]), m, row)
    else:
        pair_row((a1, a2, a3, a4), (b1, b2, b3, b4), c0, c1, m, row)
    return bad


@jit
def _block_general(estimator, option, user_path, loc_shared, scale_shared, code, p, user, s, m, row,
                   count_nonfinite):
    """Array loop for any D and every estimator; returns the non-finite count (when counting).

    The objective is written out here: a work array passed to a per-sample
    helper costs atomic reference-count updates (see the discrete kernels).
    """
    literally(estimator)
    literally(user_path)
    loc = loc_shared.copy()
    scale = scale_shared.copy()
    dim = loc.shape[0]
    width = 2 * dim
    eps = np.empty(dim)
    x = np.empty(dim)
    grad = np.empty(dim)
    g, acc, shift = sample_sums(width, row.shape[0])
    square_constant = p if code == SQUARE else 0.0
    bad = 0
    for i in range(m):
        for d in range(dim):
            s, eps[d] = next_normal(s)
            x[d] = loc[d] + scale[d] * eps[d]
        if estimator == MEASURE_VALUED:
            s = _measure_valued(user_path, code, p, user, loc, scale, x, grad, s, g)
        else:
            if user_path:
                fx = user(code, p, x, grad)
            else:
                fx = 0.0
                for d in range(dim):
                    t, grad[d] = coordinate_term(code, p, 1, d, x[d])
                    fx += t
                fx += square_constant
            for d in range(dim):
                g[d], g[dim + d] = _reparam_pair(
                    estimator, option, fx, grad[d], eps[d], 1.0 / scale[d], 1.0 - scale[d]
                )
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad


def block(estimator: int, user_path: int, scalar: bool):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of one Normal estimator, for a
    user objective (``user_path`` 1) or a built-in (0), and for D = 1 (``scalar``: the register loops) or any D.

    ``params`` = [loc; scale]; ``options`` = [transform] for grep, empty otherwise.  The loop is chosen here,
    in Python, so each block function compiles only the loop it runs.
    """
    if not scalar:

        @jit
        def normal_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
            option = int(options[0]) if options.shape[0] > 0 else 1
            return _block_general(estimator, option, user_path, params[0], params[1], code, p, user, s, m, row,
                                  counting), 0

    elif estimator == GREP:

        @jit
        def normal_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
            if options[0] == 2:
                return _block_1d(GREP, 2, user_path, params[0, 0], params[1, 0], code, p, user1, s, m, row,
                                 counting), 0
            return _block_1d(GREP, 1, user_path, params[0, 0], params[1, 0], code, p, user1, s, m, row, counting), 0

    else:

        @jit
        def normal_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
            return _block_1d(estimator, 1, user_path, params[0, 0], params[1, 0], code, p, user1, s, m, row,
                             counting), 0

    return normal_block
