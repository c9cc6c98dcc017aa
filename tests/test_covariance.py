"""The streamed covariance of the gradient's components, and the standard error of its trace.

Oracles: closed forms and quadrature on the Normal and the Gamma, exact enumeration on Bernoulli and
Categorical.  Every kernel path that writes pair rows is covered: the D = 1 rounds (Normal, Gamma),
the scalar D = 1 loop (a user objective), the general per-sample loops (Normal D = 2, Bernoulli, Dirichlet),
the Categorical lanes, the variance-reduced score kernel and the exact estimator.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import assert_close_se
from reference import LIM, phi
from scipy import integrate, special, stats

import mcgrad

N = 400_000


def _cov_se(r):
    """Standard errors of the covariance entries from the run's own fourth moments: sqrt((E y_i^2 y_j^2 - cov^2) / n)
    (on the diagonal, ``var_stderr``)."""
    _, fourth = r._pair_moments()
    return np.sqrt(np.maximum(fourth / r.n - r.covariance**2, 0.0) / r.n)


def _check(r, exact_cov):
    assert r.covariance.shape == exact_cov.shape
    np.testing.assert_array_equal(np.diag(r.covariance), r.var)
    np.testing.assert_array_equal(r.covariance, r.covariance.T)
    assert_close_se(r.covariance, exact_cov, _cov_se(r), what="covariance")


def _normal_moments(g0, g1):
    """Covariance matrix of (g0(eps), g1(eps)) over eps ~ N(0, 1), by quadrature."""
    def e(h):
        return integrate.quad(lambda x: h(x) * phi(x), -LIM, LIM, epsabs=1e-12, epsrel=1e-11, limit=400)[0]
    m0, m1 = e(g0), e(g1)
    c01 = e(lambda x: g0(x) * g1(x)) - m0 * m1
    return np.array([[e(lambda x: g0(x) ** 2) - m0 * m0, c01], [c01, e(lambda x: g1(x) ** 2) - m1 * m1]])


def test_normal_pathwise_rounds_against_the_closed_form():
    mu, sigma = 0.7, 1.3
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), "square", "pathwise", n=N, seed=1, covariance=True)
    # g = (2x, 2x eps): var (4 sigma^2, 4 (mu^2 + 2 sigma^2)), covariance 4 mu sigma
    exact = np.array([[4 * sigma**2, 4 * mu * sigma], [4 * mu * sigma, 4 * (mu**2 + 2 * sigma**2)]])
    _check(r, exact)
    assert r.correlation[0, 1] == pytest.approx(r.covariance[0, 1] / math.sqrt(r.var[0] * r.var[1]), rel=1e-12)


@pytest.mark.parametrize("user", [False, True])
def test_normal_score_against_quadrature(user):
    mu, sigma = 0.4, 0.9
    f = mcgrad.square()
    if user:  # the scalar D = 1 loop: a user objective
        import numba

        @numba.njit
        def value(x):
            return x * x

        @numba.njit
        def derivative(x):
            return 2.0 * x

        f = mcgrad.user_objective(value, derivative)
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), f, "score", n=N, seed=2, covariance=True)
    x = lambda e: mu + sigma * e  # noqa: E731
    exact = _normal_moments(lambda e: x(e) ** 2 * e / sigma, lambda e: x(e) ** 2 * (e * e - 1) / sigma)
    _check(r, exact)
    # the trace's standard error against Var(||g - E g||^2) / n by quadrature
    m = [integrate.quad(lambda e, g=g: g(e) * phi(e), -LIM, LIM, limit=400)[0]
         for g in (lambda e: x(e) ** 2 * e / sigma, lambda e: x(e) ** 2 * (e * e - 1) / sigma)]
    q = lambda e: (x(e) ** 2 * e / sigma - m[0]) ** 2 + (x(e) ** 2 * (e * e - 1) / sigma - m[1]) ** 2  # noqa: E731
    eq = integrate.quad(lambda e: q(e) * phi(e), -LIM, LIM, limit=400)[0]
    eq2 = integrate.quad(lambda e: q(e) ** 2 * phi(e), -LIM, LIM, limit=400)[0]
    assert r.trace_stderr == pytest.approx(math.sqrt((eq2 - eq**2) / r.n), rel=0.15)
    assert_close_se(r.trace, np.trace(exact), r.trace_stderr, what="trace")


def test_one_component_covariance_is_the_variance_without_asking():
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=0.3), mcgrad.toy(0.45), "arm", n=50_000, seed=3)
    np.testing.assert_array_equal(r.covariance, [[r.var[0]]])
    assert r.trace_stderr == r.var_stderr[0]


def test_several_components_need_covariance_true():
    r = mcgrad.estimate(mcgrad.Normal(0.5, 1.0), "square", "pathwise", n=10_000)
    assert r.covariance is None and r.correlation is None and r.trace_stderr is None
    assert r.to_dict()["covariance"] is None
    with pytest.raises(TypeError, match="covariance must be True or False"):
        mcgrad.estimate(mcgrad.Normal(0.5, 1.0), "square", "pathwise", n=10_000, covariance="yes")


def test_normal_d2_general_loop():
    mu, sigma = np.array([0.7, -0.3]), np.array([1.3, 0.6])
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), "square", "pathwise", n=N, seed=4, covariance=True)
    exact = np.zeros((4, 4))  # components loc0, loc1, scale0, scale1; coordinates independent
    for d in range(2):
        exact[d, d] = 4 * sigma[d] ** 2
        exact[2 + d, 2 + d] = 4 * (mu[d] ** 2 + 2 * sigma[d] ** 2)
        exact[d, 2 + d] = exact[2 + d, d] = 4 * mu[d] * sigma[d]
    _check(r, exact)


def test_gamma_score_rounds_against_quadrature():
    alpha, beta = 2.5, 2.0
    r = mcgrad.estimate(mcgrad.Gamma(alpha, beta), "square", "score", n=N, seed=5, covariance=True)
    density = stats.gamma(alpha, scale=1 / beta).pdf
    g0 = lambda z: z * z * (math.log(beta) + math.log(z) - special.digamma(alpha))  # noqa: E731
    g1 = lambda z: z * z * (alpha / beta - z)  # noqa: E731

    def e(h):
        return integrate.quad(lambda z: h(z) * density(z), 0, 60, limit=400)[0]

    m0, m1 = e(g0), e(g1)
    c = e(lambda z: g0(z) * g1(z)) - m0 * m1
    exact = np.array([[e(lambda z: g0(z) ** 2) - m0**2, c], [c, e(lambda z: g1(z) ** 2) - m1**2]])
    _check(r, exact)


def _enumerate_cov(outcomes):
    """Covariance of a gradient given as [(probability, vector)] over a finite support."""
    p = np.array([w for w, _ in outcomes])
    g = np.array([v for _, v in outcomes])
    mean = p @ g
    return (g - mean).T @ ((g - mean) * p[:, None])


def _toy(x, t=0.45):
    return float(np.sum((np.asarray(x, float) - t) ** 2))


def test_bernoulli_score_general_loop_and_variance_reduced_by_enumeration():
    logits = np.array([0.2, -0.4, 1.1])
    theta = special.expit(logits)
    outcomes = list(itertools.product([0, 1], repeat=3))

    def prob(b):
        return float(np.prod(np.where(np.array(b) == 1, theta, 1 - theta)))

    r = mcgrad.estimate(mcgrad.Bernoulli(logits=logits), mcgrad.toy(0.45), "score", n=N, seed=6, covariance=True)
    _check(r, _enumerate_cov([(prob(b), _toy(b) * (np.array(b) - theta)) for b in outcomes]))
    # score with the fitted baseline: g_d = (f(b) - baseline_d) (b_d - theta_d)
    vr = mcgrad.estimate(mcgrad.Bernoulli(logits=logits), mcgrad.toy(0.45), "score_baseline", n=N, seed=6,
                         covariance=True)
    assert np.all(vr.fitted["coefficient"] == 0.0)
    base = vr.fitted["baseline"]
    _check(vr, _enumerate_cov([(prob(b), (_toy(b) - base) * (np.array(b) - theta)) for b in outcomes]))
    plain = mcgrad.estimate(mcgrad.Bernoulli(logits=logits), mcgrad.toy(0.45), "score_baseline", n=N, seed=6)
    np.testing.assert_array_equal(plain.var, vr.var)
    np.testing.assert_array_equal(plain.variance_reduction, vr.variance_reduction)


def test_categorical_lanes_by_enumeration():
    logits = np.array([0.2, -0.4, 1.0])
    theta = special.softmax(logits)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), mcgrad.toy(0.45), "score", n=N, seed=7, covariance=True)
    outcomes = []
    for k in range(3):
        onehot = np.eye(3)[k]
        outcomes.append((theta[k], _toy(onehot) * (onehot - theta)))
    _check(r, _enumerate_cov(outcomes))


def test_exact_estimator_has_zero_covariance():
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=[0.3, 0.1]), mcgrad.toy(0.45), "exact", n=1000, covariance=True)
    np.testing.assert_array_equal(r.covariance, np.zeros((2, 2)))
    assert r.trace_stderr == 0.0


def test_covariance_is_reproducible_and_mergeable(tmp_path):
    dist, f = mcgrad.Dirichlet([2.5, 1.0, 3.0]), mcgrad.component(0)
    kw = dict(n=300_000, seed=8, block_size=20_000, covariance=True)
    whole = mcgrad.estimate(dist, f, "rsvi", threads=1, **kw)
    two = mcgrad.estimate(dist, f, "rsvi", threads=2, **kw)
    np.testing.assert_array_equal(whole.covariance, two.covariance)
    left = mcgrad.estimate(dist, f, "rsvi", blocks=(0, 6), **kw)
    right = mcgrad.estimate(dist, f, "rsvi", blocks=(6, 15), **kw)
    merged = left.merge(right)
    np.testing.assert_array_equal(merged.covariance, whole.covariance)
    assert merged.trace_stderr == whole.trace_stderr
    whole.save(tmp_path / "r.npz")
    loaded = mcgrad.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(loaded.covariance, whole.covariance)
    # a checkpoint of a run without the covariance is refused by one with it
    path = tmp_path / "ck.npz"
    mcgrad.estimate(dist, f, "rsvi", n=40_000, seed=8, checkpoint=path)
    with pytest.raises(ValueError, match="covariance"):
        mcgrad.estimate(dist, f, "rsvi", n=40_000, seed=8, checkpoint=path, covariance=True)


def test_results_with_and_without_the_covariance_do_not_merge():
    dist, kw = mcgrad.Normal(0.5, 1.0), dict(n=20_000, block_size=10_000)
    left = mcgrad.estimate(dist, "square", "pathwise", blocks=(0, 1), covariance=True, **kw)
    right = mcgrad.estimate(dist, "square", "pathwise", blocks=(1, 2), **kw)
    with pytest.raises(ValueError, match="this one streamed the covariance"):
        left.merge(right)
    with pytest.raises(ValueError, match="the other streamed the covariance"):
        right.merge(left)  # (not adjacent either; the covariance is named first)
