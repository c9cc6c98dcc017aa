"""Gamma family: Marsaglia-Tsang sampling with shape augmentation, and per-sample gradients.

Coordinates j = 0..D-1 are independent Gamma(alpha_j, rate beta_j).  Components are ordered
``concentration[0..D-1], rate[0..D-1]``.  Notation of docs/estimators.md (Gamma): for alpha' = alpha + B (B boosts),
d = alpha' - 1/3, c = 1 / sqrt(9 d); a proposal eps ~ N(0, 1) gives v = 1 + c eps and
h(eps, alpha') = d v^3, accepted when U < 1 - 0.0331 eps^4 or log U < eps^2 / 2 + d (1 - v^3 + log v^3).
The unit-rate draw is Z = h * prod_{i=1..B} u_i^{1 / (alpha + i - 1)} and z = Z / beta.

Per-sample gradients (f' = df/dz_j, f = f(z)):

* rsvi:    g_alpha = f' dz/dalpha + f * dlog pi(eps | alpha') / dalpha,  with
           dZ/dalpha = Z [h_alpha / h - sum_i log u_i / (alpha + i - 1)^2],  h_alpha = v^2 (1 - c eps / 2),
           dlog pi/dalpha = log h + (alpha' - 1) h_alpha / h - h_alpha - psi(alpha') + 1 / (2 d) - 9 eps c^3 / v
* rsvi_rep_only: the first term only (biased)
* implicit: g_alpha = f' dz/dalpha with dZ/dalpha = -(dP(alpha, Z)/dalpha) / q(Z; alpha), read per sample
           from a table built once per launch (implicit_table: series for Z <= 0.1, degree-7 pieces in log Z)
* grep:    eps = (log z - psi(alpha) + log beta) / sqrt(psi1);  h_a = z (eps psi2 / (2 sqrt psi1) + psi1);
           u_a = eps psi2 / (2 sqrt psi1) + psi1 + psi2 / (2 psi1);
           g_alpha = f' h_a + f [((alpha - 1) / z - beta) h_a + (log beta - psi(alpha) + log z) + u_a]
* score:   g_alpha = f (log beta + log z - psi(alpha)),  g_beta = f (alpha / beta - z)
* every reparameterisation estimator: g_beta = -f' z / beta.

The loops carry every reparameterisation term in log space: f' dz/dalpha = (z f') (dlog Z/dalpha) and
f' z / beta = (z f') / beta, with z f' = df/dlog z (1 for log z) and dlog Z/dalpha the draw's relative
derivative.  Both stay finite when z underflows to 0 at small alpha, where f' dz/dalpha would be inf * 0.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally, prange

from ._jit import jit
from .elementary import exp_nonpositive, fma, log_positive
from .moments import ROUND, accumulate_sample, add_round, block_row, lane_sums, lanes_row, sample_sums
from .objectives import (
    SQUARE,
    evaluate_log_space,
    log_space_term,
    quadratic_form,
)
from .rng import block_state, next_double_open, next_normal
from .special import digamma, dlog_quantile_da, gammainc_lower, tetragamma, trigamma

SCORE = 0
RSVI = 1
RSVI_REP_ONLY = 2
IMPLICIT = 3
GREP = 4

_SMALLEST_NORMAL = 2.2250738585072014e-308


@jit(inline=True)
def marsaglia_tsang(s, d, c):
    """One accepted Marsaglia-Tsang draw for shape alpha' = d + 1/3 >= 1 at unit rate.

    Returns ``(state, h, eps, v, proposals)``: the draw h = d v^3, the accepted normal eps,
    v = 1 + c eps, and the number of proposals it took (v <= 0 counts as a rejected proposal).
    The log test (about 10% of proposals at shape 2.5) uses the inlined
    :func:`~mcgrad.kernels.elementary.log_positive`: a library call there made the compiler spill
    registers around it on every proposal.  v^3 below the smallest normal number is rejected
    without it, as the test would (its right side is then below -700 d while log u > -38).
    """
    proposals = 0
    while True:
        proposals += 1
        s, e = next_normal(s)
        v = 1.0 + c * e
        if v <= 0.0:
            continue
        v3 = v * v * v
        s, u = next_double_open(s)
        e2 = e * e
        if u < 1.0 - 0.0331 * e2 * e2:
            return s, d * v3, e, v, proposals
        if v3 >= _SMALLEST_NORMAL and log_positive(u) < 0.5 * e2 + d * (1.0 - v3 + log_positive(v3)):
            return s, d * v3, e, v, proposals


@jit
def mt_constants(alpha, boost):
    """``(d, c)`` of Marsaglia-Tsang for shape alpha + boost: d = alpha + boost - 1/3, c = 1 / sqrt(9 d)."""
    d = alpha + boost - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


@jit(inline=True)
def gamma_draw(s, alpha, boost, d, c):
    """A Gamma(alpha, 1) draw with ``boost`` shape augmentations (alpha + boost >= 1); ``(d, c)`` from
    :func:`mt_constants`, computed once per parameter.

    Returns ``(state, Z, h, eps, v, log_sum, log_sum_sq, proposals)`` with
    log_sum = sum_i log u_i / (alpha + i - 1), so log Z = log h + log_sum (use it: for tiny alpha Z itself
    underflows to 0 about half the time at alpha = 1e-3), and log_sum_sq = sum_i log u_i / (alpha + i - 1)^2.
    """
    s, h, e, v, proposals = marsaglia_tsang(s, d, c)
    log_sum = 0.0
    log_sum_sq = 0.0
    for i in range(boost):
        s, u = next_double_open(s)
        w = 1.0 / (alpha + i)
        lu = log_positive(u)
        log_sum += lu * w
        log_sum_sq += lu * w * w
    if boost == 0:
        return s, h, h, e, v, 0.0, 0.0, proposals
    return s, h * exp_nonpositive(log_sum), h, e, v, log_sum, log_sum_sq, proposals


@jit
def next_gamma(s, alpha):
    """One Gamma(alpha, 1) draw for other packages' njit code: ``(state, z)``.

    Marsaglia-Tsang on the stream ``s`` with one shape augmentation when alpha < 1 (none otherwise);
    the constants are recomputed per call, so hot loops with a fixed alpha should call
    :func:`mt_constants` once and :func:`gamma_draw` per sample instead.
    """
    boost = 1 if alpha < 1.0 else 0
    d, c = mt_constants(alpha, boost)
    s, z, _, _, _, _, _, _ = gamma_draw(s, alpha, boost, d, c)
    return s, z




@jit
def gamma_constants(alpha, boost):
    """Per-parameter constants of every Gamma estimator, computed once per block, not per sample.

    Returns arrays ``(d, c, psi(alpha + B), psi(alpha), psi1(alpha), psi2(alpha))`` over the coordinates
    of ``alpha``; (d, c) are :func:`mt_constants`.
    """
    k_dim = alpha.shape[0]
    out = np.empty((6, k_dim))
    d, c, psi_boosted, psi, psi1, psi2 = out[0], out[1], out[2], out[3], out[4], out[5]
    for k in range(k_dim):
        d[k], c[k] = mt_constants(alpha[k], boost)
        psi_boosted[k] = digamma(alpha[k] + boost)
        psi[k] = digamma(alpha[k])
        psi1[k] = trigamma(alpha[k])
        psi2[k] = tetragamma(alpha[k])
    return d, c, psi_boosted, psi, psi1, psi2


_ATANH_COEFFS = tuple(2.0 / (2 * k + 1) for k in range(16))


@jit(inline=True)
def log_near_one(v):
    """log v without a library call when |v - 1| is moderate, else ``math.log``.

    A call to log makes the compiler spill every live floating-point register around it (all are
    caller-saved), which cost rsvi about 40% of its throughput; the branch to it is unpredictable.
    For s = (v - 1)/(v + 1) with |s| < 1/3 (v in (1/2, 2): all but 8.5% of accepted draws at shape 1,
    1% at 2.5, none from 10 up) the series log v = 2 sum s^(2k+1)/(2k+1) with 16 terms is exact to
    rounding (truncation below 9^-16 / 33 = 1.6e-17 relative).

    Notes
    -----
    With x = s^2, ``log v = 2 s + s x R(x)``, ``R(x) = sum_{k=1}^{15} x^(k-1) 2 / (2k + 1)``: the exact
    leading term 2 s plus a correction of at most 8 %, so the result carries about one final rounding
    (measured: 3.1e-16 relative against 40-digit mpmath, where numpy.log has 2.0e-16).  R is evaluated by
    Estrin's scheme, ``R = (Q0 + Q1 x^4) + (Q2 + Q3 x^4) x^8`` with
    ``Q_j = (r_4j+1 + r_4j+2 x) + (r_4j+3 + r_4j+4 x) x^2``: four dependent multiply-adds after the
    division instead of Horner's fifteen (that chain bounded the loops that need log h).
    """
    s = (v - 1.0) / (v + 1.0)
    if abs(s) >= 1.0 / 3.0:
        return math.log(v)
    r = _ATANH_COEFFS
    x = s * s
    x2 = x * x
    x4 = x2 * x2
    q0 = fma(fma(r[4], x, r[3]), x2, fma(r[2], x, r[1]))
    q1 = fma(fma(r[8], x, r[7]), x2, fma(r[6], x, r[5]))
    q2 = fma(fma(r[12], x, r[11]), x2, fma(r[10], x, r[9]))
    q3 = fma(r[15], x2, fma(r[14], x, r[13]))
    return fma(s * x, fma(fma(q3, x4, q2), x4 * x4, fma(q1, x4, q0)), 2.0 * s)


@jit(inline=True)
def log_h(d, v):
    """log h for the Marsaglia-Tsang draw h = d v^3, without a library call on the common path."""
    return math.log(d) + 3.0 * log_near_one(v)


@jit
def log_normaliser(log_units, total):
    """log sum_k G_k of a Dirichlet draw's Gamma units: log(total), or by log-sum-exp from the units' logarithms
    when every unit underflowed to 0 (concentrations near 1e-3)."""
    if total > 0.0:
        return math.log(total)
    top = -math.inf
    for k in range(log_units.shape[0]):
        top = max(top, log_units[k])
    acc = 0.0
    for k in range(log_units.shape[0]):
        acc += math.exp(log_units[k] - top)
    return top + math.log(acc)


@jit(inline=True)
def rsvi_terms(log_h_value, e, v, d, c, alpha, boost, psi_boosted, log_sum_sq):
    """rsvi at unit rate: ``(dlog Z/dalpha, dlog pi(eps | alpha + B)/dalpha)``; g_alpha = (z f') dlog Z/dalpha
    + f * cor.

    ``log_h_value`` is log h = log(d v^3) (:func:`log_h`, or a vectorised logarithm in batched loops).
    """
    inv_dv = 1.0 / (d * v)  # the one division per sample (a second one cost 0.45 ns of the 1 ns of these terms)
    shape = 1.0 - 0.5 * c * e
    h_a = v * v * shape
    h_a_over_h = shape * inv_dv  # h_a / h with h = d v^3
    cor = (log_h_value + (alpha + boost - 1.0) * h_a_over_h - h_a - psi_boosted + 0.5 / d
           - 9.0 * d * c * c * c * e * inv_dv)  # 9 c^3 e / v
    return h_a_over_h - log_sum_sq, cor


# Table of dZ/dalpha for one concentration (see implicit_table).  Header slots, then the series
# coefficients of S and T for Z <= IMPLICIT_SMALL, then from column _POLY (a multiple of 8) the
# IMPLICIT_DEGREE + 1 = 8 monomial coefficients of each interval of log Z: 64 bytes per interval.
IMPLICIT_DEGREE = 7  # _interval_poly's Estrin scheme is written out for this degree
IMPLICIT_MAX_INTERVALS = 64
IMPLICIT_SMALL = 0.1
IMPLICIT_TAIL = 1e-10  # the table spans the IMPLICIT_TAIL .. 1 - IMPLICIT_TAIL quantiles (at most)
IMPLICIT_TOL = 2e-14  # relative error allowed at the check points
IMPLICIT_LOOSE = 1e-12  # ... or this, once halving the intervals stops helping (the direct formula's noise)
_SERIES_TERMS = 11  # n = 0..10: truncation below 0.1^11 / 11! = 2.5e-19 relative for Z <= 0.1
_T_LO, _INV_H, _OFFSET, _COUNT, _PSI_1P, _INV_ALPHA = 0, 1, 2, 3, 4, 5
_S = 6
_T = _S + _SERIES_TERMS
_POLY = 32
IMPLICIT_TABLE = _POLY + IMPLICIT_MAX_INTERVALS * (IMPLICIT_DEGREE + 1)


def _chebyshev_to_monomial(n):
    """``M[k, m]``: the coefficient of w^m in the Chebyshev polynomial T_k(w), k, m = 0..n."""
    m = np.zeros((n + 1, n + 1))
    m[0, 0] = 1.0
    m[1, 1] = 1.0
    for k in range(2, n + 1):
        m[k, 1:] = 2.0 * m[k - 1, :-1]
        m[k] -= m[k - 2]
    return m


_CHEB_ANGLES = np.pi * (2 * np.arange(IMPLICIT_DEGREE + 1) + 1) / (2 * (IMPLICIT_DEGREE + 1))
_CHEB_NODES = np.cos(_CHEB_ANGLES)  # zeros of T_(n+1): the interpolation nodes
_CHEB_CHECK = np.concatenate(([-1.0, 1.0], np.cos(np.pi * np.arange(1, IMPLICIT_DEGREE + 1) / (IMPLICIT_DEGREE + 1))))
_CHEB_MONOMIAL = _chebyshev_to_monomial(IMPLICIT_DEGREE)


@jit
def _bisect_tol(alpha):
    """Width in log z at which the table's range bisections stop: 1e-4 of the spread of log z (~1/sqrt(alpha))."""
    return 1e-4 / math.sqrt(alpha + 1.0)


@jit
def _log_upper_quantile(alpha, p):
    """log z with 1 - P(alpha, z) = p (to :func:`_bisect_tol`, rounded up), for the table's range."""
    lo = math.log(alpha + 1.0)
    hi = lo + 1.0
    while 1.0 - gammainc_lower(alpha, math.exp(hi)) >= p:
        lo = hi
        hi += 1.0
    while hi - lo > _bisect_tol(alpha):
        mid = 0.5 * (lo + hi)
        if 1.0 - gammainc_lower(alpha, math.exp(mid)) >= p:
            lo = mid
        else:
            hi = mid
    return hi


@jit
def _log_lower_quantile(alpha, p, t_min):
    """log z with P(alpha, z) = p (to :func:`_bisect_tol`, rounded down), given P(alpha, e^t_min) < p."""
    lo = t_min
    hi = math.log(alpha + 1.0)
    while hi - lo > _bisect_tol(alpha):
        mid = 0.5 * (lo + hi)
        if gammainc_lower(alpha, math.exp(mid)) >= p:
            hi = mid
        else:
            lo = mid
    return lo


@jit
def _interval_poly(tables, k, i, w):
    """Interval i's polynomial (degree 7) in row k of the tables at w in [-1, 1], by Estrin's scheme.

    Notes
    -----
    ``p(w) = [(c0 + c1 w) + (c2 + c3 w) w^2] + [(c4 + c5 w) + (c6 + c7 w) w^2] w^4``: three dependent
    multiply-adds instead of Horner's seven, which is what bounds the per-sample cost.
    """
    b = _POLY + i * (IMPLICIT_DEGREE + 1)
    w2 = w * w
    low = fma(fma(tables[k, b + 3], w, tables[k, b + 2]), w2, fma(tables[k, b + 1], w, tables[k, b]))
    high = fma(fma(tables[k, b + 7], w, tables[k, b + 6]), w2, fma(tables[k, b + 5], w, tables[k, b + 4]))
    return fma(high, w2 * w2, low)


@jit
def _fit_intervals(alpha, t_lo, width, count, tables, k):
    """Interpolate g(t) = dlog_quantile_da(alpha, e^t) on ``count`` intervals of ``width`` from ``t_lo``.

    Writes into row k the monomial coefficients in w in [-1, 1] of each interval (t = start + (w + 1) width / 2)
    and returns the largest relative error against the direct formula at the check points (the ends and the
    extrema of T_(n+1), between the nodes); NaN if a check value is not finite.
    """
    n = IMPLICIT_DEGREE
    values = np.empty(n + 1)
    cheb = np.empty(n + 1)
    worst = 0.0
    for i in range(count):
        start = t_lo + i * width
        for j in range(n + 1):
            values[j] = dlog_quantile_da(alpha, math.exp(start + 0.5 * (_CHEB_NODES[j] + 1.0) * width))
        for q in range(n + 1):
            acc = 0.0
            for j in range(n + 1):
                acc += values[j] * math.cos(q * _CHEB_ANGLES[j])
            cheb[q] = (1.0 if q == 0 else 2.0) * acc / (n + 1)
        for m in range(n + 1):
            acc = 0.0
            for q in range(n, m - 1, -1):
                acc += cheb[q] * _CHEB_MONOMIAL[q, m]
            tables[k, _POLY + i * (n + 1) + m] = acc
        for w in _CHEB_CHECK:
            exact = dlog_quantile_da(alpha, math.exp(start + 0.5 * (w + 1.0) * width))
            err = abs(_interval_poly(tables, k, i, w) - exact) / exact
            if not (err <= worst):
                worst = err
    return worst


@jit
def implicit_table(alpha, tables, k):
    """Fill row k of ``tables`` (IMPLICIT_TABLE columns) with a fast evaluator of dZ/dalpha for Gamma(alpha, 1).

    Notes
    -----
    g(Z) = (dZ/dalpha) / Z = dlog_quantile_da(alpha, Z) depends on (alpha, Z) only, so it is tabulated
    once per concentration and kernel launch (a few hundred evaluations of the direct formula):

    * Z <= 0.1: ``g = (T(Z) - (log Z - psi(alpha + 1)) S(Z)) / alpha`` with the polynomials
      ``S = sum_{n=0}^{10} c_n Z^n`` and ``T = sum_n c_n H_n Z^n``, ``c_n = 1 / ((alpha + 1)...(alpha + n))``,
      ``H_n = sum_{j=1}^n 1 / (alpha + j)``: the series of P truncated below 0.1^11 / 11! (linear in log Z,
      which spans down to -2e4 at alpha = 1e-3);
    * t = log Z in [t_lo, t_hi], from max(log 0.1, the 1e-10 quantile) to the 1 - 1e-10 quantile: K equal
      intervals, on each the degree-7 polynomial interpolating g at the Chebyshev points, stored as monomial
      coefficients of w = 2 (t - start) / width - 1.  K = 2, 4, ..., 64 until the relative error at the
      ends and the extrema of T_8 in every interval is <= 2e-14, or <= 1e-12 once doubling K stops
      reducing it 4-fold (the direct formula's own rounding, ~1e-13 at alpha = 1e6); otherwise K = 0;
    * anything else (the far tails, a disabled table): the direct formula.
    """
    tables[k, :] = 0.0
    tables[k, _PSI_1P] = digamma(alpha + 1.0)
    tables[k, _INV_ALPHA] = 1.0 / alpha
    c = 1.0
    h = 0.0
    for n in range(_SERIES_TERMS):
        tables[k, _S + n] = c
        tables[k, _T + n] = c * h
        c /= alpha + n + 1.0
        h += 1.0 / (alpha + n + 1.0)
    t_small = math.log(IMPLICIT_SMALL)
    t_hi = _log_upper_quantile(alpha, IMPLICIT_TAIL)
    t_lo = t_small
    if gammainc_lower(alpha, IMPLICIT_SMALL) < IMPLICIT_TAIL:
        t_lo = _log_lower_quantile(alpha, IMPLICIT_TAIL, t_small)
    if not (t_hi > t_lo):
        return
    count = 2
    previous = math.inf
    while True:
        worst = _fit_intervals(alpha, t_lo, (t_hi - t_lo) / count, count, tables, k)
        if worst <= IMPLICIT_TOL:
            break
        if count == IMPLICIT_MAX_INTERVALS or (worst <= IMPLICIT_LOOSE and worst > 0.25 * previous):
            if not (worst <= IMPLICIT_LOOSE):
                return  # disabled: every sample takes the direct formula
            break
        previous = worst
        count *= 2
    tables[k, _T_LO] = t_lo
    tables[k, _INV_H] = count / (t_hi - t_lo)
    tables[k, _OFFSET] = -t_lo * tables[k, _INV_H]  # u = t inv_h + offset: one multiply-add per sample
    tables[k, _COUNT] = count


@jit
def implicit_tables(alpha, build):
    """One :func:`implicit_table` row per concentration (``build`` false: no columns, nothing computed)."""
    tables = np.zeros((alpha.shape[0], IMPLICIT_TABLE if build else 0))
    if build:
        for k in range(alpha.shape[0]):
            implicit_table(alpha[k], tables, k)
    return tables


def implicit_table_span(tables, k):
    """``(t_lo, t_hi, K)`` of row k: the log Z range covered by the K intervals (K = 0: table disabled)."""
    count = int(tables[k, _COUNT])
    t_lo = tables[k, _T_LO]
    return t_lo, (t_lo + count / tables[k, _INV_H] if count else t_lo), count


@jit
def _implicit_series(tables, k, unit, log_unit):
    """dlog Z/dalpha for Z <= IMPLICIT_SMALL from row k's series coefficients (see :func:`implicit_table`);
    as Z underflows it tends to (psi(alpha + 1) - log Z) / alpha, finite with ``log_unit``."""
    s = tables[k, _S + _SERIES_TERMS - 1]
    t = tables[k, _T + _SERIES_TERMS - 1]
    for n in range(_SERIES_TERMS - 2, -1, -1):
        s = fma(s, unit, tables[k, _S + n])
        t = fma(t, unit, tables[k, _T + n])
    return (t - (log_unit - tables[k, _PSI_1P]) * s) * tables[k, _INV_ALPHA]


@jit(inline=True)
def implicit_dlog_table(tables, k, alpha, unit, log_unit):
    """Implicit reparameterisation at unit rate: dlog Z/dalpha = -(dP(alpha, Z)/dalpha) / (Z q(Z; alpha)), from
    row k of :func:`implicit_tables`; ``log_unit`` = log Z (finite when Z underflows).

    Same value as the direct formula :func:`~mcgrad.kernels.special.dlog_quantile_da` (in which the prefactor
    of P and q cancels) to about 1e-13 relative: the series for Z <= 0.1, else one polynomial of degree 7
    inside the table's range, else the direct formula (see :func:`implicit_table`).

    Only this small dispatcher is inlined at Numba's IR level, so no call takes the array in the sample
    loop; its helpers are plain functions that LLVM inlines.  Inlining them at IR level as well put about
    30 s on the cold compile of the Gamma kernel (every estimator's specialisation typed the inlined code).
    """
    if unit <= IMPLICIT_SMALL:
        return _implicit_series(tables, k, unit, log_unit)
    u = fma(log_unit, tables[k, _INV_H], tables[k, _OFFSET])
    if u >= 0.0 and u < tables[k, _COUNT]:
        i = int(u)
        return _interval_poly(tables, k, i, 2.0 * u - (2 * i + 1))
    return dlog_quantile_da(alpha, unit)


@jit(inline=True)
def grep_terms(unit, log_unit, alpha, psi, psi1, psi2):
    """grep at unit rate: ``(h_alpha / z, correction)`` so that g_alpha = (z f') h_alpha / z + f * cor.

    With t = eps psi2 / (2 sqrt psi1) + psi1 = (log Z - psi) k + psi1, k = psi2 / (2 psi1), and
    eps = (log Z - psi) / sqrt psi1 (log Z = log z + log beta): h_alpha = z t and
    ((alpha - 1)/z - beta) h_alpha + (log z + log beta - psi) + u_alpha
    = (alpha - 1) t - Z t + (log Z - psi) + t + k, free of beta and of 1/z (k is loop-invariant: no
    division per sample).
    """
    k = psi2 / (2.0 * psi1)
    centred = log_unit - psi
    t = fma(centred, k, psi1)
    return t, (alpha - 1.0) * t - unit * t + centred + t + k


# rows of the D = 1 loop's work array (one array, so a per-round call passes one reference)
_EPS, _V, _LOG_SUM, _LOG_SUM_SQ, _UNIT, _LOG_H, _LOG_UNIT, _F, _DLOG_F, _G0, _G1 = range(11)


@jit
def _draw_round(s, alpha, boost, d, c, count, work):
    """Draw ``count`` Gamma(alpha, 1) samples one by one (the stream order of every Gamma loop) into
    the work rows eps, v, log_sum, log_sum_sq and Z; then log h and log Z in one vector loop.
    Returns ``(state, proposals)``."""
    eps = work[_EPS]
    vs = work[_V]
    unit = work[_UNIT]
    log_sum = work[_LOG_SUM]
    log_sum_sq = work[_LOG_SUM_SQ]
    proposals = 0
    if boost == 0:  # log_sum and log_sum_sq stay 0
        for t in range(count):
            s, _, eps[t], vs[t], tries = marsaglia_tsang(s, d, c)
            proposals += tries
        for t in range(count):  # vector
            v = vs[t]
            unit[t] = d * (v * v * v)
    else:
        for t in range(count):
            s, unit[t], _, eps[t], vs[t], log_sum[t], log_sum_sq[t], tries = gamma_draw(s, alpha, boost, d, c)
            proposals += tries
    log_h_row = work[_LOG_H]
    log_unit = work[_LOG_UNIT]
    log_d = math.log(d)
    for t in range(count):  # vector
        log_h_row[t] = log_d + 3.0 * log_positive(vs[t])
        log_unit[t] = log_h_row[t] + log_sum[t]
    return s, proposals


@jit
def _objective_round(code, p, inv_beta, log_beta, count, work):
    """f and z f' = df/dlog z of a built-in objective at z = Z / beta (log z from log Z: see
    :func:`~mcgrad.kernels.objectives.log_space_term`); one branch-free vector loop for quadratic terms."""
    unit = work[_UNIT]
    log_unit = work[_LOG_UNIT]
    fx = work[_F]
    dlog_f = work[_DLOG_F]
    quadratic, w, centre, slope = quadratic_form(code, p, 1, 0)
    if quadratic:
        constant = p if code == SQUARE else 0.0
        for t in range(count):  # vector
            z = unit[t] * inv_beta
            r = z - centre
            fx[t] = w * (r * r) + slope * z + constant
            dlog_f[t] = (2.0 * w * r + slope) * z
    else:
        for t in range(count):
            fx[t], dlog_f[t] = log_space_term(code, p, 0, unit[t] * inv_beta, log_unit[t] - log_beta)


@jit
def _gradient_round(estimator, alpha, beta, boost, d, c, constants, tables, count, work):
    """The per-sample gradients ``(g_alpha, g_beta)`` of one estimator into the work rows g0, g1: one loop
    per estimator, without branches inside (implicit's table look-up aside).  ``constants`` =
    (psi(alpha + B), psi(alpha), psi1(alpha), psi2(alpha))."""
    psi_boosted, psi, psi1, psi2 = constants
    inv_beta = 1.0 / beta
    eps = work[_EPS]
    vs = work[_V]
    log_sum_sq = work[_LOG_SUM_SQ]
    unit = work[_UNIT]
    log_h_row = work[_LOG_H]
    log_unit = work[_LOG_UNIT]
    fx = work[_F]
    dlog_f = work[_DLOG_F]
    g0 = work[_G0]
    g1 = work[_G1]
    if estimator == SCORE:
        alpha_over_beta = alpha * inv_beta
        for t in range(count):  # vector
            g0[t] = fx[t] * (log_unit[t] - psi)
            g1[t] = fx[t] * (alpha_over_beta - unit[t] * inv_beta)
        return
    for t in range(count):  # vector
        g1[t] = -dlog_f[t] * inv_beta
    if estimator == RSVI:
        for t in range(count):  # vector
            dlog_unit, cor = rsvi_terms(log_h_row[t], eps[t], vs[t], d, c, alpha, boost, psi_boosted, log_sum_sq[t])
            g0[t] = dlog_f[t] * dlog_unit + fx[t] * cor
    elif estimator == RSVI_REP_ONLY:
        for t in range(count):  # vector
            g0[t] = dlog_f[t] * rsvi_terms(log_h_row[t], eps[t], vs[t], d, c, alpha, boost, psi_boosted,
                                           log_sum_sq[t])[0]
    elif estimator == IMPLICIT:
        for t in range(count):
            g0[t] = dlog_f[t] * implicit_dlog_table(tables, 0, alpha, unit[t], log_unit[t])
    elif estimator == GREP:
        for t in range(count):  # vector
            dlog_unit, cor = grep_terms(unit[t], log_unit[t], alpha, psi, psi1, psi2)
            g0[t] = dlog_f[t] * dlog_unit + fx[t] * cor


@jit
def _block_1d(estimator, alpha, beta, boost, code, p, tables, s, m, row, count_nonfinite):
    """Loop for one Gamma (D = 1) and a built-in objective; returns ``(non-finite samples, proposals)``.

    ROUND samples at a time are drawn one by one (:func:`_draw_round`), then go through vector loops
    (:func:`_objective_round`, :func:`_gradient_round`) and into lane power sums.  The hot loops sit in
    per-round functions compiled once, not per estimator, which keeps the kernel's compile time down.
    ``tables``: :func:`implicit_tables` of the concentration (implicit only; indexed, never sliced).
    """
    d, c = mt_constants(alpha, boost)
    constants = (digamma(alpha + boost), digamma(alpha), trigamma(alpha), tetragamma(alpha))
    inv_beta = 1.0 / beta
    log_beta = math.log(beta)
    work = np.zeros((11, ROUND))
    lanes, shift = lane_sums(row.shape[0])
    bad = 0
    proposals = 0
    done = 0
    while done < m:
        count = min(ROUND, m - done)
        s, tries = _draw_round(s, alpha, boost, d, c, count, work)
        proposals += tries
        _objective_round(code, p, inv_beta, log_beta, count, work)
        _gradient_round(estimator, alpha, beta, boost, d, c, constants, tables, count, work)
        bad += add_round(lanes, shift, work[_G0:_G1 + 1], count, done, count_nonfinite)
        done += count
    lanes_row(lanes, shift, m, row)
    return bad, proposals


@jit
def _block(estimator, boost, user_path, alpha_shared, beta_shared, code, p, user, tables, s, m, row,
           count_nonfinite):
    """One block of any D; returns ``(non-finite samples, sampler proposals)``."""
    literally(user_path)
    alpha = alpha_shared.copy()
    beta = beta_shared.copy()
    dim = alpha.shape[0]
    width = 2 * dim
    d, c, psi_boosted, psi, psi1, psi2 = gamma_constants(alpha, boost)
    log_beta = np.log(beta)
    work = np.empty((7, dim))
    z, log_z, unit, log_unit, dlog_unit, cor, dlog_f = work[0], work[1], work[2], work[3], work[4], work[5], work[6]
    g, acc, shift = sample_sums(width, row.shape[0])
    bad = 0
    proposals = 0
    for i in range(m):
        for k in range(dim):
            s, zk, h, e, v, log_sum, log_sum_sq, tries = gamma_draw(s, alpha[k], boost, d[k], c[k])
            proposals += tries
            unit[k] = zk
            log_h_value = log_h(d[k], v)
            log_unit[k] = log_h_value + log_sum
            z[k] = zk / beta[k]
            log_z[k] = log_unit[k] - log_beta[k]
            if estimator == RSVI or estimator == RSVI_REP_ONLY:
                dlog_unit[k], cor[k] = rsvi_terms(log_h_value, e, v, d[k], c[k], alpha[k], boost, psi_boosted[k],
                                                  log_sum_sq)
        fx = evaluate_log_space(user_path, code, p, user, z, log_z, dlog_f)
        for k in range(dim):
            if estimator == SCORE:
                g[k] = fx * (log_unit[k] - psi[k])
                g[dim + k] = fx * (alpha[k] / beta[k] - z[k])
                continue
            g[dim + k] = -dlog_f[k] / beta[k]
            if estimator == RSVI:
                g[k] = dlog_f[k] * dlog_unit[k] + fx * cor[k]
            elif estimator == RSVI_REP_ONLY:
                g[k] = dlog_f[k] * dlog_unit[k]
            elif estimator == IMPLICIT:
                g[k] = dlog_f[k] * implicit_dlog_table(tables, k, alpha[k], unit[k], log_unit[k])
            elif estimator == GREP:
                dlog_k, cor_k = grep_terms(unit[k], log_unit[k], alpha[k], psi[k], psi1[k], psi2[k])
                g[k] = dlog_f[k] * dlog_k + fx * cor_k
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


def block(estimator: int, user_path: int, scalar: bool):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a Gamma estimator, for a user
    objective (``user_path`` 1) or a built-in (0), and for D = 1 (``scalar``) or any D.

    ``params`` = [concentration; rate]; ``options`` = [boost]; ``tables`` from :func:`implicit_setup`
    for implicit (built once per launch: they depend on the concentrations only, so results stay
    independent of the blocking).  The D = 1 rounds serve built-in objectives.  Both loops take the
    estimator as a value (``chosen``), so every Gamma estimator shares one block function per loop: one
    compile each.
    """
    return _shared_block(user_path, bool(scalar) and user_path == 0)


@functools.cache
def _shared_block(user_path: int, rounds: bool):
    if rounds:

        @jit
        def gamma_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
            return _block_1d(chosen, params[0, 0], params[1, 0], int(options[0]), code, p, tables, s, m, row,
                             counting)

    else:

        @jit
        def gamma_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
            return _block(chosen, int(options[0]), user_path, params[0], params[1], code, p, user, tables, s, m,
                          row, counting)

    return gamma_block


@jit
def implicit_setup(params, options):
    """The implicit estimator's setup: :func:`implicit_tables` of the concentrations ``params[0]``."""
    return implicit_tables(params[0], True)


@jit
def fill_gamma(key, block, alpha, boost, out):
    """Fill ``out`` with Gamma(alpha, 1) draws from block ``block``'s stream: the rounds of the D = 1
    estimators (njit-callable sampler use), the same draws as :func:`gamma_draw` one at a time."""
    s = block_state(key, block)
    d, c = mt_constants(alpha, boost)
    work = np.zeros((11, ROUND))
    done = 0
    while done < out.shape[0]:
        count = min(ROUND, out.shape[0] - done)
        s, _ = _draw_round(s, alpha, boost, d, c, count, work)
        out[done:done + count] = work[_UNIT, :count]
        done += count


@jit
def _sum_block(s, alpha, boost, m):
    d, c = mt_constants(alpha, boost)
    total = 0.0
    for _ in range(m):
        s, z, _, _, _, _, _, _ = gamma_draw(s, alpha, boost, d, c)
        total += z
    return total


@jit(parallel=True)
def sum_gamma_blocks(key, alpha, boost, block_size, n, out):
    """Sum the Gamma(alpha, 1) draws of every block of an n-sample run into ``out[b]`` (throughput probe).

    (Samplers marked inline are called from per-block functions, never straight from a prange body:
    Numba's IR inliner fails inside parfors.)"""
    for b in prange(out.shape[0]):
        out[b] = _sum_block(block_state(key, b), alpha, boost, min(block_size, n - b * block_size))
