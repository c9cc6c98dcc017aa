"""VonMises(loc, concentration): score and implicit against quadrature over the circle, the exact gradients of the
built-ins against mpmath's Bessel functions (docs/estimators.md, section VonMises)."""

import json
import subprocess
import sys

import mpmath
import numba
import numpy as np
import pytest
from conftest import assert_close_se, assert_same_up_to_rounding
from scipy import integrate, stats

import mcgrad
from mcgrad.families.von_mises import bessel_ratios
from mcgrad.kernels import von_mises as kernel
from mcgrad.kernels import von_mises_special as special

N = 1_000_000


@pytest.mark.parametrize("kappa", [1e-6, 1e-3, 0.5, 2.0, 17.0, 39.99, 40.0, 41.0, 300.0, 1e4, 1e7])
def test_bessel_ratios_and_their_derivatives_against_mpmath(kappa):
    mpmath.mp.dps = 40
    r, dr = bessel_ratios(kappa, 9)
    k = mpmath.mpf(kappa)
    for j in range(10):
        ratio = mpmath.besseli(j, k) / mpmath.besseli(0, k)
        slope = mpmath.diff(lambda t, j=j: mpmath.besseli(j, t) / mpmath.besseli(0, t), k)
        assert abs(r[j] - float(ratio)) <= 1e-14 * float(ratio), (j, r[j], ratio)
        if j > 0:
            assert abs(dr[j] - float(slope)) <= 1e-11 * abs(float(slope)), (j, dr[j], slope)


def _score_oracle(f, loc, kappa, h=1e-5):
    """Mean and variance of the score estimator: the mean as central differences of E f = int f q over the window
    (loc - pi, loc + pi), which moves with loc; the variance that of f(x) grad log q(x) (the window's edge term
    is one number at D = 1), the score by central differences of scipy's von Mises log-density."""
    def expected(loc, kappa):
        return integrate.quad(lambda x: f(x) * stats.vonmises.pdf(x, kappa, loc=loc), loc - np.pi, loc + np.pi,
                              limit=400, epsabs=1e-13, epsrel=1e-13)[0]

    mean = np.array([(expected(loc + h, kappa) - expected(loc - h, kappa)) / (2 * h),
                     (expected(loc, kappa * (1 + h)) - expected(loc, kappa * (1 - h))) / (2 * h * kappa)])

    def score(x):
        return np.array([(stats.vonmises.logpdf(x, kappa, loc=loc + h) - stats.vonmises.logpdf(x, kappa, loc=loc - h)),
                         (stats.vonmises.logpdf(x, kappa + h * kappa, loc=loc)
                          - stats.vonmises.logpdf(x, kappa - h * kappa, loc=loc)) / kappa]) / (2 * h)

    _, var = _moments(lambda x: f(x) * score(x), stats.vonmises(kappa, loc=loc).pdf, loc)
    return mean, var


def _implicit_oracle(fprime, loc, kappa, h=1e-6):
    """Mean and variance of f'(x) (1, dz/dkappa) with dz/dkappa = -(dF/dkappa) / q at x = loc + z, dF/dkappa by
    central differences of scipy's von Mises CDF."""
    def g(x):
        z = x - loc
        step = h * kappa
        dcdf = (stats.vonmises.cdf(z, kappa + step) - stats.vonmises.cdf(z, kappa - step)) / (2 * step)
        return fprime(x) * np.array([1.0, -dcdf / stats.vonmises.pdf(z, kappa)])

    return _moments(g, stats.vonmises(kappa, loc=loc).pdf, loc)


def _moments(g, density, loc):
    mean, second = np.empty(2), np.empty(2)
    for i in range(2):
        mean[i] = integrate.quad(lambda x, i=i: g(x)[i] * density(x), loc - np.pi, loc + np.pi, limit=400,
                                 epsabs=1e-12)[0]
        second[i] = integrate.quad(lambda x, i=i: g(x)[i] ** 2 * density(x), loc - np.pi, loc + np.pi, limit=400,
                                   epsabs=1e-12)[0]
    return mean, second - mean * mean


CASES = [  # loc, kappa, objective, f, f'
    (0.4, 2.0, mcgrad.cos(2.0), lambda x: np.cos(2 * x), lambda x: -2 * np.sin(2 * x)),
    (-1.1, 25.0, mcgrad.gaussian_bump(0.5), lambda x: np.exp(-0.5 * x * x), lambda x: -x * np.exp(-0.5 * x * x)),
    (2.5, 0.05, mcgrad.quadratic(1.0), lambda x: (x - 1) ** 2, lambda x: 2 * (x - 1)),
]


@pytest.mark.parametrize("case", CASES, ids=["cos2-k2", "bump-k25", "quadratic-k0.05"])
@pytest.mark.parametrize("estimator", ["score", "implicit"])
def test_mean_and_variance_by_quadrature(estimator, case):
    loc, kappa, objective, f, fprime = case
    mean, var = _score_oracle(f, loc, kappa) if estimator == "score" else _implicit_oracle(fprime, loc, kappa)
    r = mcgrad.estimate(mcgrad.VonMises(loc, kappa), objective, estimator, N, seed=31)
    assert r.components == ["loc", "concentration"] and not r.biased
    assert_close_se(r.mean, mean, r.stderr, what=f"{estimator} mean")
    assert_close_se(r.var, var, r.var_stderr, what=f"{estimator} var")
    assert 0.65 < r.diagnostics["acceptance_rate"] <= 1.0


@pytest.mark.parametrize("k", [1, 3])
def test_exact_gradient_of_cos_is_the_derivative_of_a_quadrature(k):
    loc, kappa = np.array([0.4, -2.0]), np.array([0.7, 60.0])

    def expected(loc, kappa):
        return sum(integrate.quad(lambda x, mm=mm, kk=kk: np.cos(k * x) * stats.vonmises.pdf(x, kk, loc=mm),
                                  mm - np.pi, mm + np.pi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
                   for mm, kk in zip(loc, kappa, strict=True))

    h = 1e-5
    fd = []
    for i in range(4):
        step = np.zeros(4)
        step[i] = h
        point = np.concatenate([loc, kappa])
        fd.append((expected(*np.split(point + step, 2)) - expected(*np.split(point - step, 2))) / (2 * h))
    exact = mcgrad.estimate(mcgrad.VonMises(loc, kappa), mcgrad.cos(float(k)), "score", 2).exact
    np.testing.assert_allclose(exact, fd, rtol=1e-6, atol=1e-9)


def test_exact_gradients_only_where_there_is_a_closed_form():
    dist = mcgrad.VonMises(0.3, 2.0)
    assert mcgrad.estimate(dist, mcgrad.cos(1.5), "score", 2).exact is None
    assert mcgrad.estimate(dist, mcgrad.cos(9.0), "score", 2).exact is None
    assert mcgrad.estimate(dist, "square", "score", 2).exact is None
    np.testing.assert_array_equal(mcgrad.estimate(dist, mcgrad.linear(-2.0), "score", 2).exact, [-2.0, 0.0])


@numba.njit
def _circular(x):
    return np.cos(x[0] - x[1]) + 0.5 * np.sin(x[1])


@numba.njit
def _circular_grad(x):
    s = np.sin(x[0] - x[1])
    return np.array([-s, s + 0.5 * np.cos(x[1])])


@pytest.mark.parametrize("estimator", ["score", "implicit"])
def test_a_user_vector_objective_over_two_coordinates(estimator):
    """f = cos(x0 - x1) + sin(x1) / 2 on independent coordinates: E f = A0 A1 cos(loc0 - loc1) + A1 sin(loc1) / 2,
    A_i = I1(kappa_i) / I0(kappa_i) (E sin z = 0), differentiated with mpmath."""
    mpmath.mp.dps = 30
    loc, kappa = [0.7, -0.4], [1.5, 8.0]

    def expected(l0, l1, k0, k1):
        a0 = mpmath.besseli(1, k0) / mpmath.besseli(0, k0)
        a1 = mpmath.besseli(1, k1) / mpmath.besseli(0, k1)
        return a0 * a1 * mpmath.cos(l0 - l1) + a1 * mpmath.sin(l1) / 2

    point = [mpmath.mpf(v) for v in loc + kappa]
    exact = [float(mpmath.diff(lambda *p: expected(*p), point, tuple(int(i == j) for j in range(4))))
             for i in range(4)]
    objective = mcgrad.user_objective(_circular, _circular_grad, vector=True, name="circular")
    r = mcgrad.estimate(mcgrad.VonMises(loc, kappa), objective, estimator, N, seed=32)
    assert r.components == ["loc[0]", "loc[1]", "concentration[0]", "concentration[1]"]
    assert_close_se(r.mean, exact, r.stderr, what=f"{estimator} mean")


@pytest.mark.parametrize("estimator", ["score", "implicit"])
def test_objectives_that_are_not_periodic(estimator):
    """x = loc + z lies in a window that moves with loc: for f not periodic in 2 pi the derivative in loc has an
    edge term q(pi) (f(loc + pi) - f(loc - pi)) beside the score's, which score adds (per coordinate at D > 1,
    from f at the edges with the other coordinates as drawn); pathwise in loc needs none.  For a x it is exactly
    (a, 0); for x0 x1 + x1^2 / 2 the loc components are E[x1], E[x0] + E[x1] with E[x_j] = loc_j, and the
    kappa components (through Var x1) agree between the two estimators."""
    loc, kappa = [0.5, -1.0], [1.0, 0.3]
    dist = mcgrad.VonMises(loc, kappa)
    r = mcgrad.estimate(dist, mcgrad.linear(1.0), estimator, N, seed=33)
    np.testing.assert_array_equal(r.exact, [1.0, 1.0, 0.0, 0.0])
    assert_close_se(r.mean, r.exact, r.stderr, what=f"{estimator} mean, linear")
    objective = mcgrad.user_objective(_product, _product_grad, vector=True, name="product")
    m = mcgrad.estimate(dist, objective, estimator, N, seed=34)
    assert_close_se(m.mean[:2], [loc[1], loc[0] + loc[1]], m.stderr[:2], what=f"{estimator} mean, product")
    other = mcgrad.estimate(dist, objective, "implicit" if estimator == "score" else "score", N, seed=36)
    assert_close_se(m.mean[2:], other.mean[2:], np.hypot(m.stderr[2:], other.stderr[2:]), what="kappa, product")
    assert m.evaluations_per_sample == (5 if estimator == "score" else 1)
    one = mcgrad.estimate(mcgrad.VonMises(0.5, 1.0), mcgrad.linear(1.0), estimator, N, seed=35)
    assert_close_se(one.mean, [1.0, 0.0], one.stderr, what=f"{estimator} mean, D = 1")
    assert one.evaluations_per_sample == 1


@numba.njit
def _product(x):
    return x[0] * x[1] + 0.5 * x[1] * x[1]


@numba.njit
def _product_grad(x):
    return np.array([x[1], x[0] + x[1]])


@pytest.mark.parametrize("kwargs,match", [
    ({"concentration": 0.0}, "concentration must be > 0"),
    ({"concentration": 1e-7}, r"concentration must be in \[1e-6, 1e7\]"),
    ({"concentration": 2e7}, r"concentration must be in \[1e-6, 1e7\]"),
    ({"concentration": float("nan")}, "concentration must be finite"),
    ({"loc": float("inf")}, "loc must be finite"),
    ({"loc": [0.0, 1.0], "concentration": [1.0, 2.0, 3.0]}, "same length or one must be scalar"),
])
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mcgrad.VonMises(**kwargs)


def test_estimators_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="does not apply to the von_mises family"):
        mcgrad.estimate(mcgrad.VonMises(0.0, 1.0), "square", "pathwise", 100)
    with pytest.raises(ValueError, match="objective"):
        mcgrad.estimate(mcgrad.VonMises(0.0, 1.0), "log", "score", 100)


def test_cli():
    out = subprocess.run([sys.executable, "-m", "mcgrad.cli", "estimate", "--dist", "von_mises", "--loc", "0.5",
                          "--concentration", "3", "--objective", "cos", "--param", "1", "-n", "100000",
                          "--format", "json", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["results"][0]
    assert result["estimator"] == "implicit"
    assert [c["name"] for c in result["components"]] == ["loc", "concentration"]
    a = float(mpmath.besseli(1, 3) / mpmath.besseli(0, 3))
    assert result["components"][0]["exact"] == pytest.approx(-np.sin(0.5) * a, rel=1e-12)
    assert result["components"][1]["exact"] == pytest.approx(np.cos(0.5) * (1 - a / 3 - a * a), rel=1e-10)


@numba.njit
def _table_error(tables, kappa, ws):
    _, a, one_minus_a = special.bessel_terms(kappa)
    worst = 0.0
    for w in ws:
        exact = special.dz_dkappa(2.0 * np.arctan(w), kappa, a, one_minus_a)
        got = kernel.implicit_from_table(tables, 0, kappa, a, one_minus_a, w)
        if exact != 0.0:
            worst = max(worst, abs(got / exact - 1.0))
        elif abs(got) > 1e-15:  # the exact function gives 0 at fl(pi), 1.2e-16 short of pi: the table ~1e-16
            worst = np.inf
    return worst


@pytest.mark.parametrize("kappa", [1e-6, 1e-3, 1.0, 30.0, 150.0, 199.9, 200.0, 1e3, 1e5, 1e7])
def test_the_implicit_table_matches_the_exact_gradient(kappa):
    """implicit reads dz/dkappa from Chebyshev pieces built per launch: within 1e-13 relative of the exact function
    at draws of the distribution, at uniform points of the circle and at the ends (0, +-pi)."""
    tables = kernel.implicit_tables(np.array([[0.0], [kappa]]), np.zeros(0))
    rng = np.random.default_rng(5)
    draws = stats.vonmises.rvs(kappa, size=20_000, random_state=rng) if kappa < 1e6 else rng.normal(
        0.0, 1.0 / np.sqrt(kappa), 20_000)
    z = np.concatenate([draws, rng.uniform(-np.pi, np.pi, 20_000), [0.0, 1e-300, -1e-300, np.pi, -np.pi, 3.0]])
    assert _table_error(tables, kappa, np.tan(z / 2)) < 1e-13


@numba.njit
def _user_cos2(x):
    return np.cos(2.0 * x)


@numba.njit
def _user_dcos2(x):
    return -2.0 * np.sin(2.0 * x)


@pytest.mark.parametrize("loc,kappa", [(0.3, 2.0), (-2.0, 1e-6), (0.1, 1e7), (5e4, 300.0)])
@pytest.mark.parametrize("estimator", ["score", "implicit"])
def test_rounds_loop_matches_the_array_loop(loc, kappa, estimator):
    """D = 1 on a built-in runs the rounds loop (branch-free atan, sin and cos), a user function the per-sample
    array loop (the math library's): the same draws and formulas, so the same estimates up to rounding.  At
    loc = 5e4, 2x crosses the vector reduction's range and the rounds fall back to the library there."""
    dist = mcgrad.VonMises(loc, kappa)
    rounds = mcgrad.estimate(dist, mcgrad.cos(2.0), estimator, 50_000, 5)
    array = mcgrad.estimate(dist, mcgrad.user_objective(_user_cos2, _user_dcos2), estimator, 50_000, 5)
    assert_same_up_to_rounding(rounds, array)
