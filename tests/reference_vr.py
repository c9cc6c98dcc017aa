"""Oracles for the variance-reduced score estimators: quadrature (Normal, Gamma) and enumeration (discrete).

Everything here is written from the formulas, one sample or outcome at a time, independently of the kernels.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from reference import _moments_1d
from scipy import integrate, special, stats


def normal_terms(f, mu, sigma, baseline, beta=(0.0, 0.0), taylor=None):
    """Per-sample (loc, scale) functions of eps for g_j = (f - b_j) s_j - beta_j (h s_j - m_j), D = 1.

    ``taylor = (f0, f1, f2)`` gives h(x) = f0 + f1 (x - mu) + f2 (x - mu)^2 / 2, with m = (f1, f2 sigma).
    """
    f0, f1, f2 = taylor if taylor is not None else (0.0, 0.0, 0.0)
    m = (f1, f2 * sigma)

    def h(e):
        d = sigma * e
        return f0 + f1 * d + 0.5 * f2 * d * d

    scores = (lambda e: e / sigma, lambda e: (e * e - 1.0) / sigma)
    return [
        (lambda e, j=j: (f(mu + sigma * e) - baseline[j]) * scores[j](e) - beta[j] * (h(e) * scores[j](e) - m[j]))
        for j in range(2)
    ]


def normal_moments(f, mu, sigma, baseline, beta=(0.0, 0.0), taylor=None):
    """(means, variances) of the reduced Normal score estimator over (loc, scale), by quadrature."""
    out = [_moments_1d(g) for g in normal_terms(f, mu, sigma, baseline, beta, taylor)]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def normal_optimal_baseline(f, mu, sigma):
    """b*_j = E[f s_j^2] / E[s_j^2] by quadrature."""
    plain = normal_moments(f, mu, sigma, (0.0, 0.0))
    weights = [lambda e: (e / sigma) ** 2, lambda e: ((e * e - 1.0) / sigma) ** 2]
    out = []
    for w in weights:
        num = _moments_1d(lambda e, w=w: f(mu + sigma * e) * w(e))[0]
        den = _moments_1d(w)[0]
        out.append(num / den)
    return np.array(out), plain


def gamma_moments(f, alpha, rate, baseline):
    """(means, variances) over (concentration, rate) of (f(z) - b_j) s_j, z ~ Gamma(alpha, rate)."""
    dist = stats.gamma(alpha, scale=1.0 / rate)
    lo, hi = dist.ppf(1e-15), dist.ppf(1.0 - 1e-15)
    psi = special.digamma(alpha)
    scores = (lambda z: math.log(rate * z) - psi, lambda z: alpha / rate - z)
    means, variances = [], []
    for j in range(2):
        def g(z, j=j):
            return (f(z) - baseline[j]) * scores[j](z)

        mean = integrate.quad(lambda z: g(z) * dist.pdf(z), lo, hi, limit=400, epsrel=1e-12)[0]
        second = integrate.quad(lambda z: g(z) ** 2 * dist.pdf(z), lo, hi, limit=400, epsrel=1e-12)[0]
        means.append(mean)
        variances.append(second - mean * mean)
    return np.array(means), np.array(variances)


def _outcomes(logits, categorical):
    """(probability, x, score w.r.t. logits) of every outcome of D Bernoullis or D categoricals."""
    if not categorical:
        theta = special.expit(np.atleast_1d(np.asarray(logits, float)))
        for bits in itertools.product((0.0, 1.0), repeat=theta.size):
            b = np.array(bits)
            yield float(np.prod(np.where(b == 1.0, theta, 1.0 - theta))), b, b - theta
        return
    logits = np.atleast_2d(np.asarray(logits, float))
    dim, classes = logits.shape
    theta = np.exp(special.log_softmax(logits, axis=1))
    for ks in itertools.product(range(classes), repeat=dim):
        onehot = np.zeros((dim, classes))
        onehot[np.arange(dim), ks] = 1.0
        yield float(np.prod(theta[np.arange(dim), ks])), onehot.ravel(), (onehot - theta).ravel()


def rloo_moments(logits, f, group, categorical=False):
    """Means and variances of RLOO over ``group`` draws and of plain score averaged over the same draws.

    Enumerates every ``group``-tuple of outcomes; returns ``(mean, var, plain_var)`` per component.
    """
    outcomes = list(_outcomes(logits, categorical))
    width = outcomes[0][2].size
    mean, second, plain_mean, plain_second = (np.zeros(width) for _ in range(4))
    for tup in itertools.product(outcomes, repeat=group):
        p = math.prod(o[0] for o in tup)
        fs = np.array([f(o[1]) for o in tup])
        scores = np.array([o[2] for o in tup])
        fbar = fs.mean()
        g = ((fs - fbar)[:, None] * scores).sum(axis=0) / (group - 1)
        plain = (fs[:, None] * scores).mean(axis=0)
        mean += p * g
        second += p * g * g
        plain_mean += p * plain
        plain_second += p * plain * plain
    return mean, second - mean**2, plain_second - plain_mean**2


def discrete_baseline_moments(logits, f, baseline, categorical=False):
    """Means and variances of (f - b_j) s_j, and b*_j = E[f s_j^2] / E[s_j^2], by enumeration."""
    outcomes = list(_outcomes(logits, categorical))
    width = outcomes[0][2].size
    mean, second, num, den = (np.zeros(width) for _ in range(4))
    for p, x, s in outcomes:
        g = (f(x) - baseline) * s
        mean += p * g
        second += p * g * g
        num += p * f(x) * s * s
        den += p * s * s
    return mean, second - mean**2, num / den
