"""Scalar special functions for Gamma-family kernels: log-gamma, polygamma 0..2, P(a, x) and dP/da.

Every function is a ``@jit`` kernel on float64 scalars (no arrays), so it can be called from the
per-sample loops of other kernels.  Contents:

* :func:`lgamma`, :func:`digamma`, :func:`trigamma`, :func:`tetragamma` (= polygamma(2, x)) for x > 0;
* :func:`gammainc_lower`, the regularised lower incomplete gamma function P(a, x);
* :func:`dgammainc_da`, its derivative dP(a, x)/da, the ingredient of the implicit reparameterisation
  gradient of a Gamma(a, 1) sample z (Figurnov et al. 2018): dz/da = -dgammainc_da(a, z) / q(z; a);
* :func:`dlog_quantile_da`, that gradient divided by z, formed without the prefactor x^a e^-x / Gamma(a + 1)
  that P and q share (so without its rounding: 6e-14 relative against mpmath up to a = 1e6).

Methods: recurrences shift the argument into a range where a Stirling / asymptotic series (Bernoulli
numbers, up to B_24) is accurate to a few ulp; near the zeros of lgamma (x = 1, 2) a series in
zeta(k) - 1 and near the positive zero of digamma a Taylor series about that zero keep full relative
accuracy.  P and dP/da use the power series of P (differentiated term by term in a) for x < a + 1 and
Legendre's continued fraction for Q = 1 - P (evaluated with the modified Lentz method, carrying the
a-derivative of the Lentz recurrences) otherwise; the prefactor x^a e^-x / Gamma(a + 1) is formed as
exp(a log1pmx((x - a)/a) - log(2 pi a)/2 - stirling(a)) for a >= 10 so it does not cancel for large a.

Accuracy measured (tests/test_special.py and the same grids against mpmath at 30-40 digits):

* on 2000 log-spaced x in [1e-6, 1e8], 3000 uniform x in [1e-3, 30] and points 1e-14..0.45 either side of
  x = 1, x = 2 and the root of digamma, the largest relative error against scipy.special is lgamma 1.7e-15
  (scipy's own error; 2e-16 against mpmath at that point), digamma 3.9e-16, trigamma 6.6e-16, tetragamma
  7.4e-16 (where |f| > 0.1); with the contract's floor, max |err| / (1e-12 |ref| + 1e-15) is 0.37 for lgamma
  (scipy's gammaln is only ~4e-12 relative next to x = 1, 2) and <= 8e-4 for the others.  Against mpmath
  (40 digits): lgamma <= 5e-16 and digamma <= 3e-16 relative, next to their zeros too; trigamma and
  tetragamma <= 7e-16.
* P(a, x) and dP/da against mpmath, 40 log-spaced a in [1e-2, 1e4] at 15 quantiles of Gamma(a, 1) from
  0.1 % to 99.9 %: 3.7e-15 and 5.7e-15 relative (dP/da against the central finite difference of
  scipy.special.gammainc with step 1e-6 max(1, a): 8e-8, the finite difference's own error).  Over
  a in [1e-3, 1e6] and the 1e-6 .. 1 - 1e-6 quantiles: P <= 1.1e-14, dP/da <= 2.6e-14; the worst case
  seen, 2e-13 for dP/da, is at a >= 1e5 just above x = a + 1 (the continued fraction's derivative cancels
  against log x - psi(a) there).  Cost grows like sqrt(a): about 0.2, 0.4, 2 and 14 microseconds per
  dgammainc_da call at a = 1, 1e2, 1e4, 1e6.

scipy.special.gammainc itself is off by up to ~1e-5 relative in the far tails for a ~ 1e6 (its large-a
expansion); this module agrees with mpmath there.  Arguments outside the domains (a <= 0, x < 0, NaN) give NaN.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ._jit import jit

_EULER = 0.5772156649015329  # Euler-Mascheroni constant gamma
_HALF_LOG_2PI = 0.9189385332046728  # log(2 pi) / 2
_LOG_2PI = 1.8378770664093453
_ASYMPTOTIC = 12.0  # the asymptotic series are used for x >= _ASYMPTOTIC
_MAX_ITER = 1_000_000  # guard for the P(a, x) series and continued fraction (O(sqrt(a)) terms are needed)
_EPS = 2.220446049250313e-16
_TINY = 1e-300

# Bernoulli numbers B_2, B_4, ..., B_24
_BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
              Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
              Fraction(-174611, 330), Fraction(854513, 138), Fraction(-236364091, 2730)]
_K = range(1, len(_BERNOULLI) + 1)
# lgamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + sum_k B_2k / (2k (2k-1) x^(2k-1))
_STIRLING = np.array([float(b / (2 * k * (2 * k - 1))) for k, b in zip(_K, _BERNOULLI, strict=True)])
# digamma(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k)
_DIGAMMA_ASY = np.array([float(b / (2 * k)) for k, b in zip(_K, _BERNOULLI, strict=True)])
# trigamma(x) = 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1)
_TRIGAMMA_ASY = np.array([float(b) for b in _BERNOULLI])
# polygamma(2, x) = -1/x^2 - 1/x^3 - sum_k (2k+1) B_2k / x^(2k+2)
_TETRAGAMMA_ASY = np.array([float((2 * k + 1) * b) for k, b in zip(_K, _BERNOULLI, strict=True)])

# zeta(k) - 1 for k = 2..33 (mpmath, 50 digits)
_ZETA_M1 = np.array([
    0.6449340668482264, 0.2020569031595943, 0.08232323371113819, 0.03692775514336993,
    0.01734306198444914, 0.008349277381922827, 0.00407735619794434, 0.0020083928260822143,
    0.0009945751278180853, 0.0004941886041194645, 0.0002460865533080483, 0.00012271334757848915,
    6.124813505870483e-05, 3.058823630702049e-05, 1.528225940865187e-05, 7.637197637899763e-06,
    3.81729326499984e-06, 1.908212716553939e-06, 9.539620338727962e-07, 4.769329867878064e-07,
    2.38450502727733e-07, 1.1921992596531106e-07, 5.960818905125948e-08, 2.980350351465228e-08,
    1.4901554828365043e-08, 7.45071178983543e-09, 3.725334024788457e-09, 1.862659723513049e-09,
    9.313274324196682e-10, 4.656629065033784e-10, 2.3283118336765053e-10, 1.164155017270052e-10,
])
# (-1)^k (zeta(k) - 1) / k, the coefficients of z^k in lgamma(2 + z) - (1 - gamma) z
_LGAMMA_2P = np.array([(-1.0) ** k * _ZETA_M1[k - 2] / k for k in range(2, 2 + _ZETA_M1.shape[0])])
# (-1)^k (zeta(k) - 1), the coefficients of z^(k-1) in digamma(2 + z) - (1 - gamma)
_DIGAMMA_2P = np.array([(-1.0) ** k * _ZETA_M1[k - 2] for k in range(2, 2 + _ZETA_M1.shape[0])])

# positive zero of digamma, x0 = _ROOT_HI + _ROOT_LO, and the Taylor coefficients psi^(k)(x0) / k!, k = 1..25
_ROOT_HI = 1.4616321449683622
_ROOT_LO = 9.549995429965697e-17
_ROOT_RADIUS = 0.3
_DIGAMMA_ROOT = np.array([
    0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652,
    0.10782405069126237, -0.07219956125645471, 0.04880428816414311, -0.03316112647484736,
    0.022597648232218104, -0.01542476590494896, 0.010538791616612175, -0.007204534386356869,
    0.004926781395729853, -0.003369801655439328, 0.002305126326734928, -0.0015769367714301972,
    0.0010788252019162967, -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077,
    0.00023635601564027053, -0.00016170622091974803, 0.0001106337276874741, -7.569179582195066e-05,
    5.178575795222081e-05,
])


@jit
def horner(c, w):
    """sum_k c[k] w^k."""
    s = 0.0
    for k in range(c.shape[0] - 1, -1, -1):
        s = s * w + c[k]
    return s


@jit
def _stirling(x):
    """lgamma(x) - ((x - 1/2) log x - x + log(2 pi)/2) for x >= 10 (the Stirling series)."""
    w = 1.0 / x
    return w * horner(_STIRLING, w * w)


@jit
def _lgamma_2p(z):
    """lgamma(2 + z) for |z| <= 1/2: (1 - gamma) z + sum_k>=2 (-1)^k (zeta(k) - 1) z^k / k."""
    return z * ((1.0 - _EULER) + z * horner(_LGAMMA_2P, z))


@jit
def lgamma(x):
    """Natural logarithm of the gamma function, log Gamma(x), for x > 0.

    Parameters
    ----------
    x : float
        Argument, x > 0.

    Returns
    -------
    float
        log Gamma(x); NaN for x <= 0 or NaN, +inf for x = +inf.

    Notes
    -----
    * x >= 12: Stirling's series ``(x - 1/2) log x - x + log(2 pi)/2 + sum_k B_2k / (2k (2k-1) x^(2k-1))``
      with 12 terms (B_2 .. B_24).
    * 1.5 <= x < 2.5, z = x - 2: ``lgamma(2 + z) = (1 - gamma) z + sum_{k>=2} (-1)^k (zeta(k) - 1) z^k / k``
      (Abramowitz & Stegun 6.1.33 with log(1 + z) folded in), which keeps full relative accuracy at the
      zero x = 2.
    * 0.5 <= x < 1.5: ``lgamma(x) = lgamma(2 + (x - 1)) - log(x)``, i.e. ``- log1p(z) + `` the series above
      with z = x - 1, accurate near the zero x = 1; x < 0.5 uses ``lgamma(x) = lgamma(x + 1) - log x``.
    * 2.5 <= x < 12: downward recurrence ``lgamma(x) = lgamma(y) + log((x-1)(x-2)...y)`` to y in [1.5, 2.5).

    Relative error <= 5e-16 on [1e-6, 1e8] against mpmath, also next to x = 1 and x = 2.
    """
    if not (x > 0.0):
        return math.nan
    if x >= _ASYMPTOTIC:
        if x == math.inf:
            return math.inf
        return (x - 0.5) * math.log(x) - x + _HALF_LOG_2PI + _stirling(x)
    if x < 0.5:
        return _lgamma_2p(x) - math.log1p(x) - math.log(x)
    if x < 1.5:
        z = x - 1.0
        return _lgamma_2p(z) - math.log1p(z)
    y = x
    p = 1.0
    while y >= 2.5:
        y -= 1.0
        p *= y
    return _lgamma_2p(y - 2.0) + math.log(p)


@jit
def _digamma_2p(z):
    """digamma(2 + z) for |z| <= 1/2: 1 - gamma + sum_{k>=2} (-1)^k (zeta(k) - 1) z^(k-1)."""
    return (1.0 - _EULER) + z * horner(_DIGAMMA_2P, z)


@jit
def _digamma_mid(y):
    """digamma(y) for 1.5 <= y < 2.5 (Taylor series about the root of digamma below 1.4616 + 0.3)."""
    d = y - _ROOT_HI
    if d < _ROOT_RADIUS:
        d -= _ROOT_LO
        return d * horner(_DIGAMMA_ROOT, d)
    return _digamma_2p(y - 2.0)


@jit
def digamma(x):
    """Digamma function psi(x) = d log Gamma(x) / dx, for x > 0.

    Parameters
    ----------
    x : float
        Argument, x > 0.

    Returns
    -------
    float
        psi(x); NaN for x <= 0 or NaN.

    Notes
    -----
    * |x - x0| < 0.3 around the positive zero x0 = 1.46163214496836234...: Taylor series
      ``sum_{k=1}^{25} psi^(k)(x0) / k! (x - x0)^k`` with x0 split into two doubles, so the relative
      accuracy holds right through the zero.
    * otherwise, for x < 2.5, ``psi(2 + z) = 1 - gamma + sum_{k>=2} (-1)^k (zeta(k) - 1) z^(k-1)`` with
      |z| <= 1/2 (from A&S 6.3.14), and ``psi(x) = psi(x + 1) - 1/x`` once or twice for x < 1.5;
    * 2.5 <= x < 12: downward recurrence ``psi(x) = psi(y) + sum_{k=0}^{n-1} 1 / (y + k)``, y = x - n in
      [1.5, 2.5), where every term is positive;
    * x >= 12: the asymptotic series ``psi(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k)`` (12 terms).

    Relative error <= 3e-16 on [1e-6, 1e8] against mpmath, through the zero x0 too.
    """
    if not (x > 0.0):
        return math.nan
    if x >= _ASYMPTOTIC:
        w = 1.0 / x
        w2 = w * w
        return math.log(x) - 0.5 * w - w2 * horner(_DIGAMMA_ASY, w2)
    d = x - _ROOT_HI
    if abs(d) < _ROOT_RADIUS:
        d -= _ROOT_LO
        return d * horner(_DIGAMMA_ROOT, d)
    if x < 0.5:
        return _digamma_2p(x) - 1.0 / (1.0 + x) - 1.0 / x
    if x < 1.5:
        return _digamma_2p(x - 1.0) - 1.0 / x
    y = x
    acc = 0.0
    while y >= 2.5:
        y -= 1.0
        acc += 1.0 / y
    return _digamma_mid(y) + acc


@jit
def trigamma(x):
    """Trigamma function psi'(x) = polygamma(1, x), for x > 0.

    Parameters
    ----------
    x : float
        Argument, x > 0.

    Returns
    -------
    float
        psi'(x); NaN for x <= 0 or NaN.

    Notes
    -----
    ``psi'(x) = psi'(x + n) + sum_{k=0}^{n-1} 1 / (x + k)^2`` with x + n >= 12 (all terms positive, so no
    cancellation), then ``psi'(x) = 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1)`` (12 terms).
    Relative error <= 7e-16 on [1e-6, 1e8] against mpmath.
    """
    if not (x > 0.0):
        return math.nan
    acc = 0.0
    while x < _ASYMPTOTIC:
        acc += 1.0 / (x * x)
        x += 1.0
    w = 1.0 / x
    w2 = w * w
    return acc + w * (1.0 + w * (0.5 + w * horner(_TRIGAMMA_ASY, w2)))


@jit
def tetragamma(x):
    """Tetragamma function psi''(x) = polygamma(2, x), for x > 0.

    Parameters
    ----------
    x : float
        Argument, x > 0.

    Returns
    -------
    float
        psi''(x) (negative); NaN for x <= 0 or NaN.

    Notes
    -----
    ``psi''(x) = psi''(x + n) - sum_{k=0}^{n-1} 2 / (x + k)^3`` with x + n >= 12 (all terms negative),
    then ``psi''(x) = -1/x^2 - 1/x^3 - sum_k (2k+1) B_2k / x^(2k+2)`` (12 terms).
    Relative error <= 7e-16 on [1e-6, 1e8] against mpmath.
    """
    if not (x > 0.0):
        return math.nan
    acc = 0.0
    while x < _ASYMPTOTIC:
        acc -= 2.0 / (x * x * x)
        x += 1.0
    w = 1.0 / x
    w2 = w * w
    return acc - w2 * (1.0 + w * (1.0 + w * horner(_TETRAGAMMA_ASY, w2)))


@jit
def _log1pmx(u):
    """log(1 + u) - u for u > -1, accurate for small |u|."""
    if abs(u) < 0.4:
        # log(1 + u) = 2 atanh(s), s = u / (2 + u), and 2 s - u = -u s
        s = u / (2.0 + u)
        s2 = s * s
        acc = 0.0
        for k in range(15, 0, -1):
            acc = acc * s2 + 1.0 / (2 * k + 1)
        return 2.0 * s * s2 * acc - u * s
    return math.log1p(u) - u


@jit
def _log_prefactor(a, x):
    """log(x^a e^-x / Gamma(a + 1)) for a > 0, x > 0.

    For a >= 10 it is ``a log1pmx((x - a)/a) - log(2 pi a)/2 - stirling(a)``, which avoids the
    cancellation of a log x - x against lgamma(a + 1) for large a.
    """
    if a < 10.0:
        return a * math.log(x) - x - lgamma(a + 1.0)
    u = (x - a) / a
    if u < -0.5:
        lm = math.log(x) - math.log(a) - u
    else:
        lm = _log1pmx(u)
    return a * lm - 0.5 * (_LOG_2PI + math.log(a)) - _stirling(a)


@jit
def _log_minus_digamma1p(a, x):
    """log(x) - digamma(a + 1), without the cancellation of the two logarithms for large a and x ~ a."""
    if a < _ASYMPTOTIC:
        return math.log(x) - digamma(a + 1.0)
    # digamma(a + 1) - log(a) = 1/(2a) - sum_k B_2k / (2k a^2k)
    w = 1.0 / a
    w2 = w * w
    shift = 0.5 * w - w2 * horner(_DIGAMMA_ASY, w2)
    u = (x - a) / a
    if abs(u) < 0.5:
        return math.log1p(u) - shift
    return (math.log(x) - math.log(a)) - shift


@jit
def _series(a, x):
    """S = sum_n t_n and T = sum_n t_n H_n with t_n = x^n / ((a+1)...(a+n)), H_n = sum_{k=1}^n 1/(a+k)."""
    t = 1.0
    h = 0.0
    s = 1.0
    tsum = 0.0
    n = 0
    while n < _MAX_ITER:
        n += 1
        ak = a + n
        t *= x / ak
        h += 1.0 / ak
        s += t
        th = t * h
        tsum += th
        if t <= _EPS * s and th <= _EPS * tsum:
            break
    return s, tsum


@jit
def _continued_fraction(a, x, scale):
    """g = b0 + a1/(b1 + a2/(b2 + ...)) and d(log g)/da for Q(a, x) = x^a e^-x / (Gamma(a) g).

    Legendre's continued fraction, contracted (Numerical Recipes 6.2): a_j = j (a - j), b_j = x + 2j + 1 - a,
    evaluated by the modified Lentz method with the a-derivatives of its C and D recurrences carried along
    (da_j/da = j, db_j/da = -1).  ``scale`` sets the absolute tolerance of the derivative.
    """
    b = x + 1.0 - a
    if abs(b) < _TINY:
        b = _TINY
    g = b
    c = b
    dc = -1.0
    d = 0.0
    dd = 0.0
    dlog = -1.0 / b
    j = 0
    while j < _MAX_ITER:
        j += 1
        aj = j * (a - j)
        b += 2.0
        # D_j = 1 / (b_j + a_j D_{j-1})
        den = b + aj * d
        dden = -1.0 + j * d + aj * dd
        if abs(den) < _TINY:
            den = _TINY
        d = 1.0 / den
        dd = -dden * d * d
        # C_j = b_j + a_j / C_{j-1}
        dc = -1.0 + (j - aj * dc / c) / c
        c = b + aj / c
        if abs(c) < _TINY:
            c = _TINY
        delta = c * d
        g *= delta
        step = dc / c - dden * d
        dlog += step
        if abs(delta - 1.0) <= 2.0 * _EPS and abs(step) <= _EPS * (abs(dlog) + scale):
            break
    return g, dlog


@jit
def gammainc_lower(a, x):
    """Regularised lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a).

    Parameters
    ----------
    a : float
        Shape, a > 0 (tested for 1e-3 <= a <= 1e6).
    x : float
        Upper limit of integration, x >= 0.

    Returns
    -------
    float
        P(a, x) in [0, 1]; NaN for a <= 0, x < 0 or NaN arguments.

    Notes
    -----
    With ``D = x^a e^-x / Gamma(a + 1)``:

    * x < a + 1: power series ``P = D sum_{n>=0} x^n / ((a+1)(a+2)...(a+n))`` (DLMF 8.7.1);
    * x >= a + 1: ``P = 1 - Q`` with ``Q = a D / g`` and g Legendre's continued fraction
      ``g = x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x + 5 - a - ...))`` (modified Lentz).

    For a >= 10 ``log D = a log1pmx((x - a)/a) - log(2 pi a)/2 - stirling(a)`` so that large a loses no
    digits to cancellation.  Both expansions need O(sqrt(a)) terms when x is near a.  Relative error
    <= 1.1e-14 against mpmath for 1e-3 <= a <= 1e6 between the 1e-6 and 1 - 1e-6 quantiles.
    """
    if not (a > 0.0) or not (x >= 0.0):
        return math.nan
    if x == 0.0:
        return 0.0
    if x == math.inf:
        return 1.0
    logd = _log_prefactor(a, x)
    if x < a + 1.0:
        s, _ = _series(a, x)
        return math.exp(logd) * s
    g, _ = _continued_fraction(a, x, math.inf)  # the derivative is not needed: stop on g alone
    return 1.0 - a * math.exp(logd) / g


@jit
def dgammainc_da(a, x):
    """Derivative of the regularised lower incomplete gamma function in its shape, dP(a, x)/da.

    Parameters
    ----------
    a : float
        Shape, a > 0 (tested for 1e-3 <= a <= 1e6).
    x : float
        Upper limit, x >= 0.

    Returns
    -------
    float
        dP(a, x)/da (<= 0); NaN for a <= 0, x < 0 or NaN arguments, 0 at x = 0 and x = inf.

    Notes
    -----
    With ``D = x^a e^-x / Gamma(a + 1)``, ``d log D / da = log x - psi(a + 1)``:

    * x < a + 1: the series ``P = D sum_n t_n``, ``t_n = x^n / ((a+1)...(a+n))``, differentiated term by
      term (``d log t_n / da = -H_n``, ``H_n = sum_{k=1}^n 1 / (a + k)``):
      ``dP/da = D [(log x - psi(a + 1)) sum_n t_n - sum_n t_n H_n]``.
    * x >= a + 1: ``Q = 1 - P = a D / g`` with Legendre's continued fraction g (see
      :func:`gammainc_lower`), ``dP/da = -Q (log x - psi(a) - d log g / da)``, where ``d log g / da``
      is accumulated alongside the modified Lentz recurrences
      (``C_j = b_j + a_j / C_{j-1}``, ``D_j = 1 / (b_j + a_j D_{j-1})``, ``g = b_0 prod_j C_j D_j``).

    ``log x - psi(a + 1)`` is formed as ``log1p((x - a)/a) - (psi(a + 1) - log a)`` for a >= 12.  The
    implicit reparameterisation gradient of z ~ Gamma(a, 1) (Figurnov et al. 2018) is
    ``dz/da = -dgammainc_da(a, z) / q(z; a)``.  Relative error against mpmath: <= 6e-15 for
    1e-2 <= a <= 1e4 between the 0.1 % and 99.9 % quantiles, <= 3e-14 for 1e-3 <= a <= 1e6 between the
    1e-6 and 1 - 1e-6 quantiles, and up to 2e-13 for a >= 1e5 just above x = a + 1, where the continued
    fraction's derivative partly cancels against log x - psi(a).  Values are finite for 1e-3 <= a <= 1e6
    and every representable x > 0.  Far in the tails, where dP/da itself is below the
    smallest normal double (~1e-308), the result underflows to 0 or a subnormal.
    """
    if not (a > 0.0) or not (x >= 0.0):
        return math.nan
    if x == 0.0 or x == math.inf:
        return 0.0
    logd = _log_prefactor(a, x)
    lx = _log_minus_digamma1p(a, x)
    if x < a + 1.0:
        s, tsum = _series(a, x)
        return math.exp(logd) * (lx * s - tsum)
    lq = lx + 1.0 / a  # log x - psi(a)
    g, dlog = _continued_fraction(a, x, abs(lq))
    q = a * math.exp(logd) / g
    return -q * (lq - dlog)


@jit
def dlog_quantile_da(a, x):
    """Logarithmic shape derivative of a Gamma(a, 1) quantile, -(dP(a, x)/da) / (x q(x; a)).

    Parameters
    ----------
    a : float
        Shape, a > 0 (tested for 1e-3 <= a <= 1e6).
    x : float
        A point of the support, 0 < x < inf.

    Returns
    -------
    float
        d log z / da at z = x with P(a, z) held fixed (> 0); NaN for a <= 0, x <= 0, x = inf or NaN.

    Notes
    -----
    The implicit reparameterisation gradient of z ~ Gamma(a, 1) is ``dz/da = z * dlog_quantile_da(a, z)``.
    With ``D = x^a e^-x / Gamma(a + 1)`` the density is ``q(x; a) = a D / x``, so D cancels from the
    ratio and no exponential is formed:

    * x < a + 1: ``(T - (log x - psi(a + 1)) S) / a`` with the series ``S = sum_n t_n``,
      ``T = sum_n t_n H_n`` of :func:`dgammainc_da`;
    * x >= a + 1: ``(log x - psi(a) - d log g / da) / g`` with Legendre's continued fraction g.

    Dividing :func:`dgammainc_da` by a separately computed density instead loses about
    |(a - 1) log x - x| * 2^-53 to the rounding of the density's exponent (1e-9 relative at a = 1e6).
    Relative error against mpmath: <= 1e-13 for 1e-3 <= a <= 1e6 between the 1e-6 and 1 - 1e-6 quantiles.
    """
    if not (a > 0.0) or not (x > 0.0) or x == math.inf:
        return math.nan
    lx = _log_minus_digamma1p(a, x)
    if x < a + 1.0:
        s, tsum = _series(a, x)
        return (tsum - lx * s) / a
    lq = lx + 1.0 / a  # log x - psi(a)
    g, dlog = _continued_fraction(a, x, abs(lq))
    return (lq - dlog) / g
