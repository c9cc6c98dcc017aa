"""MultivariateNormal(loc, scale_tril): means and variances against quadrature, the closed forms, the diagonal
case against the Normal family on common random numbers, and the errors its parameters raise."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from conftest import assert_close_se
from numpy.polynomial.hermite_e import hermegauss
from scipy import stats

import mcgrad

LOC = np.array([0.4, -0.7])
TRIL = np.array([[0.9, 0.0], [-0.5, 0.7]])
K = 1.5
N = 400_000


def _quadrature_moments(estimator: str, loc, tril, k):
    """Exact (mean, variance) per component of score or pathwise on f = sum_i cos(k x_i), D = 2, by a tensor
    Gauss-Hermite rule over eps.  The score is the gradient of scipy's log-density by central differences
    in each of loc and L's lower entries, so it does not use the kernels' w = L^-T eps form."""
    nodes, weights = hermegauss(60)
    e0, e1 = (a.ravel() for a in np.meshgrid(nodes, nodes, indexing="ij"))
    w = (np.outer(weights, weights) / (2.0 * math.pi)).ravel()
    eps = np.stack([e0, e1])
    x = loc[:, None] + tril @ eps
    f = np.sum(np.cos(k * x), axis=0)
    rows, cols = np.tril_indices(2)
    if estimator == "pathwise":
        df = -k * np.sin(k * x)
        g = np.concatenate([df, df[rows] * eps[cols]])
    else:
        theta = np.concatenate([loc, tril[rows, cols]])

        def logpdf(v):
            lower = np.zeros((2, 2))
            lower[rows, cols] = v[2:]
            return stats.multivariate_normal(v[:2], lower @ lower.T).logpdf(x.T)

        h = 1e-6
        score = np.array([(logpdf(theta + h * e) - logpdf(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
        g = f * score
    mean = g @ w
    return mean, (g * g) @ w - mean * mean


@pytest.mark.parametrize("estimator", ["pathwise", "score"])
def test_mean_and_variance_by_quadrature(estimator):
    mean, var = _quadrature_moments(estimator, LOC, TRIL, K)
    r = mcgrad.estimate(mcgrad.MultivariateNormal(LOC, TRIL), mcgrad.cos(K), estimator, N, seed=3)
    assert r.components == ["loc[0]", "loc[1]", "scale_tril[0,0]", "scale_tril[1,0]", "scale_tril[1,1]"]
    np.testing.assert_allclose(r.exact, mean, rtol=1e-9, atol=1e-12)  # the closed form through the marginals
    assert_close_se(r.mean, mean, r.stderr, what=f"{estimator} mean")
    assert_close_se(r.var, var, r.var_stderr, what=f"{estimator} var")


@pytest.mark.parametrize("name,f,grad", [
    ("square", mcgrad.square(c=0.5), lambda loc, tril: (2 * loc, 2 * tril)),
    ("quadratic", mcgrad.quadratic(k=0.3), lambda loc, tril: (2 * (loc - 0.3), 2 * tril)),
    ("linear", mcgrad.linear(a=1.7), lambda loc, tril: (np.full(loc.size, 1.7), 0 * tril)),
])
def test_exact_gradients_of_the_quadratic_and_linear_built_ins(name, f, grad):
    """E[sum (x_i - k)^2] = |loc - k|^2 + tr(L L^T): d/dloc = 2 (loc - k), d/dL = 2 L; linear: a and 0."""
    loc = np.array([0.3, -1.2, 0.8])
    tril = np.array([[1.1, 0.0, 0.0], [0.4, 0.6, 0.0], [-0.2, 0.9, 0.5]])
    d_loc, d_tril = grad(loc, tril)
    r = mcgrad.estimate(mcgrad.MultivariateNormal(loc, tril), f, "pathwise", N // 4, seed=4)
    np.testing.assert_allclose(r.exact, np.concatenate([d_loc, d_tril[np.tril_indices(3)]]), rtol=1e-12, atol=1e-15)
    assert_close_se(r.mean, r.exact, r.stderr, what=f"pathwise on {name}")


@pytest.mark.parametrize("estimator", ["pathwise", "score"])
def test_a_diagonal_factor_is_the_normal_family_on_the_same_draws(estimator):
    """With L = diag(scale) the draws are the Normal's eps (D normals per sample, in order), so loc and the
    diagonal entries carry the Normal's per-sample gradients: the same means and variances up to the order of
    summation."""
    loc, scale = np.array([0.5, -0.3, 1.0]), np.array([0.8, 1.3, 0.6])
    mvn = mcgrad.estimate(mcgrad.MultivariateNormal(loc, np.diag(scale)), mcgrad.cos(K), estimator, 10**5, seed=5)
    normal = mcgrad.estimate(mcgrad.Normal(loc, scale), mcgrad.cos(K), estimator, 10**5, seed=5)
    diagonal = np.concatenate([np.arange(3), 3 + np.array([0, 2, 5])])
    np.testing.assert_allclose(mvn.mean[diagonal], normal.mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mvn.var[diagonal], normal.var, rtol=1e-9)


def test_variance_reduced_estimators_are_unbiased_and_reduce_variance():
    dist = mcgrad.MultivariateNormal(LOC, TRIL)
    score = mcgrad.estimate(dist, mcgrad.cos(K), "score", N // 4, seed=6)
    for name, opts in [("score_baseline", {}), ("rloo", {"samples": 4})]:
        r = mcgrad.estimate(dist, mcgrad.cos(K), name, N // 4, seed=6, **opts)
        assert_close_se(r.mean, r.exact, r.stderr, what=name)
        assert np.all(r.var < score.var), name


def test_user_vector_objective():
    @numba.njit
    def coupled(x):
        return x[0] * x[1] + x[0] ** 2

    @numba.njit
    def coupled_grad(x):
        return np.array([x[1] + 2 * x[0], x[0]])

    f = mcgrad.user_objective(coupled, coupled_grad, vector=True)
    dist = mcgrad.MultivariateNormal(LOC, TRIL)
    # E f = mu0 mu1 + S01 + mu0^2 + S00 with S = L L^T: S01 = L00 L10, S00 = L00^2
    (m0, m1), (l00, l10, _) = LOC, TRIL[np.tril_indices(2)]
    exact = np.array([m1 + 2 * m0, m0, l10 + 2 * l00, l00, 0.0])
    for estimator in ("pathwise", "score"):
        r = mcgrad.estimate(dist, f, estimator, N // 4, seed=7)
        assert_close_se(r.mean, exact, r.stderr, what=estimator)


def test_expected_loss_along_an_sgd_run():
    dist = mcgrad.MultivariateNormal(LOC, TRIL)
    tr = mcgrad.optimise(dist, mcgrad.square(c=1.0), "pathwise", steps=20, samples=8, learning_rate=0.05)
    loc, packed = tr.parameters[:, :2], tr.parameters[:, 2:]
    expected = np.sum(loc**2, axis=1) + np.sum(packed**2, axis=1) + 1.0  # |loc|^2 + tr(L L^T) + c
    np.testing.assert_allclose(tr.expected_loss, expected, rtol=1e-12)
    assert tr.expected_loss[-1] < tr.expected_loss[0]


@pytest.mark.parametrize("loc,tril,match", [
    ([0.0, 1.0], [[1.0, 0.5], [0.0, 1.0]], "lower triangular"),
    ([0.0, 1.0], [[1.0, 0.0], [0.5, 0.0]], "diagonal must be > 0"),
    ([0.0, 1.0], [[1.0, 0.0], [0.5, -1.0]], "diagonal must be > 0"),
    ([0.0, 1.0], [[1.0, 0.0], [np.nan, 1.0]], "finite"),
    ([0.0, 1.0], [[1.0, 0.0, 0.0], [0.5, 1.0, 0.0]], "D x D"),
    ([0.0, 1.0, 2.0], np.eye(2), "D = len\\(loc\\) = 3"),
    ([0.0, np.inf], np.eye(2), "loc"),
    ([0.0, 1.0], "eye", "D x D matrix of finite reals"),
    (np.zeros(65), np.eye(65), "D <= 64"),
])
def test_bad_parameters_are_refused(loc, tril, match):
    with pytest.raises(ValueError, match=match):
        mcgrad.MultivariateNormal(loc, tril)


def test_estimators_that_do_not_fit_are_refused():
    dist = mcgrad.MultivariateNormal(LOC, TRIL)
    with pytest.raises(ValueError, match="does not apply to the multivariate_normal family"):
        mcgrad.estimate(dist, mcgrad.cos(K), "grep", 1000)
    with pytest.raises(ValueError, match="needs positive x"):
        mcgrad.estimate(dist, mcgrad.log(), "pathwise", 1000)
