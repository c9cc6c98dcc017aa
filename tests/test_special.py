"""mcgrad.kernels.special against scipy.special and (where installed) mpmath.

Tolerances: the polygamma family to 1e-12 relative with a 1e-15 absolute floor next to zeros (the
brief's contract; measured errors are ~1e-15); P(a, x) to 1e-12 relative; dP/da to 1e-6 relative
against a central finite difference of scipy.special.gammainc and to 1e-10 against mpmath;
dlog_quantile_da = -(dP/da) / (x q) to 2e-13 against mpmath (measured 6e-14).
"""

import math

import numba
import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

from mcgrad.kernels.special import (
    dgammainc_da,
    digamma,
    dlog_quantile_da,
    gammainc_lower,
    lgamma,
    tetragamma,
    trigamma,
)

DIGAMMA_ROOT = 1.4616321449683622
TINY = 5e-324  # smallest subnormal


def _map1(f):
    @numba.njit
    def run(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = f(x[i])
        return out

    return run


def _map2(f):
    @numba.njit
    def run(a, x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = f(a[i], x[i])
        return out

    return run


LGAMMA, DIGAMMA, TRIGAMMA, TETRAGAMMA = (_map1(f) for f in (lgamma, digamma, trigamma, tetragamma))
GAMMAINC, DGAMMAINC, DLOGQ = _map2(gammainc_lower), _map2(dgammainc_da), _map2(dlog_quantile_da)


def _offsets(centre):
    """Points on both sides of ``centre``, from 1e-14 to 0.45 away."""
    d = np.logspace(-14, math.log10(0.45), 150)
    return np.concatenate([centre - d, [centre], centre + d])


X_WIDE = np.logspace(-6, 8, 2000)
X_NEAR_ZEROS = np.concatenate([_offsets(1.0), _offsets(2.0), _offsets(DIGAMMA_ROOT)])
X_ALL = np.concatenate([X_WIDE, X_NEAR_ZEROS, np.random.default_rng(7).uniform(1e-3, 30.0, 3000)])


def _assert_close(got, ref, rtol, atol, what, x):
    err = np.abs(got - ref)
    bad = ~(err <= rtol * np.abs(ref) + atol)
    assert not bad.any(), f"{what}: {bad.sum()} failures at x={x[bad][:5]}, got {got[bad][:5]}, ref {ref[bad][:5]}"


@pytest.mark.parametrize(
    "name,kernel,reference",
    [
        ("lgamma", LGAMMA, sc.gammaln),
        ("digamma", DIGAMMA, sc.digamma),
        ("trigamma", TRIGAMMA, lambda x: sc.polygamma(1, x)),
        ("tetragamma", TETRAGAMMA, lambda x: sc.polygamma(2, x)),
    ],
)
def test_polygamma_family_against_scipy(name, kernel, reference):
    got = kernel(X_ALL)
    ref = reference(X_ALL)
    _assert_close(got, ref, 1e-12, 1e-15, name, X_ALL)
    # away from zeros the kernels are good to a few ulp (regression guard, well inside the contract)
    away = np.abs(ref) > 0.1
    assert np.max(np.abs(got - ref)[away] / np.abs(ref[away])) < 1e-14, name


def test_exact_values():
    assert lgamma(1.0) == 0.0 and lgamma(2.0) == 0.0
    assert abs(digamma(DIGAMMA_ROOT)) < 1e-16
    assert lgamma(0.5) == pytest.approx(0.5 * math.log(math.pi), rel=1e-15)
    assert digamma(1.0) == pytest.approx(-0.5772156649015329, rel=1e-15)
    assert trigamma(1.0) == pytest.approx(math.pi**2 / 6, rel=1e-15)
    assert tetragamma(1.0) == pytest.approx(-2 * 1.2020569031595942, rel=1e-15)
    assert lgamma(math.inf) == math.inf
    for f in (lgamma, digamma, trigamma, tetragamma):
        assert math.isnan(f(0.0)) and math.isnan(f(-1.5)) and math.isnan(f(math.nan))


def test_near_zeros_against_mpmath():
    """scipy's gammaln is only ~4e-12 relative next to x = 1, 2; mpmath checks full relative accuracy."""
    mp = pytest.importorskip("mpmath")
    cases = [(LGAMMA, mp.loggamma, 1.0), (LGAMMA, mp.loggamma, 2.0), (DIGAMMA, mp.digamma, DIGAMMA_ROOT)]
    for kernel, mp_f, centre in cases:
        x = _offsets(centre)[::3]
        got = kernel(x)
        with mp.workdps(40):
            ref = np.array([float(mp_f(mp.mpf(float(v)))) for v in x])
        _assert_close(got, ref, 1e-14, 1e-30, "near zero", x)


def _quantile_grid(a_values, q):
    a = np.repeat(a_values, q.size)
    x = st.gamma.ppf(np.tile(q, a_values.size), a)
    return a, x


A_GRAD = np.logspace(-2, 4, 40)
Q_GRAD = np.linspace(0.001, 0.999, 15)


def test_gammainc_lower_against_scipy():
    """scipy's large-a expansion is off by up to 1e-5 in the far tails at a = 1e6: a <= 1e4 here, mpmath beyond."""
    a, x = _quantile_grid(np.logspace(-3, 4, 29), np.concatenate([np.logspace(-6, -1, 6), np.linspace(0.2, 0.8, 4),
                                                                     1 - np.logspace(-6, -1, 6)]))
    keep = x > 0  # quantiles below the smallest double come back as 0
    a, x = a[keep], x[keep]
    _assert_close(GAMMAINC(a, x), sc.gammainc(a, x), 1e-12, 0.0, "gammainc_lower", x)
    # either side of the switch from the series to the continued fraction at x = a + 1
    a = np.logspace(-3, 4, 15)
    for x in (np.nextafter(a + 1, 0), a + 1, a + 1 + 1e-9 * (a + 1)):
        _assert_close(GAMMAINC(a, x), sc.gammainc(a, x), 1e-12, 0.0, "gammainc_lower at x = a + 1", x)


def test_dgammainc_da_against_finite_difference():
    a, x = _quantile_grid(A_GRAD, Q_GRAD)
    h = 1e-6 * np.maximum(1.0, a)
    fd = (sc.gammainc(a + h, x) - sc.gammainc(a - h, x)) / (2 * h)
    _assert_close(DGAMMAINC(a, x), fd, 1e-6, 0.0, "dgammainc_da vs finite difference", x)


def _mp_reference(mp, a, x):
    """P(a, x) = x^a e^-x / Gamma(a + 1) 1F1(1; a + 1; x) and its a-derivative, in mpmath."""

    def p(t, xm):
        return mp.exp(t * mp.log(xm) - xm - mp.loggamma(t + 1)) * mp.hyp1f1(1, t + 1, xm, maxterms=10**6)

    am, xm = mp.mpf(float(a)), mp.mpf(float(x))
    return float(p(am, xm)), float(mp.diff(lambda t: p(t, xm), am))


def test_dgammainc_da_against_mpmath():
    mp = pytest.importorskip("mpmath")
    a, x = _quantile_grid(A_GRAD, Q_GRAD)
    # the series / continued-fraction switch, and large shapes out to the 1e-6 quantiles
    extra_a = np.array([0.5, 3.0, 40.0, 2000.0, 1e5, 1e6])
    big_a, big_x = _quantile_grid(np.array([1e5, 1e6]), np.array([1e-6, 1e-3, 0.3, 0.7, 1 - 1e-3, 1 - 1e-6]))
    a = np.concatenate([a, extra_a, extra_a, big_a])
    x = np.concatenate([x, np.nextafter(extra_a + 1, 0), extra_a + 1, big_x])
    with mp.workdps(30):
        ref = np.array([_mp_reference(mp, ai, xi) for ai, xi in zip(a, x, strict=True)])
    _assert_close(GAMMAINC(a, x), ref[:, 0], 1e-12, 0.0, "gammainc_lower vs mpmath", x)
    _assert_close(DGAMMAINC(a, x), ref[:, 1], 1e-10, 0.0, "dgammainc_da vs mpmath", x)


def test_dlog_quantile_da_against_mpmath():
    """-(dP/da) / (x q(x; a)) with the prefactor cancelled, over a in [1e-3, 1e6] and the 1e-6 .. 1 - 1e-6 quantiles."""
    mp = pytest.importorskip("mpmath")
    a, x = _quantile_grid(np.logspace(-3, 6, 19), np.array([1e-6, 1e-3, 0.3, 0.7, 1 - 1e-3, 1 - 1e-6]))
    extra_a = np.array([0.5, 3.0, 40.0, 2000.0, 1e5, 1e6])
    a = np.concatenate([a, extra_a, extra_a])
    x = np.concatenate([x, np.nextafter(extra_a + 1, 0), extra_a + 1])
    keep = x > 0
    a, x = a[keep], x[keep]
    with mp.workdps(30):
        ref = []
        for ai, xi in zip(a, x, strict=True):
            dp = _mp_reference(mp, ai, xi)[1]
            am, xm = mp.mpf(float(ai)), mp.mpf(float(xi))
            ref.append(float(-dp / (xm * mp.exp((am - 1) * mp.log(xm) - xm - mp.loggamma(am)))))
    _assert_close(DLOGQ(a, x), np.array(ref), 2e-13, 0.0, "dlog_quantile_da vs mpmath", x)


def test_dlog_quantile_da_is_dgammainc_da_over_the_density():
    a, x = _quantile_grid(np.logspace(-2, 2, 17), Q_GRAD)
    ratio = -DGAMMAINC(a, x) / (x * st.gamma.pdf(x, a))
    _assert_close(DLOGQ(a, x), ratio, 1e-12, 0.0, "dlog_quantile_da vs dgammainc_da / q", x)


def test_finite_and_signed_over_the_whole_range():
    q = np.concatenate([np.logspace(-6, -1, 11), np.linspace(0.15, 0.85, 8), 1 - np.logspace(-6, -1, 11)])
    a, x = _quantile_grid(np.logspace(-3, 6, 46), q)
    x = np.where(x > 0, x, TINY)  # quantiles that underflow: the smallest positive double lies inside the range
    a = np.concatenate([a, [1e-3, 1e-3, 1e-3, 1e6, 1e6, 1.0]])
    x = np.concatenate([x, [TINY, 1e-300, 700.0, 1e6 - 1.0, 1e6 + 1.0, 1e300]])
    p, d = GAMMAINC(a, x), DGAMMAINC(a, x)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert np.all(np.isfinite(d)) and np.all(d <= 0)
    g = DLOGQ(a, x)
    assert np.all(np.isfinite(g)) and np.all(g > 0)


def test_domain():
    assert gammainc_lower(2.0, 0.0) == 0.0 and dgammainc_da(2.0, 0.0) == 0.0
    assert gammainc_lower(2.0, math.inf) == 1.0 and dgammainc_da(2.0, math.inf) == 0.0
    for a, x in [(0.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (math.nan, 1.0), (1.0, math.nan)]:
        assert math.isnan(gammainc_lower(a, x)) and math.isnan(dgammainc_da(a, x))
    for a, x in [(0.0, 1.0), (1.0, 0.0), (1.0, -1.0), (1.0, math.inf), (math.nan, 1.0), (1.0, math.nan)]:
        assert math.isnan(dlog_quantile_da(a, x))
    # a = 1: P = 1 - e^-x, dP/da = -e^-x (log x - psi(1) - ...); check against the closed form at x = 1e-3
    x = 1e-3
    series = sum(x**n / math.factorial(n + 1) * (sum(1.0 / k for k in range(1, n + 2)) - 1.0) for n in range(20))
    assert dlog_quantile_da(1.0, x) == pytest.approx(series - (math.log(x) - digamma(2.0)) * math.expm1(x) / x,
                                                     rel=1e-14)
    assert gammainc_lower(1.0, 0.7) == pytest.approx(-math.expm1(-0.7), rel=1e-15)
    assert gammainc_lower(1.0, 3.0) == pytest.approx(-math.expm1(-3.0), rel=1e-15)
