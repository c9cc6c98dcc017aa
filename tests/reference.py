"""Slow, obviously-correct oracles: quadrature over the Normal and a compensated two-pass variance."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

LIM = 12.0
SQRT_2PI = math.sqrt(2.0 * math.pi)


def phi(e):
    return math.exp(-0.5 * e * e) / SQRT_2PI


def _moments_1d(g, lo=-LIM, hi=LIM, density=phi):
    mean = integrate.quad(lambda e: g(e) * density(e), lo, hi, epsabs=1e-13, epsrel=1e-12, limit=400)[0]
    second = integrate.quad(lambda e: g(e) ** 2 * density(e), lo, hi, epsabs=1e-13, epsrel=1e-12, limit=400)[0]
    return mean, second - mean * mean


def exact_gradient(f, mu, sigma):
    """d/dmu and d/dsigma of E f(mu + sigma eps) by quadrature of the score identities."""
    dmu = integrate.quad(lambda e: f(mu + sigma * e) * e / sigma * phi(e), -LIM, LIM, limit=400)[0]
    dsig = integrate.quad(lambda e: f(mu + sigma * e) * (e * e - 1) / sigma * phi(e), -LIM, LIM, limit=400)[0]
    return np.array([dmu, dsig])


def reparam_moments(estimator, f, df, mu, sigma, transform=1):
    """(means, variances) over (loc, scale) of score / pathwise / grep for D = 1, by quadrature."""
    def x(e):
        return mu + sigma * e

    if estimator == "score":
        gm = lambda e: f(x(e)) * e / sigma
        gs = lambda e: f(x(e)) * (e * e - 1) / sigma
    elif estimator == "pathwise":
        gm = lambda e: df(x(e))
        gs = lambda e: df(x(e)) * e
    elif estimator == "grep" and transform == 1:
        gm = lambda e: df(x(e))
        gs = lambda e: f(x(e)) * ((sigma * e) ** 2 - sigma**2) / sigma**3
    elif estimator == "grep" and transform == 2:
        gm = lambda e: df(x(e)) * (1 - sigma) + f(x(e)) * e
        gs = lambda e: df(x(e)) * e
    else:
        raise ValueError(estimator)
    (m0, v0), (m1, v1) = _moments_1d(gm), _moments_1d(gs)
    return np.array([m0, m1]), np.array([v0, v1])


def rayleigh(w):
    return w * math.exp(-0.5 * w * w)


def maxwell(m):
    return m * m * phi(m)


def measure_valued_moments(f, mu, sigma):
    """(means, variances) of the coupled measure-valued estimator (D = 1) by quadrature."""
    gm = lambda w: (f(mu + sigma * w) - f(mu - sigma * w)) / (sigma * SQRT_2PI)
    m0, v0 = _moments_1d(gm, 0.0, LIM, rayleigh)

    def gs(u, m):
        return (f(mu + sigma * m) - f(mu + sigma * u * m)) / sigma

    first = integrate.dblquad(lambda u, m: gs(u, m) * maxwell(m), -LIM, LIM, 0.0, 1.0, epsabs=1e-11)[0]
    second = integrate.dblquad(lambda u, m: gs(u, m) ** 2 * maxwell(m), -LIM, LIM, 0.0, 1.0, epsabs=1e-11)[0]
    return np.array([m0, first]), np.array([v0, second - first * first])


def two_pass_variance(chunks) -> tuple[float, float]:
    """Mean and unbiased variance by the corrected two-pass algorithm in extended precision.

    ``chunks`` is a callable returning a fresh iterator over float64 arrays (the data is
    streamed twice).
    """
    n = 0
    total = np.longdouble(0)
    for c in chunks():
        n += c.size
        total += np.sum(c.astype(np.longdouble))
    mean = total / n
    s1 = np.longdouble(0)
    s2 = np.longdouble(0)
    for c in chunks():
        d = c.astype(np.longdouble) - mean
        s1 += np.sum(d)
        s2 += np.sum(d * d)
    var = (s2 - s1 * s1 / n) / (n - 1)
    return float(mean), float(var)


# ---------------------------------------------------------------- Gamma (unit rate)

def gamma_implicit_dz_da(a, u, h=1e-5):
    """dz/da at fixed quantile level u (the implicit-reparameterisation derivative), by central differences
    of scipy's inverse incomplete gamma."""
    from scipy import special

    step = h * max(1.0, a)
    return (special.gammaincinv(a + step, u) - special.gammaincinv(a - step, u)) / (2 * step)


def implicit_identity_moments(a):
    """Mean and variance over z ~ Gamma(a, 1) of dz/da (the implicit estimator for f(z) = z)."""
    first = integrate.quad(lambda u: gamma_implicit_dz_da(a, u), 0, 1, limit=400)[0]
    second = integrate.quad(lambda u: gamma_implicit_dz_da(a, u) ** 2, 0, 1, limit=400)[0]
    return first, second - first * first


def rsvi_identity_moments(a):
    """Mean and variance of rsvi without boosting for f(z) = z, z = h(eps, a), eps ~ pi(eps | a),
    by quadrature over eps (formulas in docs/estimators.md, section Gamma)."""
    from scipy import special

    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    lo = -1.0 / c + 1e-12

    def parts(e):
        v = 1.0 + c * e
        h = d * v**3
        h_a = v * v * (1.0 - c * e / 2.0)
        h_e = math.sqrt(d) * v * v
        log_q = (a - 1.0) * math.log(h) - h - special.gammaln(a)
        density = math.exp(log_q) * h_e
        score = (math.log(h) + (a - 1.0) * h_a / h - h_a - special.digamma(a)) + 1.0 / (2 * d) - 9 * e * c**3 / v
        return h_a + h * score, density

    first = integrate.quad(lambda e: parts(e)[0] * parts(e)[1], lo, 40, limit=400)[0]
    second = integrate.quad(lambda e: parts(e)[0] ** 2 * parts(e)[1], lo, 40, limit=400)[0]
    return first, second - first * first
