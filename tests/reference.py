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


# ---------------------------------------------------------------- Student-t as a Normal-Gamma mixture

def _t_logpdf(x, nu, mu, sigma):
    """log of Gamma((nu+1)/2) / (Gamma(nu/2) sqrt(nu pi) sigma) (1 + z^2/nu)^(-(nu+1)/2), z = (x - mu)/sigma."""
    from scipy import special

    z = (x - mu) / sigma
    return (special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(sigma)
            - (nu + 1) / 2 * np.log1p(z * z / nu))


def student_t_score(x, nu, mu, sigma, h=1e-6):
    """grad_(df, loc, scale) log p(x) (rows) by central differences of the Student-t log-density."""
    point = np.array([nu, mu, sigma], float)
    out = []
    for i in range(3):
        step = h * max(1.0, abs(point[i]))
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        out.append((_t_logpdf(x, *up) - _t_logpdf(x, *down)) / (2 * step))
    return np.array(out)


def student_t_score_moments(f, nu, mu, sigma):
    """Mean and variance of the score estimator f(x) grad log p(x) (components df, loc, scale) by quadrature over
    x against the t density."""
    mean, var = np.empty(3), np.empty(3)
    for i in range(3):
        def weighted(x, power, i=i):
            return (f(x) * student_t_score(x, nu, mu, sigma)[i]) ** power * np.exp(_t_logpdf(x, nu, mu, sigma))

        first = integrate.quad(weighted, -np.inf, np.inf, args=(1,), limit=400, epsabs=1e-12)[0]
        second = integrate.quad(weighted, -np.inf, np.inf, args=(2,), limit=400, epsabs=1e-12)[0]
        mean[i], var[i] = first, second - first * first
    return mean, var


def student_t_implicit_moments(fprime, nu, mu, sigma, nodes=300):
    """Mean and variance of the mixture's implicit estimator (components df, loc, scale): with gamma the mixing
    Gamma(nu/2, 1) at quantile level u, y = eps sqrt(nu / (2 gamma)), x = mu + sigma y,
    g = f'(x) (dx/ddf, 1, y), dx/ddf = sigma y (1/(2 nu) - (dgamma/da) / (4 gamma)) with dgamma/da at fixed u
    by central differences of scipy's inverse incomplete gamma; Gauss-Hermite over eps inside quadrature over u."""
    from numpy.polynomial.hermite_e import hermegauss
    from scipy import special

    eps, weights = hermegauss(nodes)
    weights = weights / math.sqrt(2.0 * math.pi)
    a = nu / 2.0

    def per_level(u):
        gamma = special.gammaincinv(a, u)
        y = eps * math.sqrt(nu / (2.0 * gamma))
        dfx = fprime(mu + sigma * y)
        dx_ddf = sigma * y * (0.5 / nu - 0.25 * gamma_implicit_dz_da(a, u) / gamma)
        return np.stack([dfx * dx_ddf, dfx, dfx * y])

    def over_levels(power, i):  # u = v^4 takes the singularity of y^2 ~ u^(-2/nu) at u = 0 away
        return integrate.quad(lambda v: 4 * v**3 * (per_level(v**4)[i] ** power @ weights), 0, 1, limit=1000,
                              epsabs=1e-10)[0]

    mean = np.array([over_levels(1, i) for i in range(3)])
    second = np.array([over_levels(2, i) for i in range(3)])
    return mean, second - mean * mean
