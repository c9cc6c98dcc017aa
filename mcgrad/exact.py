"""Closed-form variances of the Normal estimators for f(x) = x^2 + c (D = 1) (docs/estimators.md, Normal).

Every estimator has mean (2 mu, 2 sigma) there; these are the per-sample variances.
"""

from __future__ import annotations


def normal_square_variance(estimator: str, mu: float, sigma: float, c: float, transform: int = 1):
    """``(Var g_mu, Var g_sigma)`` of ``estimator`` on N(mu, sigma^2) with f = x^2 + c.

    Notes
    -----
    score:    Var_mu = (mu^2+c)^2/sigma^2 + 15 sigma^2 + 14 mu^2 + 6c,
              Var_sigma = 2(mu^2+c)^2/sigma^2 + 60 mu^2 + 74 sigma^2 + 20c
    pathwise: Var_mu = 4 sigma^2,  Var_sigma = 4 mu^2 + 8 sigma^2
    grep 1:   g_mu is pathwise's, g_sigma = f(x)(eps^2 - 1)/sigma is score's
    grep 2:   Var_mu = (mu^2+c)^2 + 2c sigma^2 + 4c sigma + 10 mu^2 sigma^2 + 4 mu^2 sigma
                       + 7 sigma^4 + 4 sigma^3 + 4 sigma^2,
              Var_sigma = 4 mu^2 + 8 sigma^2
    """
    m, s = mu, sigma
    score = ((m * m + c) ** 2 / s**2 + 15 * s**2 + 14 * m**2 + 6 * c,
             2 * (m * m + c) ** 2 / s**2 + 60 * m**2 + 74 * s**2 + 20 * c)
    pathwise = (4 * s**2, 4 * m**2 + 8 * s**2)
    if estimator == "score":
        return score
    if estimator == "pathwise":
        return pathwise
    if estimator == "grep" and transform == 1:
        return pathwise[0], score[1]
    if estimator == "grep" and transform == 2:
        var_mu = ((m * m + c) ** 2 + 2 * c * s**2 + 4 * c * s + 10 * m**2 * s**2 + 4 * m**2 * s
                  + 7 * s**4 + 4 * s**3 + 4 * s**2)
        return var_mu, pathwise[1]
    raise ValueError(f"no closed-form variance for estimator {estimator!r} (transform {transform})")
