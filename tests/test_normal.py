"""Normal estimators against closed forms (docs/estimators.md, section Normal) and quadrature, with
5-standard-error tolerances."""

import math

import numba
import numpy as np
import pytest
from conftest import assert_close_se, assert_same_up_to_rounding
from reference import exact_gradient, measure_valued_moments, reparam_moments

import mcgrad

N = 2_000_000
POINTS = [(1.0, 1.0, 0.0), (2.0, 0.5, 1.0), (-0.5, 2.0, 3.0), (0.3, 0.2, -1.0)]


def closed_form_variance(estimator, mu, s, c, transform):
    """The closed forms of docs/estimators.md (section Normal), typed in independently of mcgrad.families.normal."""
    score = ((mu**2 + c) ** 2 / s**2 + 15 * s**2 + 14 * mu**2 + 6 * c,
             2 * (mu**2 + c) ** 2 / s**2 + 60 * mu**2 + 74 * s**2 + 20 * c)
    path = (4 * s**2, 4 * mu**2 + 8 * s**2)
    grep2_mu = ((mu**2 + c) ** 2 + 2 * c * s**2 + 4 * c * s + 10 * mu**2 * s**2 + 4 * mu**2 * s
                + 7 * s**4 + 4 * s**3 + 4 * s**2)
    return {"score": score, "pathwise": path, "grep1": (path[0], score[1]), "grep2": (grep2_mu, path[1])}[
        estimator if estimator != "grep" else f"grep{transform}"]


@pytest.mark.parametrize("mu,sigma,c", POINTS)
@pytest.mark.parametrize("estimator,transform", [("score", 1), ("pathwise", 1), ("grep", 1), ("grep", 2)])
def test_square_mean_and_variance_exact(mu, sigma, c, estimator, transform):
    opts = {"transform": transform} if estimator == "grep" else {}
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), mcgrad.square(c), estimator, N, seed=11, **opts)
    assert_close_se(r.mean, [2 * mu, 2 * sigma], r.stderr, what="mean")
    assert_close_se(r.var, closed_form_variance(estimator, mu, sigma, c, transform), r.var_stderr, what="variance")
    np.testing.assert_allclose(r.exact, [2 * mu, 2 * sigma])
    from mcgrad.families.normal import square_variance as normal_square_variance
    np.testing.assert_allclose(normal_square_variance(estimator, mu, sigma, c, transform),
                               closed_form_variance(estimator, mu, sigma, c, transform), rtol=1e-12)


def test_quadratic_variance_table():
    # N(1, 1), f = (x - k)^2: per-sample variances (loc / scale) from docs/estimators.md, section Normal.
    for k, score, path in [(0.0, (30, 136), (4, 12)), (3.0, (87, 346), (4, 24))]:
        for name, expected in [("score", score), ("pathwise", path)]:
            r = mcgrad.estimate(mcgrad.Normal(1.0, 1.0), mcgrad.quadratic(k), name, N, seed=3)
            assert_close_se(r.var, expected, r.var_stderr, what=f"{name} k={k}")


OBJECTIVES = [
    (mcgrad.cos(2.0), lambda x: math.cos(2 * x), lambda x: -2 * math.sin(2 * x)),
    (mcgrad.gaussian_bump(0.7), lambda x: math.exp(-0.7 * x * x), lambda x: -1.4 * x * math.exp(-0.7 * x * x)),
    (mcgrad.quadratic(3.0), lambda x: (x - 3) ** 2, lambda x: 2 * (x - 3)),
    (mcgrad.linear(-1.5), lambda x: -1.5 * x, lambda x: -1.5),
]


@pytest.mark.parametrize("objective,f,df", OBJECTIVES, ids=lambda o: getattr(o, "name", ""))
@pytest.mark.parametrize("mu,sigma", [(0.4, 0.8), (-1.0, 1.5)])
def test_builtins_against_quadrature(objective, f, df, mu, sigma):
    truth = exact_gradient(f, mu, sigma)
    np.testing.assert_allclose(objective.exact_gradient(mcgrad.Normal(mu, sigma)), truth, atol=1e-9)
    for estimator, transform in [("score", 1), ("pathwise", 1), ("grep", 1), ("grep", 2)]:
        opts = {"transform": transform} if estimator == "grep" else {}
        r = mcgrad.estimate(mcgrad.Normal(mu, sigma), objective, estimator, N, seed=5, **opts)
        means, variances = reparam_moments(estimator, f, df, mu, sigma, transform)
        np.testing.assert_allclose(means, truth, atol=1e-8)
        ok_var = variances > 0
        assert_close_se(r.mean, truth, r.stderr, what=f"{estimator} mean")
        assert_close_se(r.var[ok_var], variances[ok_var], r.var_stderr[ok_var], what=f"{estimator} var")


@pytest.mark.parametrize("objective,f", [(mcgrad.square(1.0), lambda x: x * x + 1.0),
                                         (mcgrad.cos(1.5), lambda x: math.cos(1.5 * x))])
def test_measure_valued_against_quadrature(objective, f):
    mu, sigma = 0.5, 1.3
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), objective, "measure_valued", 1_000_000, seed=8)
    means, variances = measure_valued_moments(f, mu, sigma)
    np.testing.assert_allclose(means, exact_gradient(f, mu, sigma), atol=1e-7)
    assert_close_se(r.mean, means, r.stderr, what="mean")
    assert_close_se(r.var, variances, r.var_stderr, what="var")


def test_diagonal_normal_components():
    loc, scale = np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, 2.0])
    dist = mcgrad.Normal(loc, scale)
    assert dist.components == ["loc[0]", "loc[1]", "loc[2]", "scale[0]", "scale[1]", "scale[2]"]
    c = 1.0
    for estimator in ["score", "pathwise", "grep", "measure_valued"]:
        r = mcgrad.estimate(dist, mcgrad.square(c), estimator, 1_000_000, seed=2)
        assert_close_se(r.mean, np.concatenate([2 * loc, 2 * scale]), r.stderr, what=estimator)
    # pathwise variances are per-coordinate: 4 sigma^2 and 4 mu^2 + 8 sigma^2
    r = mcgrad.estimate(dist, "square", "pathwise", 1_000_000, seed=2)
    assert_close_se(r.var, np.concatenate([4 * scale**2, 4 * loc**2 + 8 * scale**2]), r.var_stderr)
    # score's loc variance in D dims: E[f^2 e^2]/s^2 - (2 mu)^2, with f summed over all coordinates
    r = mcgrad.estimate(dist, mcgrad.square(c), "score", 2_000_000, seed=4)
    rng = np.random.default_rng(0)
    e = rng.standard_normal((4_000_000, 3))
    fx = ((loc + scale * e) ** 2).sum(axis=1) + c
    approx = (fx[:, None] * e / scale).var(axis=0)
    np.testing.assert_allclose(r.var[:3], approx, rtol=0.05)


@numba.njit
def _cubic(x):
    return x**3 - x


@numba.njit
def _cubic_d(x):
    return 3 * x**2 - 1


@numba.njit
def _vec_f(x):
    return np.sin(x[0]) * x[1]


@numba.njit
def _vec_grad(x):
    return np.array([np.cos(x[0]) * x[1], np.sin(x[0])])


def test_user_scalar_objective_against_quadrature():
    obj = mcgrad.user_objective(_cubic, _cubic_d, name="cubic")
    mu, sigma = 0.3, 0.9
    truth = exact_gradient(lambda x: x**3 - x, mu, sigma)
    np.testing.assert_allclose(truth, [3 * (mu**2 + sigma**2) - 1, 6 * mu * sigma], atol=1e-9)
    for estimator in ["score", "pathwise", "grep", "measure_valued"]:
        r = mcgrad.estimate(mcgrad.Normal(mu, sigma), obj, estimator, 1_000_000, seed=9)
        assert_close_se(r.mean, truth, r.stderr, what=estimator)
    means, variances = reparam_moments("pathwise", lambda x: x**3 - x, lambda x: 3 * x * x - 1, mu, sigma)
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), obj, "pathwise", 1_000_000, seed=9)
    assert_close_se(r.var, variances, r.var_stderr)


def test_user_vector_objective():
    # E[sin(x0) x1] = sin-term * mu1 with E sin(x0) = sin(mu0) exp(-s0^2/2)
    loc, scale = np.array([0.4, 1.2]), np.array([0.7, 0.5])
    obj = mcgrad.user_objective(_vec_f, _vec_grad, vector=True)
    damp = math.exp(-scale[0] ** 2 / 2)
    truth = [math.cos(loc[0]) * damp * loc[1], math.sin(loc[0]) * damp,
             -scale[0] * math.sin(loc[0]) * damp * loc[1], 0.0]
    for estimator in ["score", "pathwise", "measure_valued"]:
        r = mcgrad.estimate(mcgrad.Normal(loc, scale), obj, estimator, 1_000_000, seed=1)
        assert_close_se(r.mean, truth, r.stderr, what=estimator)


def test_compare_table_columns_and_common_random_numbers():
    frame = mcgrad.compare(mcgrad.Normal(1.0, 1.0), mcgrad.square(), ["score", "pathwise", ("grep", {"transform": 2})],
                           n=200_000, seed=3)
    assert list(frame.columns[:9]) == ["estimator", "component", "mean", "stderr", "var", "var_stderr", "exact", "bias",
                                      "z"]
    assert len(frame) == 6
    # at sigma = 1, grep transform 2's loc term f'(x)(1 - sigma) + f(x) e equals score's f(x) e / sigma
    # sample by sample, so on common random numbers the two rows agree to rounding
    score = frame[(frame.estimator == "score") & (frame.component == "loc")].iloc[0]
    grep2 = frame[(frame.estimator == "grep[transform=2]") & (frame.component == "loc")].iloc[0]
    assert score["mean"] == pytest.approx(grep2["mean"], rel=1e-12)
    assert np.all(np.abs(frame.z) < 5)


@numba.njit
def _vec_sq(x):
    return (x * x).sum()


@numba.njit
def _vec_sq_grad(x):
    return 2.0 * x


def test_user_vector_objective_in_one_dimension():
    obj = mcgrad.user_objective(_vec_sq, _vec_sq_grad, vector=True)
    for estimator in ["score", "pathwise", "grep", "measure_valued"]:
        r = mcgrad.estimate(mcgrad.Normal(0.7, 1.2), obj, estimator, 500_000, seed=6)
        assert_close_se(r.mean, [1.4, 2.4], r.stderr, what=estimator)


@numba.njit
def _user_cos3(x):
    return np.cos(3.0 * x)


@numba.njit
def _user_dcos3(x):
    return -3.0 * np.sin(3.0 * x)


@pytest.mark.parametrize("loc", [0.4, 4e4])
@pytest.mark.parametrize("estimator", ["score", "pathwise", "grep"])
def test_rounds_loop_on_cos_matches_the_scalar_loop(loc, estimator):
    """cos k x in the D = 1 rounds runs the branch-free sine and cosine (the math library past |k x| = 1e5, which
    loc = 4e4 reaches), a user function the scalar loop with the math library's: the same estimates up to
    rounding."""
    dist = mcgrad.Normal(loc, 0.7)
    rounds = mcgrad.estimate(dist, mcgrad.cos(3.0), estimator, 50_000, 5)
    scalar = mcgrad.estimate(dist, mcgrad.user_objective(_user_cos3, _user_dcos3), estimator, 50_000, 5)
    assert_same_up_to_rounding(rounds, scalar)


@numba.njit
def _user_shifted_square(x):
    return (x - 2.5) ** 2


@numba.njit
def _user_shifted_square_grad(x):
    return 2.0 * (x - 2.5)


@numba.njit
def _user_slope(x):
    return -1.5 * x


@numba.njit
def _user_slope_grad(x):
    return -1.5


@numba.njit
def _user_square_plus_one(x):
    return x * x + 1.0


@numba.njit
def _user_square_plus_one_grad(x):
    return 2.0 * x


QUADRATIC_PAIRS = [(mcgrad.quadratic(2.5), mcgrad.user_objective(_user_shifted_square, _user_shifted_square_grad)),
                   (mcgrad.linear(-1.5), mcgrad.user_objective(_user_slope, _user_slope_grad)),
                   (mcgrad.square(1.0), mcgrad.user_objective(_user_square_plus_one, _user_square_plus_one_grad))]


@pytest.mark.parametrize("loc,scale", [(0.4, 0.7), (300.0, 0.01)])
@pytest.mark.parametrize("pair", QUADRATIC_PAIRS, ids=lambda pair: pair[0].name)
@pytest.mark.parametrize("estimator,options", [("score", {}), ("pathwise", {}), ("grep", {"transform": 1}),
                                               ("grep", {"transform": 2})])
def test_rounds_loop_on_quadratics_matches_the_scalar_loop(loc, scale, pair, estimator, options):
    """The rounds take w (x - c)^2 + v x + const branch-free, score as the quadratic q0 + q1 eps + q2 eps^2 in eps
    (f / scale, never forming x); a user function the scalar loop: the same estimates up to rounding, also at
    scale << loc."""
    builtin, user = pair
    dist = mcgrad.Normal(loc, scale)
    rounds = mcgrad.estimate(dist, builtin, estimator, 50_000, 7, **options)
    scalar = mcgrad.estimate(dist, user, estimator, 50_000, 7, **options)
    assert_same_up_to_rounding(rounds, scalar)
