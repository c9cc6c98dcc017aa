"""Von Mises(0, kappa) kernels: log I0, the Bessel ratio A(kappa), the CDF, its kappa-derivative and a sampler.

Every function is a ``@jit`` kernel on float64 scalars, callable from the per-sample loops of other kernels.
The density on the circle, location 0, is ``q(x; kappa) = exp(kappa cos x) / (2 pi I0(kappa))`` for x in
[-pi, pi]; a caller with location ``loc`` passes ``x = wrap(z - loc)`` to the CDF functions and adds ``loc``
to (then wraps) a draw of :func:`sample`.  Contents:

* :func:`log_bessel_i0` (log I0), :func:`bessel_ratio` (A = I1 / I0) and :func:`bessel_terms`, which returns
  log(I0 e^-kappa), A and 1 - A at once;
* :func:`log_density`, :func:`cdf` F(x; kappa) = int_{-pi}^x q(t; kappa) dt and :func:`cdf_dkappa` dF/dkappa;
* :func:`implicit_dz_dkappa`, the implicit reparameterisation gradient of a draw z (Figurnov, Mohamed &
  Mnih 2018), ``dz/dkappa = -(dF/dkappa) / q(z; kappa)``, and :func:`dz_dkappa`, the same with the Bessel
  terms computed once by the caller;
* :func:`sample` (and :func:`sampler_constants` / :func:`draw` for hot loops): the rejection sampler of
  Best & Fisher (1979) on the project's random streams.

Methods.  Bessel functions: the power series for kappa < 20, Hankel's asymptotic expansion (A&S 9.7.1,
30 terms) above, both exponentially scaled, with 1 - A summed as a series of its own so it keeps full
relative accuracy for large kappa.  The CDF and its derivative: with sigma = kappa (1 - cos x),
beta = kappa (1 - A), only integrals with a positive integrand are evaluated (no cancellation anywhere):

* ``dF/dkappa = int_{-pi}^x (cos t - A) q dt`` is odd in x, zero at x = 0 and x = +-pi, and positive on
  (0, pi); for 0 < x it equals ``int_0^x (cos t - A) q dt = int_x^pi (A - cos t) q dt``, and the integrand
  of the first form is positive below t0 = arccos A (sigma < beta), that of the second above it;
* both are computed relative to q(x), ``r = (dF/dkappa) / q(x)``, so the implicit gradient ``-r`` never
  forms q and stays finite and accurate where q underflows (kappa (1 - cos x) > ~745);
* below t0, Gauss-Legendre (16 nodes) in t on [0, x], where ``exp(kappa (cos t - cos x))`` varies by at
  most e^0.65; above t0, the substitution ``u = sqrt(2 kappa) sin(t / 2)`` (``kappa (cos x - cos t) =
  u^2 - sigma``) turns the integral into a Gaussian tail, integrated by Gauss-Legendre (32 nodes) up to
  ``u^2 - sigma = 45 + 1.5 log(1 + kappa)`` (the rest is below 1e-17 relative); the last stretch before pi,
  where ``kappa (1 + cos t) < 8``, has an inverse square-root singularity in u and is integrated in
  ``phi = pi - t`` instead (Gauss-Legendre, 20 nodes), which also covers all of [x, pi] when
  ``kappa (1 + cos x) <= 8`` (always for kappa <= 4);
* the CDF uses the same integrals without the factor (cos t - A): ``F = 1/2 + sign(x) q(x) m`` below t0 and
  ``F = q(x) m`` (x < 0) or ``1 - q(x) m`` (x > 0) above, so the lower tail keeps its relative accuracy.

Accuracy measured against mpmath (40 digits: besseli, and quad of the integral definitions over the side of x
where they do not cancel) on 2300 grid points (40 kappa from 1e-8 to 1e8; |x| from 1e-300 to the double below
pi: next to 0, t0 and pi, and where kappa (1 -+ cos x) = 0.5 .. 1500) and 2500 random ones (kappa
log-uniform in [1e-8, 1e8]), both signs of x:

* implicit_dz_dkappa (and dz_dkappa): max relative error 2.8e-15;
* cdf_dkappa: 2.0e-13 and cdf: 1.5e-13 relative (the lower tail included) wherever they are normal numbers.
  The error is the rounding of kappa (1 - cos x) (up to ~745 where q(x) is normal) in the exponent of q(x);
  both underflow to 0 with q(x) in the far tails of large kappa (kappa (1 - cos x) > ~745), where
  implicit_dz_dkappa stays accurate;
* log_bessel_i0 4e-16, bessel_ratio 1.2e-15 and 1 - A 3.8e-15 relative (1601 kappa in [1e-8, 1e8] and
  1001 in [15, 25]).

Supported range: 1e-8 <= kappa <= 1e8 (as measured; tests/test_von_mises_special.py covers 1e-6 .. 1e7).
Arguments outside the domain (kappa <= 0, kappa = inf, NaN) give NaN.  |x| >= pi is the end of the
support: cdf gives 0 or 1 and the derivatives 0 (fl(pi) lies 1.2e-16 below pi, where the true derivatives
are ~1e-16 q(pi) and ~1e-16 in size).  Cost (one core, 2-core AMD EPYC, 1e6 calls at draws of the
distribution): 0.25 to 0.55 microseconds per implicit_dz_dkappa, cdf or cdf_dkappa call for 1e-3 <= kappa
<= 1e4 (0.25 to 0.35 for dz_dkappa with the Bessel terms computed once); 50 to 100 ns per draw.
"""

from __future__ import annotations

import decimal
import math
from fractions import Fraction

import numpy as np

from ._jit import jit
from .rng import next_double_open, next_normal
from .special import horner

_EPS = 2.220446049250313e-16
_PI_LO = 1.2246467991473532e-16  # pi - fl(pi)
_LOG_2PI = 1.8378770664093453
_ASYMPTOTIC = 20.0  # Hankel's expansion is used for kappa >= _ASYMPTOTIC (its error is ~exp(-2 kappa))
_PLATEAU = 8.0  # the stretch next to pi with kappa (1 + cos t) below this is integrated in phi = pi - t


def _hankel(nu, n):
    """Coefficients a_k(nu) of I_nu(kappa) e^-kappa sqrt(2 pi kappa) ~ sum_k a_k / kappa^k, k < n (A&S 9.7.1).

    ``a_k = (-1)^k (4 nu^2 - 1)(4 nu^2 - 9)...(4 nu^2 - (2k - 1)^2) / (k! 8^k)``, as exact fractions.
    """
    out = [Fraction(1)]
    for k in range(1, n):
        out.append(out[-1] * ((2 * k - 1) ** 2 - 4 * nu * nu) / (8 * k))
    return out


_A0 = _hankel(0, 30)
_A1 = _hankel(1, 30)
# I0: sum_{k>=1} a_k(0) w^(k-1); I0 - I1: sum_{k>=1} (a_k(0) - a_k(1)) w^(k-1), w = 1 / kappa (all terms > 0)
_I0_HANKEL = np.array([float(c) for c in _A0[1:]])
_I0_MINUS_I1_HANKEL = np.array([float(c0 - c1) for c0, c1 in zip(_A0[1:], _A1[1:], strict=True)])


def _gauss_legendre(n):
    """Nodes and weights of the n-point Gauss-Legendre rule on [0, 1], correctly rounded.

    Newton's iteration on the three-term recurrence of the Legendre polynomials, in 40-digit decimal
    arithmetic (numpy's ``leggauss`` weights are off by up to 1e-13 relative at n = 32).
    """
    nodes, weights = [], []
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        one = decimal.Decimal(1)
        for i in range(n):
            x = decimal.Decimal(-math.cos(math.pi * (i + 0.75) / (n + 0.5)))
            for _ in range(5):
                p0, p1 = one, x
                for k in range(2, n + 1):
                    p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                dp = n * (x * p1 - p0) / (x * x - one)
                x -= p1 / dp
            p0, p1 = one, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - one)
            nodes.append(float((one + x) / 2))
            weights.append(float(one / ((one - x * x) * dp * dp)))
    return np.array(nodes), np.array(weights)


_LOWER_NODES, _LOWER_WEIGHTS = _gauss_legendre(16)
_GAUSS_NODES, _GAUSS_WEIGHTS = _gauss_legendre(32)
_PLATEAU_NODES, _PLATEAU_WEIGHTS = _gauss_legendre(20)


@jit
def bessel_terms(kappa):
    """Exponentially scaled log I0, the Bessel ratio A and 1 - A: ``(log(I0(kappa) e^-kappa), A, 1 - A)``.

    Parameters
    ----------
    kappa : float
        Concentration, kappa > 0.

    Returns
    -------
    tuple of float
        ``log I0(kappa) - kappa``, ``A(kappa) = I1(kappa) / I0(kappa)`` and ``1 - A(kappa)``, each to about
        1e-15 relative; NaNs for kappa <= 0 or NaN.

    Notes
    -----
    * kappa < 20: ``I0 = sum_k t_k``, ``I1 = (kappa / 2) sum_k t_k / (k + 1)`` with
      ``t_k = (kappa^2 / 4)^k / (k!)^2`` (A&S 9.6.10), and ``I0 - I1 = sum_k t_k (1 - (kappa / 2) / (k + 1))``
      summed term by term (the terms change sign once; the loss is about 2 sqrt(kappa) ulp);
    * kappa >= 20: Hankel's expansion ``I_nu(kappa) = e^kappa / sqrt(2 pi kappa) sum_k a_k(nu) / kappa^k``,
      ``a_k(nu) = (-1)^k prod_{j=1}^k (4 nu^2 - (2j - 1)^2) / (k! 8^k)`` (A&S 9.7.1), 30 terms (its error is
      about e^(-2 kappa) < 5e-18); ``I0 - I1`` as the series of ``a_k(0) - a_k(1) > 0``.
    """
    if not (kappa > 0.0) or kappa == math.inf:
        return math.nan, math.nan, math.nan
    if kappa < _ASYMPTOTIC:
        half = 0.5 * kappa
        y = half * half
        t = 1.0
        i0m1 = 0.0  # I0 - 1
        s1 = 1.0  # I1 / (kappa / 2)
        d = 1.0 - half  # I0 - I1
        k = 0
        while True:
            k += 1
            t *= y / (k * k)
            i0m1 += t
            s1 += t / (k + 1)
            d += t * (1.0 - half / (k + 1))
            if t <= 0.25 * _EPS * i0m1:
                break
        i0 = 1.0 + i0m1
        return math.log1p(i0m1) - kappa, half * s1 / i0, d / i0
    w = 1.0 / kappa
    sm1 = w * horner(_I0_HANKEL, w)
    one_minus_a = w * horner(_I0_MINUS_I1_HANKEL, w) / (1.0 + sm1)
    return math.log1p(sm1) - 0.5 * (_LOG_2PI + math.log(kappa)), 1.0 - one_minus_a, one_minus_a


@jit
def log_bessel_i0(kappa):
    """Natural logarithm of the modified Bessel function of the first kind of order 0, log I0(kappa).

    Parameters
    ----------
    kappa : float
        Argument, kappa > 0.

    Returns
    -------
    float
        log I0(kappa), relative error ~1e-15 (also for small kappa, where it is ~kappa^2 / 4, and for large
        kappa, where I0 overflows); NaN for kappa <= 0 or NaN.

    Notes
    -----
    ``log I0 = log1p(sum_{k>=1} (kappa^2 / 4)^k / (k!)^2)`` for kappa < 20 and
    ``kappa - log(2 pi kappa) / 2 + log1p(sum_{k>=1} a_k(0) / kappa^k)`` (Hankel's expansion, see
    :func:`bessel_terms`) above.
    """
    if kappa > 0.0 and kappa < _ASYMPTOTIC:
        y = 0.25 * kappa * kappa
        t = 1.0
        i0m1 = 0.0
        k = 0
        while True:
            k += 1
            t *= y / (k * k)
            i0m1 += t
            if t <= 0.25 * _EPS * i0m1:
                break
        return math.log1p(i0m1)
    log_i0e, _, _ = bessel_terms(kappa)
    return log_i0e + kappa


@jit
def bessel_ratio(kappa):
    """The Bessel ratio A(kappa) = I1(kappa) / I0(kappa), the mean resultant length E[cos z] of von Mises(0, kappa).

    Parameters
    ----------
    kappa : float
        Concentration, kappa > 0.

    Returns
    -------
    float
        A(kappa) in (0, 1), relative error ~1e-15; NaN for kappa <= 0 or NaN.

    Notes
    -----
    Power series (kappa < 20) or Hankel's expansion (kappa >= 20) of I0 and I1, see :func:`bessel_terms`.
    Its derivative is ``A'(kappa) = 1 - A / kappa - A^2``.
    """
    _, a, _ = bessel_terms(kappa)
    return a


@jit
def _lower_side(x, kappa, sigma, beta):
    """``m = int_0^x e^(kappa (cos t - cos x)) dt`` and ``r = int_0^x (cos t - A) e^(kappa (cos t - cos x)) dt``.

    For 0 <= x <= t0 = arccos A, i.e. sigma = kappa (1 - cos x) <= beta = kappa (1 - A): with
    ``sigma_t = 2 kappa sin^2(t / 2)`` the integrands are ``e^(sigma - sigma_t)`` (between 1 and e^beta) and
    ``(beta - sigma_t) / kappa`` times it (>= 0).  Gauss-Legendre in t.
    """
    m = 0.0
    r = 0.0
    for i in range(_LOWER_NODES.shape[0]):
        h = math.sin(0.5 * x * _LOWER_NODES[i])
        sigma_t = 2.0 * kappa * h * h
        e = _LOWER_WEIGHTS[i] * math.exp(sigma - sigma_t)
        m += e
        r += (beta - sigma_t) * e
    return x * m, x * r / kappa


@jit
def _plateau(phi_end, kappa, big_s, a):
    """Integrals over t in [pi - phi_end, pi], in phi = pi - t, of ``e^(kappa (cos t - cos x))`` and of
    ``(A - cos t)`` times it, where ``big_s = kappa (1 + cos x) >= 2 kappa sin^2(phi_end / 2)``.

    ``kappa (cos t - cos x) = S_phi - big_s`` with ``S_phi = 2 kappa sin^2(phi / 2) <= big_s``, and
    ``A - cos t = A + cos phi = (1 + A) - S_phi / kappa``.  Gauss-Legendre in phi.
    """
    m = 0.0
    r = 0.0
    for i in range(_PLATEAU_NODES.shape[0]):
        h = math.sin(0.5 * phi_end * _PLATEAU_NODES[i])
        s_phi = 2.0 * kappa * h * h
        e = _PLATEAU_WEIGHTS[i] * math.exp(s_phi - big_s)
        m += e
        r += ((1.0 + a) - s_phi / kappa) * e
    return phi_end * m, phi_end * r


@jit
def _gaussian_tail(kappa, sigma, big_s, beta, s_end):
    """Integrals over t in [x, t_end], kappa (cos x - cos t_end) = s_end < big_s, of ``e^(kappa (cos t - cos x))``
    and of ``(A - cos t)`` times it, for x >= t0.

    With ``u = sqrt(2 kappa) sin(t / 2)``, ``dt = 2 du / sqrt(2 kappa - u^2)``, ``s = u^2 - sigma``:
    ``e^(-s) 2 du / sqrt(big_s - s)`` and ``(sigma - beta + s) / kappa`` times it, u from sqrt(sigma) to
    sqrt(sigma + s_end).  Gauss-Legendre in u; s is formed as ``d (d + 2 sqrt(sigma))``, d = u - sqrt(sigma).
    """
    u_x = math.sqrt(sigma)
    length = s_end / (math.sqrt(sigma + s_end) + u_x)
    excess = sigma - beta
    m = 0.0
    r = 0.0
    for i in range(_GAUSS_NODES.shape[0]):
        d = length * _GAUSS_NODES[i]
        s = d * (d + 2.0 * u_x)
        e = _GAUSS_WEIGHTS[i] * math.exp(-s) / math.sqrt(big_s - s)
        m += e
        r += (excess + s) * e
    return 2.0 * length * m, 2.0 * length * r / kappa


@jit
def _short_side(x, kappa, a, one_minus_a):
    """``(lower, m, r)`` for 0 <= x < pi: the integrals of ``e^(kappa (cos t - cos x))`` (m) and of
    ``+-(cos t - A)`` times it (r = (dF/dkappa)(x) / q(x) >= 0) over [0, x] (lower = True, x <= t0) or
    over [x, pi] (x > t0), the side on which the integrand of r is positive.
    """
    beta = kappa * one_minus_a
    h = math.sin(0.5 * x)
    sigma = 2.0 * kappa * h * h
    if sigma <= beta:
        m, r = _lower_side(x, kappa, sigma, beta)
        return True, m, r
    h = math.sin(0.5 * ((math.pi - x) + _PI_LO))
    big_s = 2.0 * kappa * h * h  # kappa (1 + cos x)
    if big_s <= _PLATEAU:
        m, r = _plateau((math.pi - x) + _PI_LO, kappa, big_s, a)
        return False, m, r
    cutoff = 45.0 + 1.5 * math.log1p(kappa)  # e^-cutoff 2 pi < 1e-17 r at x = t0, where r is smallest
    if big_s - _PLATEAU >= cutoff:
        m, r = _gaussian_tail(kappa, sigma, big_s, beta, cutoff)
        return False, m, r
    m, r = _gaussian_tail(kappa, sigma, big_s, beta, big_s - _PLATEAU)
    m2, r2 = _plateau(2.0 * math.asin(math.sqrt(_PLATEAU / (2.0 * kappa))), kappa, big_s, a)
    return False, m + m2, r + r2


@jit
def _log_density_abs(x, kappa, log_i0e):
    """log q(x; kappa) = -kappa (1 - cos x) - log(2 pi) - log(I0(kappa) e^-kappa), 1 - cos x = 2 sin^2(x / 2)."""
    h = math.sin(0.5 * x)
    return -2.0 * kappa * h * h - _LOG_2PI - log_i0e


@jit
def log_density(x, kappa):
    """Log density of von Mises(0, kappa) on [-pi, pi], log q(x; kappa).

    Parameters
    ----------
    x : float
        Point of the circle, -pi <= x <= pi.
    kappa : float
        Concentration, kappa > 0.

    Returns
    -------
    float
        ``kappa cos x - log(2 pi I0(kappa))``; -inf for |x| > pi, NaN for kappa <= 0 or NaN arguments.

    Notes
    -----
    Formed as ``-2 kappa sin^2(x / 2) - log(2 pi) - log(I0(kappa) e^-kappa)``, which does not cancel for
    large kappa.
    """
    if not (kappa > 0.0) or x != x:
        return math.nan
    if abs(x) > math.pi:
        return -math.inf
    log_i0e, _, _ = bessel_terms(kappa)
    return _log_density_abs(abs(x), kappa, log_i0e)


@jit
def cdf(x, kappa):
    """Cumulative distribution function of von Mises(0, kappa), F(x; kappa) = int_{-pi}^x q(t; kappa) dt.

    Parameters
    ----------
    x : float
        Upper limit, -pi <= x <= pi (0 below, 1 above).
    kappa : float
        Concentration, kappa > 0.

    Returns
    -------
    float
        F(x; kappa); 0 for x <= -pi, 1 for x >= pi, NaN for kappa <= 0 or NaN arguments.

    Notes
    -----
    With ``m`` the integral of ``q(t) / q(|x|) = e^(kappa (cos t - cos x))`` over the short side of |x|
    (see :func:`cdf_dkappa`): ``F = 1/2 + sign(x) q(|x|) m`` for |x| <= arccos A (m over [0, |x|]), else
    ``F = q(|x|) m`` for x < 0 and ``1 - q(x) m`` for x > 0 (m over [|x|, pi]).  The lower tail keeps its
    relative accuracy (about 1e-13, the rounding of kappa (1 - cos x) in the exponent of q) until it
    underflows.
    """
    if not (kappa > 0.0) or x != x or kappa == math.inf:
        return math.nan
    if x <= -math.pi:
        return 0.0
    if x >= math.pi:
        return 1.0
    log_i0e, a, one_minus_a = bessel_terms(kappa)
    xa = abs(x)
    lower, m, _ = _short_side(xa, kappa, a, one_minus_a)
    qm = math.exp(_log_density_abs(xa, kappa, log_i0e)) * m
    if lower:
        return 0.5 - qm if x < 0.0 else 0.5 + qm
    return qm if x < 0.0 else 1.0 - qm


@jit
def cdf_dkappa(x, kappa):
    """Derivative of the von Mises CDF in the concentration, dF(x; kappa)/dkappa at fixed x.

    Parameters
    ----------
    x : float
        Point of the circle, -pi <= x <= pi.
    kappa : float
        Concentration, kappa > 0.

    Returns
    -------
    float
        dF/dkappa: odd in x, > 0 for 0 < x < pi, 0 at x = 0 and |x| >= pi; NaN for kappa <= 0 or NaN.

    Notes
    -----
    ``d q / dkappa = (cos t - A) q`` with A = I1 / I0, so ``dF/dkappa = int_{-pi}^x (cos t - A) q(t) dt``.
    As ``int_{-pi}^{pi} (cos t - A) q dt = 0`` and q is even, it is odd in x and, for 0 <= x <= pi,

    ``dF/dkappa = int_0^x (cos t - A) q dt = int_x^pi (A - cos t) q dt``;

    the first integrand is positive for x < t0 = arccos A and the second for x > t0, so each side is
    integrated where it does not cancel, relative to q(x): ``r = (dF/dkappa) / q(x)`` (see the module
    notes for the quadratures) and ``dF/dkappa = sign(x) q(|x|) r``.  It underflows to 0 with q(x) in the
    far tails of large kappa; use :func:`implicit_dz_dkappa` for the ratio.
    """
    if not (kappa > 0.0) or x != x or kappa == math.inf:
        return math.nan
    xa = abs(x)
    if xa >= math.pi:
        return 0.0
    log_i0e, a, one_minus_a = bessel_terms(kappa)
    _, _, r = _short_side(xa, kappa, a, one_minus_a)
    g = math.exp(_log_density_abs(xa, kappa, log_i0e)) * r
    return -g if x < 0.0 else g


@jit
def dz_dkappa(z, kappa, a, one_minus_a):
    """:func:`implicit_dz_dkappa` with ``A = a`` and ``1 - A = one_minus_a`` from :func:`bessel_terms`.

    For sample loops at a fixed kappa: the Bessel terms are then computed once, not per draw.
    """
    if z != z:
        return math.nan
    za = abs(z)
    if za >= math.pi:
        return 0.0
    _, _, r = _short_side(za, kappa, a, one_minus_a)
    return r if z < 0.0 else -r


@jit
def implicit_dz_dkappa(z, kappa):
    """Implicit reparameterisation gradient of a von Mises(0, kappa) draw, dz/dkappa = -(dF/dkappa) / q(z; kappa).

    Parameters
    ----------
    z : float
        A draw, -pi <= z <= pi (for a location loc, pass the wrapped z - loc; dz/dloc is 1).
    kappa : float
        Concentration, kappa > 0.

    Returns
    -------
    float
        dz/dkappa at F(z; kappa) held fixed: odd in z, < 0 for 0 < z < pi (draws move towards the mode
        as kappa grows), 0 at z = 0 and |z| >= pi; NaN for kappa <= 0 or NaN arguments.

    Notes
    -----
    Figurnov, Mohamed & Mnih (2018): differentiating F(z(kappa); kappa) = u at fixed u gives
    ``dz/dkappa = -(dF/dkappa) / q(z)``.  The ratio is computed directly as
    ``-sign(z) int (cos t - A) e^(kappa (cos t - cos z)) dt`` over [0, |z|] or minus the integral of
    ``(A - cos t) e^(kappa (cos t - cos z))`` over [|z|, pi] (see :func:`cdf_dkappa`), so it never forms
    q(z): finite and accurate (about 1e-14 relative) even where q(z) underflows.  As kappa -> 0 it tends to
    -sin z; for large kappa and small z, to -z / (2 kappa).
    """
    if not (kappa > 0.0) or kappa == math.inf:
        return math.nan
    _, a, one_minus_a = bessel_terms(kappa)
    return dz_dkappa(z, kappa, a, one_minus_a)


@jit
def sampler_constants(kappa):
    """Constants of the Best-Fisher sampler for concentration kappa >= 0: ``(ratio, scale, rho)``.

    Parameters
    ----------
    kappa : float
        Concentration, kappa >= 0.

    Returns
    -------
    tuple of float
        ``rho``, the concentration of the wrapped Cauchy envelope, ``ratio = (1 - rho) / (1 + rho)`` and
        ``scale = kappa (1 - rho^2)^2 / (2 rho)`` (1 at kappa = 0), as :func:`draw` uses them.

    Notes
    -----
    Best & Fisher (1979): ``tau = 1 + sqrt(1 + 4 kappa^2)``, ``rho = (tau - sqrt(2 tau)) / (2 kappa)``,
    ``r = (1 + rho^2) / (2 rho)``.  Here ``rho = 2 kappa / (tau + sqrt(2 tau))``, the same number without
    the cancellation of tau - sqrt(2 tau) for small kappa (where numpy switches to a Taylor series), and
    ``1 - rho = (tau - 2 kappa + sqrt(2 tau)) / (tau + sqrt(2 tau))`` with
    ``tau - 2 kappa = 1 + 1 / (sqrt(1 + 4 kappa^2) + 2 kappa)``, without the cancellation for large kappa
    (where numpy switches to a normal approximation above 1e6).  ``kappa / (2 rho) = (tau + sqrt(2 tau)) / 4``.
    """
    root = math.hypot(1.0, 2.0 * kappa)  # sqrt(1 + 4 kappa^2)
    tau = 1.0 + root
    den = tau + math.sqrt(2.0 * tau)
    rho = 2.0 * kappa / den
    one_minus_rho = (1.0 + 1.0 / (root + 2.0 * kappa) + math.sqrt(2.0 * tau)) / den
    one_minus_rho2 = one_minus_rho * (1.0 + rho)
    return one_minus_rho / (1.0 + rho), 0.25 * den * one_minus_rho2 * one_minus_rho2, rho


@jit(inline=True)
def draw_half_tangent(s, ratio, scale, rho):
    """One von Mises(0, kappa) draw by Best & Fisher's (1979) rejection sampler, as ``w = tan(z / 2)``:
    ``(state, w, proposals)``, with the number of proposals it took.

    ``(ratio, scale, rho)`` come from :func:`sampler_constants`, computed once per kappa.  z = 2 atan(w), and
    sin z = 2 w / (1 + w^2), sin^2(z / 2) = w^2 / (1 + w^2) need no further trigonometry.

    Notes
    -----
    Best & Fisher propose ``z = cos(pi U)``, ``f = (1 + r z) / (r + z)``, ``c = kappa (r - f)`` and accept
    if ``c (2 - c) > V`` or ``log(c / V) + 1 - c >= 0`` (U, V uniform), returning ``+-arccos f``.  With
    ``h = pi U / 2`` and U uniform on (-1, 1) (its sign is the draw's sign), t = tan h is a standard Cauchy
    variate, drawn here as a ratio of two normals (no tangent to evaluate), and the same quantities are formed
    without cancellation, for kappa -> 0 and kappa -> infinity alike:

    * ``tan(theta / 2) = ((1 - rho) / (1 + rho)) tan h`` for theta = arccos f (the wrapped Cauchy proposal):
      w = ratio t (no arccos of a number next to 1);
    * ``c = kappa (r^2 - 1) / (r + z) = scale / ((1 - rho)^2 + 4 rho cos^2 h)`` with cos^2 h = 1 / (1 + t^2),
      using ``r - 1 = (1 - rho)^2 / (2 rho)``, ``r^2 - 1 = ((1 - rho^2) / (2 rho))^2``, ``1 + z = 2 cos^2 h``
      and 1 - rho = ratio (1 + rho) (exact where 1 - rho would cancel).

    The acceptance rate is above 65 % for every kappa; the logarithm is taken on the rare proposals the
    squeeze c (2 - c) > V does not accept.
    """
    one_minus_rho = ratio * (1.0 + rho)
    d2 = one_minus_rho * one_minus_rho
    four_rho = 4.0 * rho
    proposals = 0
    while True:
        proposals += 1
        s, numerator = next_normal(s)
        s, denominator = next_normal(s)
        t = numerator / denominator
        c = scale / (d2 + four_rho / (1.0 + t * t))
        s, v = next_double_open(s)
        if c * (2.0 - c) > v or math.log(c / v) + 1.0 - c >= 0.0:
            return s, ratio * t, proposals


@jit(inline=True)
def draw(s, ratio, scale, rho):
    """One von Mises(0, kappa) draw: ``(state, z, proposals)``, z = 2 atan(w) in [-pi, pi] from
    :func:`draw_half_tangent`."""
    s, w, proposals = draw_half_tangent(s, ratio, scale, rho)
    return s, 2.0 * math.atan(w), proposals


@jit
def sample(s, kappa):
    """One von Mises(0, kappa) draw on the stream ``s``: ``(state, z)`` with z in (-pi, pi).

    Parameters
    ----------
    s : tuple of uint64
        Stream state (:func:`mcgrad.kernels.rng.block_state`).
    kappa : float
        Concentration, kappa >= 0 (kappa = 0 is the uniform distribution on the circle).

    Returns
    -------
    tuple
        The advanced state and the draw; the draw is NaN for kappa < 0 or NaN (no numbers are drawn then).

    Notes
    -----
    Best & Fisher's (1979) wrapped-Cauchy rejection sampler, see :func:`draw`; two uniforms per proposal.
    The constants are recomputed per call, so hot loops at a fixed kappa should call
    :func:`sampler_constants` once and :func:`draw` per sample.  Add the location and wrap outside.
    """
    if not (kappa >= 0.0) or kappa == math.inf:
        return s, math.nan
    ratio, scale, rho = sampler_constants(kappa)
    s, z, _ = draw(s, ratio, scale, rho)
    return s, z
