"""Baselines and control variates of the score-function estimator against quadrature and enumeration."""

import math

import numpy as np
import pytest
from conftest import assert_close_se
from reference_vr import (
    discrete_baseline_moments,
    gamma_moments,
    normal_moments,
    normal_optimal_baseline,
    rloo_moments,
)

import mcgrad

N = 2_000_000
MU, SIGMA, K = 0.7, 0.8, 1.5


def f_cos(x):
    return math.cos(K * x)


def log_se(result):
    """Standard error of log(variance_reduction), read back from the 95% interval."""
    low, high = result.variance_reduction_interval
    return (np.log(high) - np.log(low)) / (2 * 1.959963984540054)


def assert_reduction(result, plain_var, reduced_var, what):
    """The measured reduction factor against the exact Var(plain) / Var(reduced), within 5 of its s.e."""
    exact = np.asarray(plain_var) / np.asarray(reduced_var)
    z = (np.log(result.variance_reduction) - np.log(exact)) / log_se(result)
    assert np.all(np.abs(z) <= 5), f"{what}: reduction {result.variance_reduction}, exact {exact}, z {z}"


def check_mean_and_var(result, mean, var, what):
    assert_close_se(result.mean, mean, result.stderr, what=f"{what} mean")
    assert_close_se(result.var, var, result.var_stderr, what=f"{what} var")


@pytest.mark.parametrize("baseline", [0.4, "optimal"])
def test_normal_score_baseline(baseline):
    dist = mcgrad.Normal(MU, SIGMA)
    r = mcgrad.estimate(dist, mcgrad.cos(K), "score_baseline", N, seed=3, baseline=baseline)
    b = r.fitted["baseline"]
    mean, var = normal_moments(f_cos, MU, SIGMA, b)
    check_mean_and_var(r, mean, var, f"baseline={baseline}")
    _, plain_var = normal_moments(f_cos, MU, SIGMA, (0.0, 0.0))
    assert_reduction(r, plain_var, var, f"baseline={baseline}")
    if baseline == "optimal":
        best, _ = normal_optimal_baseline(f_cos, MU, SIGMA)
        np.testing.assert_allclose(b, best, rtol=0.05)  # from a 65,536-sample pilot
        assert r.diagnostics["pilot_samples"] == 65_536 and r.diagnostics["pilot_seconds"] > 0
        assert np.all(r.variance_reduction_interval[0] > 1.0)
    else:
        assert r.diagnostics["pilot_samples"] == 0 and np.all(b == 0.4)


@pytest.mark.parametrize("coefficient", [1.0, "estimated"])
def test_normal_delta_method(coefficient):
    dist = mcgrad.Normal(MU, SIGMA)
    r = mcgrad.estimate(dist, mcgrad.cos(K), "score_delta", N, seed=4, coefficient=coefficient)
    beta = r.fitted["coefficient"]
    taylor = (math.cos(K * MU), -K * math.sin(K * MU), -K * K * math.cos(K * MU))
    mean, var = normal_moments(f_cos, MU, SIGMA, (0.0, 0.0), beta, taylor)
    check_mean_and_var(r, mean, var, f"delta coefficient={coefficient}")
    np.testing.assert_allclose(r.mean, mean, atol=5 * r.stderr.max())
    _, plain_var = normal_moments(f_cos, MU, SIGMA, (0.0, 0.0))
    assert_reduction(r, plain_var, var, "delta")
    if coefficient == 1.0:
        assert np.all(beta == 1.0)


def test_delta_method_is_exact_on_a_quadratic():
    """f = x^2 + c equals its second-order expansion: the control removes all variance."""
    r = mcgrad.estimate(mcgrad.Normal(1.0, 0.5), mcgrad.square(2.0), "score_delta", 100_000, seed=1, coefficient=1.0)
    np.testing.assert_allclose(r.mean, [2.0, 1.0], rtol=1e-12)
    assert np.all(r.var < 1e-20)
    assert np.all(r.variance_reduction_interval[0] >= 1e20)


def test_plain_reference_is_score_on_the_same_draws():
    """The reference columns are plain score on the very draws of the reduced estimator: they match a
    separate ``score`` run with the same seed to rounding, not merely within standard errors."""
    for dist, f, kw in [(mcgrad.Normal([0.5, -1.0], [1.0, 2.0]), mcgrad.cos(1.0), {}),
                        (mcgrad.Gamma(2.5, 1.5), mcgrad.square(), {"boost": 1}),
                        (mcgrad.Bernoulli([0.3, -0.5]), mcgrad.toy(0.45), {})]:
        plain = mcgrad.estimate(dist, f, "score", 300_000, seed=9, **kw)
        r = mcgrad.estimate(dist, f, "score_baseline", 300_000, seed=9, baseline=1.0, **kw)
        reference = r.reference.total()[:len(dist.components)]
        np.testing.assert_allclose(reference[:, 1], plain.mean, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(reference[:, 2] / (reference[:, 0] - 1), plain.var, rtol=1e-9)


def toy_f(t):
    return lambda b: float(np.sum((b - t) ** 2))


@pytest.mark.parametrize("group", [2, 3])
def test_rloo_bernoulli_against_enumeration(group):
    logits = [0.3, -1.0]
    r = mcgrad.estimate(mcgrad.Bernoulli(logits), mcgrad.toy(0.45), "rloo", 1_000_000, seed=5, samples=group)
    mean, var, plain_var = rloo_moments(logits, toy_f(0.45), group)
    check_mean_and_var(r, mean, var, "rloo")
    assert_reduction(r, plain_var, var, "rloo")
    assert r.diagnostics["draws_per_sample"] == group


def test_rloo_categorical_against_enumeration():
    logits = [0.2, -0.4, 1.0]
    f = mcgrad.one_hot_quadratic(1)
    r = mcgrad.estimate(mcgrad.Categorical(logits), f, "rloo", 1_000_000, seed=6, samples=3)

    def one_hot(x):
        return float(np.sum((x - np.eye(3)[1]) ** 2))

    mean, var, plain_var = rloo_moments(logits, one_hot, 3, categorical=True)
    check_mean_and_var(r, mean, var, "rloo categorical")
    assert_reduction(r, plain_var, var, "rloo categorical")


@pytest.mark.parametrize("categorical", [False, True])
def test_discrete_optimal_baseline_against_enumeration(categorical):
    if categorical:
        logits, dist, f = [[0.5, 0.0, -0.5], [0.0, 1.0, 0.0]], None, mcgrad.one_hot_quadratic(2)
        dist = mcgrad.Categorical(logits)

        def ref_f(x):
            return float(np.sum((x.reshape(2, 3) - np.eye(3)[2]) ** 2))
    else:
        logits, f, ref_f = [1.0, -0.2, 0.4], mcgrad.toy(0.45), toy_f(0.45)
        dist = mcgrad.Bernoulli(logits)
    r = mcgrad.estimate(dist, f, "score_baseline", 1_000_000, seed=7)
    mean, var, best = discrete_baseline_moments(logits, ref_f, r.fitted["baseline"], categorical)
    check_mean_and_var(r, mean, var, "optimal baseline")
    np.testing.assert_allclose(r.fitted["baseline"], best, rtol=0.05, atol=1e-3)
    _, plain_var, _ = discrete_baseline_moments(logits, ref_f, 0.0, categorical)
    assert_reduction(r, plain_var, var, "discrete optimal baseline")


@pytest.mark.parametrize("baseline", [3.0, "optimal"])
def test_gamma_baseline_against_quadrature(baseline):
    alpha, rate = 2.5, 2.0
    r = mcgrad.estimate(mcgrad.Gamma(alpha, rate), mcgrad.square(), "score_baseline", N, seed=8, baseline=baseline,
                        boost=0)
    mean, var = gamma_moments(lambda z: z * z, alpha, rate, r.fitted["baseline"])
    check_mean_and_var(r, mean, var, "gamma baseline")
    np.testing.assert_allclose(mean, r.exact, rtol=1e-8)  # the oracle's own check: E[(f - b) s] is the gradient
    _, plain_var = gamma_moments(lambda z: z * z, alpha, rate, (0.0, 0.0))
    assert_reduction(r, plain_var, var, "gamma baseline")
    assert 0.5 < r.diagnostics["acceptance_rate"] <= 1.0


@pytest.mark.parametrize("dist,f", [(mcgrad.Beta(2.0, 3.0), mcgrad.component(0)),
                                    (mcgrad.Dirichlet([0.5, 2.0, 3.0]), mcgrad.log_component(1))])
@pytest.mark.parametrize("estimator,options", [("score_baseline", {}), ("rloo", {"samples": 5})])
def test_simplex_variance_reduction_is_unbiased(dist, f, estimator, options):
    r = mcgrad.estimate(dist, f, estimator, 1_000_000, seed=2, **options)
    assert_close_se(r.mean, r.exact, r.stderr, what=f"{estimator} on {dist}")
    assert np.all(r.variance_reduction_interval[0] > 1.0)


def test_reproducible_across_threads_and_block_ranges():
    dist = mcgrad.Normal(MU, SIGMA)
    kw = dict(n=300_000, seed=11, block_size=50_000)
    one = mcgrad.estimate(dist, "cos", "score_baseline", threads=1, **kw)
    two = mcgrad.estimate(dist, "cos", "score_baseline", threads=2, **kw)
    head = mcgrad.estimate(dist, "cos", "score_baseline", blocks=(0, 2), **kw)
    tail = mcgrad.estimate(dist, "cos", "score_baseline", blocks=(2, 6), **kw)
    merged = head.merge(tail)
    for other in (two, merged):
        assert np.array_equal(one.mean, other.mean) and np.array_equal(one.var, other.var)
        assert np.array_equal(one.variance_reduction, other.variance_reduction)
        assert np.array_equal(one.fitted["baseline"], other.fitted["baseline"])


@pytest.mark.parametrize("estimator,options,match", [
    ("score_baseline", {"baseline": "best"}, "baseline for estimator 'score_baseline' must be a finite number"),
    ("score_baseline", {"baseline": math.nan}, "finite number or 'optimal'"),
    ("score_baseline", {"pilot": 1}, "pilot for estimator 'score_baseline' must be an integer in \\[2, 2\\*\\*62\\]"),
    ("rloo", {"samples": 1}, r"samples for estimator 'rloo' must be an integer in \[2, 4096\]"),
    ("score_delta", {"coefficient": "auto"}, "finite number or 'estimated'"),
])
def test_bad_options(estimator, options, match):
    with pytest.raises(ValueError, match=match):
        mcgrad.estimate(mcgrad.Normal(0.0, 1.0), "cos", estimator, 1000, **options)


def test_delta_method_is_normal_only():
    with pytest.raises(ValueError, match="'score_delta' does not apply to the gamma family"):
        mcgrad.estimate(mcgrad.Gamma(2.0), "square", "score_delta", 1000)


def test_score_delta_by_default_beats_plain_score_where_the_expansion_is_poor():
    """At N(0.7, 0.8^2) with f = cos(1.5 x) the second-order expansion is poor: a fixed coefficient 1 makes the
    control worse than none; the default, a coefficient estimated on the pilot pass, must not."""
    dist, f = mcgrad.Normal(0.7, 0.8), mcgrad.cos(1.5)
    default = mcgrad.estimate(dist, f, "score_delta", 1_000_000, seed=2)
    fixed = mcgrad.estimate(dist, f, "score_delta", 1_000_000, seed=2, coefficient=1.0)
    assert default.options["coefficient"] == "estimated"
    assert np.all(default.variance_reduction_interval[0] > 1.0), "the default must reduce the variance"
    assert np.all(fixed.variance_reduction_interval[1] < 0.2), "coefficient 1 is 8-22x worse here"
