"""StudentT(df, loc, scale) as a Normal-Gamma scale mixture: score, implicit and rsvi against quadrature of the t
density, quadrature over the mixture, and the closed forms of docs/estimators.md (section StudentT)."""

import subprocess
import sys

import numba
import numpy as np
import pytest
import reference
from conftest import assert_close_se, assert_same_up_to_rounding
from scipy import integrate, stats

import mcgrad

N = 1_000_000
COS_K = 1.5


def _cos(x):
    return np.cos(COS_K * x)


def _dcos(x):
    return -COS_K * np.sin(COS_K * x)


def _expected(f, nu, mu, sigma):
    return integrate.quad(lambda x: f(x) * stats.t.pdf(x, nu, loc=mu, scale=sigma), -np.inf, np.inf, limit=400,
                          epsabs=1e-13)[0]


def _gradient_by_differences(f, nu, mu, sigma, h=1e-4):
    point = np.array([nu, mu, sigma])
    out = np.empty(3)
    for i in range(3):
        up, down = point.copy(), point.copy()
        up[i] += h
        down[i] -= h
        out[i] = (_expected(f, *up) - _expected(f, *down)) / (2 * h)
    return out


@pytest.mark.parametrize("nu", [2.5, 12.0])
@pytest.mark.parametrize("name,param,f", [("square", 0.7, lambda x: x * x + 0.7),
                                          ("quadratic", 0.5, lambda x: (x - 0.5) ** 2),
                                          ("linear", -1.3, lambda x: -1.3 * x)])
def test_exact_gradients_of_the_built_ins_are_derivatives_of_quadratures(name, param, f, nu):
    dist = mcgrad.StudentT(nu, 0.4, 1.3)
    exact = mcgrad.estimate(dist, getattr(mcgrad, name)(param), "implicit", 2).exact
    np.testing.assert_allclose(exact, _gradient_by_differences(f, nu, 0.4, 1.3), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("estimator", ["score", "implicit", "rsvi"])
def test_built_ins_without_a_finite_expectation_are_refused(estimator):
    """E x^2 is infinite for df <= 2 and E x undefined for df <= 1: the numbers would mean nothing."""
    with pytest.raises(ValueError, match=r"no finite expectation under StudentT with df = 1.5: E\|x\|\^2 needs df > 2"):
        mcgrad.estimate(mcgrad.StudentT([4.0, 1.5]), "square", estimator, 100)
    with pytest.raises(ValueError, match=r"E\|x\|\^2 needs df > 2"):
        mcgrad.estimate(mcgrad.StudentT(2.0), mcgrad.quadratic(1.0), estimator, 100)
    with pytest.raises(ValueError, match=r"df = 0.8: E\|x\|\^1 needs df > 1"):
        mcgrad.optimise(mcgrad.StudentT(0.8), "linear", estimator, steps=2)
    assert mcgrad.estimate(mcgrad.StudentT(1.5), "linear", estimator, 100).exact is not None
    assert mcgrad.estimate(mcgrad.StudentT(0.1), "cos", estimator, 100).exact is None  # bounded: defined


CASES = [  # (nu, loc, scale, objective, f, f')
    (5.0, 0.3, 1.2, mcgrad.cos(COS_K), _cos, _dcos),
    (12.0, -0.6, 0.8, mcgrad.quadratic(0.5), lambda x: (x - 0.5) ** 2, lambda x: 2 * (x - 0.5)),
]


@pytest.mark.parametrize("case", CASES, ids=["cos-df5", "quadratic-df12"])
def test_score_mean_and_variance_by_quadrature_of_the_density(case):
    nu, mu, sigma, objective, f, _ = case
    mean, var = reference.student_t_score_moments(f, nu, mu, sigma)
    r = mcgrad.estimate(mcgrad.StudentT(nu, mu, sigma), objective, "score", N, seed=21)
    assert r.components == ["df", "loc", "scale"] and not r.biased
    assert_close_se(r.mean, mean, r.stderr, what="score mean")
    assert_close_se(r.var, var, r.var_stderr, what="score var")


@pytest.mark.parametrize("case", CASES, ids=["cos-df5", "quadratic-df12"])
def test_implicit_mean_and_variance_by_quadrature_over_the_mixture(case):
    """The mixture oracle's mean equals the density oracle's gradient (two quadratures that share nothing), and
    the kernel matches both moments."""
    nu, mu, sigma, objective, f, fprime = case
    mean, var = reference.student_t_implicit_moments(fprime, nu, mu, sigma)
    # within 2e-6: the Gauss-Hermite rule under-resolves cos at the rare tiny Gammas (spreads over ~30 scales)
    np.testing.assert_allclose(mean, reference.student_t_score_moments(f, nu, mu, sigma)[0], rtol=1e-6, atol=2e-6)
    r = mcgrad.estimate(mcgrad.StudentT(nu, mu, sigma), objective, "implicit", N, seed=22)
    assert_close_se(r.mean, mean, r.stderr, what="implicit mean")
    assert_close_se(r.var, var, r.var_stderr, what="implicit var")


@pytest.mark.parametrize("boost", [0, 1, 3])
def test_rsvi_is_unbiased_and_shares_the_draws_of_implicit(boost):
    """rsvi differs from implicit only in df's term; loc and scale are the same numbers on one seed."""
    nu, mu, sigma, objective, f, _ = CASES[0]
    exact = reference.student_t_score_moments(f, nu, mu, sigma)[0]
    dist = mcgrad.StudentT(nu, mu, sigma)
    r = mcgrad.estimate(dist, objective, "rsvi", N, seed=23, boost=boost)
    assert_close_se(r.mean, exact, r.stderr, what="rsvi mean")
    implicit = mcgrad.estimate(dist, objective, "implicit", N, seed=23, boost=boost)
    assert r.mean[1:].tolist() == implicit.mean[1:].tolist() and r.var[1:].tolist() == implicit.var[1:].tolist()
    assert r.mean[0] != implicit.mean[0]


@numba.njit
def _coupled(x):
    return x[0] * x[1] + 0.5 * x[1] * x[1]


@numba.njit
def _coupled_grad(x):
    return np.array([x[1], x[0] + x[1]])


@pytest.mark.parametrize("estimator", ["score", "implicit", "rsvi"])
def test_a_user_vector_objective_over_two_coordinates(estimator):
    """f = x0 x1 + x1^2 / 2 on independent coordinates: E f = loc0 loc1 + (loc1^2 + scale1^2 df1 / (df1 - 2)) / 2,
    so dE/ddf1 = -scale1^2 / (df1 - 2)^2."""
    nu, mu, sigma = np.array([9.0, 14.0]), np.array([0.5, -1.0]), np.array([1.1, 0.6])
    exact = np.array([0.0, -sigma[1] ** 2 / (nu[1] - 2) ** 2, mu[1], mu[0] + mu[1], 0.0,
                      sigma[1] * nu[1] / (nu[1] - 2)])
    objective = mcgrad.user_objective(_coupled, _coupled_grad, vector=True, name="coupled")
    r = mcgrad.estimate(mcgrad.StudentT(nu, mu, sigma), objective, estimator, N, seed=24)
    assert r.components == ["df[0]", "df[1]", "loc[0]", "loc[1]", "scale[0]", "scale[1]"]
    assert_close_se(r.mean, exact, r.stderr, what=f"{estimator} mean")


def test_draws_are_student_t():
    """The first component of the linear objective's score, f(x) = x, seen through x itself: the draws' quantiles
    against scipy's t (a Kolmogorov-Smirnov distance far below its 0.1% critical value)."""

    @numba.njit
    def keep(x):
        return x[0]

    samples = []

    def record(x):
        samples.append(np.array(x, copy=True))
        return np.asarray(x)[:, 0]

    objective = mcgrad.batch_objective(record, name="record")
    mcgrad.estimate(mcgrad.StudentT(3.0, 0.5, 2.0), objective, "score", 200_000, seed=25)
    x = np.concatenate([s[:, 0] for s in samples if len(s) > 1])  # not the one-row probe of the function
    assert x.size == 200_000
    assert stats.kstest(x, stats.t(3.0, loc=0.5, scale=2.0).cdf).statistic < 1.95 / np.sqrt(x.size)


@pytest.mark.parametrize("kwargs,match", [
    ({"df": 0.05}, r"df must be in \[0.1, 1e6\]"),
    ({"df": 2e6}, r"df must be in \[0.1, 1e6\]"),
    ({"df": -1.0}, "df must be > 0"),
    ({"df": float("nan")}, "df must be finite"),
    ({"df": 3.0, "scale": 0.0}, "scale must be > 0"),
    ({"df": 3.0, "loc": float("inf")}, "loc must be finite"),
    ({"df": [3.0, 4.0], "loc": [0.0, 1.0, 2.0]}, "same length or be scalars"),
])
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mcgrad.StudentT(**kwargs)


def test_estimators_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="does not apply to the student_t family"):
        mcgrad.estimate(mcgrad.StudentT(3.0), "square", "pathwise", 100)
    with pytest.raises(ValueError, match="objective"):
        mcgrad.estimate(mcgrad.StudentT(3.0), "log", "score", 100)


def test_cli():
    out = subprocess.run([sys.executable, "-m", "mcgrad.cli", "estimate", "--dist", "student_t", "--df", "9",
                          "--loc", "0.5", "--scale", "2", "--objective", "quadratic", "--param", "1", "-n", "100000",
                          "--format", "json", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    import json

    result = json.loads(out.stdout)["results"][0]
    assert result["estimator"] == "implicit[boost=1]"
    assert [c["name"] for c in result["components"]] == ["df", "loc", "scale"]
    assert [c["exact"] for c in result["components"]] == pytest.approx([-8.0 / 49.0, -1.0, 36.0 / 7.0])


@pytest.mark.parametrize("estimator", ["score", "implicit", "rsvi"])
def test_boost_zero_needs_df_of_at_least_two(estimator):
    """Marsaglia-Tsang draws the mixing Gamma(df / 2) and needs shape + boost >= 1."""
    with pytest.raises(ValueError, match=r"boost must be >= 1 when df / 2 is below 1 .* got boost=0 with df / 2 0.75"):
        mcgrad.estimate(mcgrad.StudentT([1.5, 4.0]), "cos", estimator, 100, boost=0)
    with pytest.raises(ValueError, match=r"df\[0\] must be >= 2 \(the floor; boost=0\), got 1.5"):
        mcgrad.optimise(mcgrad.StudentT([1.5, 4.0]), "cos", estimator, steps=2, boost=0)
    assert mcgrad.estimate(mcgrad.StudentT(2.0), "cos", estimator, 100, boost=0).n == 100


@numba.njit
def _user_cos(x):
    return np.cos(COS_K * x)


@numba.njit
def _user_dcos(x):
    return -COS_K * np.sin(COS_K * x)


@pytest.mark.parametrize("df", [0.1, 3.0, 1e6])
@pytest.mark.parametrize("estimator", ["score", "implicit", "rsvi"])
def test_rounds_loop_matches_the_array_loop(df, estimator):
    """D = 1 on a built-in runs the vectorised rounds loop, a user function the per-sample array loop: the same
    draws and formulas, so the same estimates up to rounding (different summation order and logarithms).  A
    stderr-scale difference here would be a wrong term, which the oracle tests could miss at their tolerance."""
    dist = mcgrad.StudentT(df, 0.5, 1.2)
    rounds = mcgrad.estimate(dist, mcgrad.cos(COS_K), estimator, 50_000, 5)
    array = mcgrad.estimate(dist, mcgrad.user_objective(_user_cos, _user_dcos), estimator, 50_000, 5)
    assert_same_up_to_rounding(rounds, array)
