"""Beta and Dirichlet estimators against the closed forms in docs/estimators.md (sections Beta, Dirichlet)."""

import numba
import numpy as np
import pytest
from conftest import assert_close_se
from scipy import special

import mcgrad

UNBIASED = ["rsvi", "implicit", "grep", "score"]


def dirichlet_truth(alpha, i, log_of):
    """dE[x_i]/da_j = (delta_ij a0 - a_i)/a0^2; dE[log x_i]/da_j = delta_ij psi1(a_i) - psi1(a0)
    (docs/estimators.md, section Dirichlet)."""
    alpha = np.asarray(alpha, float)
    a0 = alpha.sum()
    delta = np.eye(alpha.size)[i]
    if log_of:
        return delta * special.polygamma(1, alpha[i]) - special.polygamma(1, a0)
    return (delta * a0 - alpha[i]) / a0**2


@pytest.mark.parametrize("alpha", [[0.3, 1.0, 4.0], [2.5, 2.5, 10.0, 0.8]])
@pytest.mark.parametrize("log_of", [False, True])
def test_dirichlet_means(alpha, log_of):
    dist = mcgrad.Dirichlet(alpha)
    for i in (0, len(alpha) - 1):
        f = mcgrad.log_component(i) if log_of else mcgrad.component(i)
        truth = dirichlet_truth(alpha, i, log_of)
        np.testing.assert_allclose(f.exact_gradient(dist), truth, rtol=1e-12, atol=1e-15)
        for name in UNBIASED:
            r = mcgrad.estimate(dist, f, name, 300_000, seed=12)
            assert_close_se(r.mean, truth, r.stderr, what=f"{name} {f.name}")


@pytest.mark.parametrize("a,b", [(0.5, 0.5), (2.0, 0.5), (1.0, 7.0), (30.0, 12.0)])
def test_beta_means(a, b):
    dist = mcgrad.Beta(a, b)
    assert dist.components == ["a", "b"]
    for f, log_of in [(mcgrad.component(0), False), (mcgrad.log_component(0), True)]:
        truth = dirichlet_truth([a, b], 0, log_of)
        for name in UNBIASED:
            r = mcgrad.estimate(dist, f, name, 300_000, seed=13)
            assert_close_se(r.mean, truth, r.stderr, what=f"{name} {f.name}")


def test_rsvi_rep_only_is_biased_on_the_simplex():
    dist = mcgrad.Dirichlet([1.0, 2.0, 3.0])
    r = mcgrad.estimate(dist, mcgrad.log_component(0), "rsvi_rep_only", 500_000, seed=3, boost=0)
    assert r.biased
    assert np.max(np.abs(r.z)) > 10


@numba.njit
def _beta_f(x):
    return x * x


@numba.njit
def _beta_df(x):
    return 2.0 * x


def test_user_function_on_beta_sees_x_only():
    a, b = 2.0, 3.0
    # E[x^2] = a(a+1)/((a+b)(a+b+1)); derivatives by central differences of the closed form
    def second_moment(a, b):
        return a * (a + 1) / ((a + b) * (a + b + 1))

    h = 1e-6
    truth = [(second_moment(a + h, b) - second_moment(a - h, b)) / (2 * h),
             (second_moment(a, b + h) - second_moment(a, b - h)) / (2 * h)]
    obj = mcgrad.user_objective(_beta_f, _beta_df)
    for name in UNBIASED:
        r = mcgrad.estimate(mcgrad.Beta(a, b), obj, name, 300_000, seed=5)
        assert_close_se(r.mean, truth, r.stderr, what=name)


def test_simplex_errors():
    with pytest.raises(ValueError, match="at least 2 components"):
        mcgrad.Dirichlet([1.0])
    with pytest.raises(ValueError, match="concentration must be > 0"):
        mcgrad.Dirichlet([1.0, 0.0])
    with pytest.raises(ValueError, match="a must be > 0"):
        mcgrad.Beta(-1.0, 1.0)
    with pytest.raises(ValueError, match="out of range"):
        mcgrad.estimate(mcgrad.Dirichlet([1.0, 2.0]), mcgrad.component(2), "rsvi", 1000)
    with pytest.raises(ValueError, match="out of range"):
        mcgrad.estimate(mcgrad.Beta(1.0, 2.0), mcgrad.component(1), "rsvi", 1000)
    with pytest.raises(ValueError, match="defined on the simplex"):
        mcgrad.estimate(mcgrad.Gamma(2.0), mcgrad.component(0), "rsvi", 1000)
    with pytest.raises(TypeError, match="non-negative integer"):
        mcgrad.component(-1)
    with pytest.raises(ValueError, match="boost must be >= 1"):
        mcgrad.estimate(mcgrad.Beta(0.5, 2.0), mcgrad.component(0), "rsvi", 1000, boost=0)
