"""Gamma estimators against the closed forms of MATH.md, quadrature, and scipy's Gamma distribution."""

import math

import numpy as np
import pytest
from conftest import assert_close_se
from reference import implicit_identity_moments, rsvi_identity_moments
from scipy import special, stats

import mcgrad
from mcgrad.kernels import gamma as gk
from mcgrad.kernels import rng

ALPHAS = [0.1, 0.5, 1.0, 2.5, 10.0, 100.0]
UNBIASED = ["rsvi", "implicit", "grep", "score"]


def closed_form(name, a, b):
    """dE/da, dE/db of MATH.md for f = z, log z, z^2."""
    return {
        "identity": (1 / b, -a / b**2),
        "log": (special.polygamma(1, a), -1 / b),
        "square": ((2 * a + 1) / b**2, -2 * a * (a + 1) / b**3),
    }[name]


@pytest.mark.parametrize("alpha", ALPHAS)
def test_sampler_matches_scipy_gamma(alpha):
    boost = 1 if alpha < 1 else 0
    z = np.empty(200_000)
    gk.fill_gamma(rng.run_key(17), 0, alpha, boost, z)
    assert np.all(np.isfinite(z)) and np.all(z >= 0)
    assert stats.kstest(z, stats.gamma(alpha).cdf).pvalue > 1e-3


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("objective", ["identity", "log", "square"])
def test_unbiased_estimators_match_closed_forms(alpha, objective):
    rate = 1.0 if alpha in (0.5, 10.0) else 2.5
    truth = closed_form(objective, alpha, rate)
    dist = mcgrad.Gamma(alpha, rate)
    np.testing.assert_allclose(mcgrad.objectives.BUILTINS[objective]().exact_gradient(dist), truth, rtol=1e-12)
    for name in UNBIASED:
        r = mcgrad.estimate(dist, objective, name, 400_000, seed=21)
        assert_close_se(r.mean, truth, r.stderr, what=f"{name} alpha={alpha} f={objective}")


def test_math_md_reference_values_and_rsvi_rep_only_bias():
    # MATH.md: alpha=1, f = log z: truth 1.64493; rsvi_rep_only gives about 1.9103 (boost 0).
    dist = mcgrad.Gamma(1.0)
    biased = mcgrad.estimate(dist, "log", "rsvi_rep_only", 1_000_000, seed=2, boost=0)
    assert biased.biased
    z = (biased.mean[0] - special.polygamma(1, 1.0)) / biased.stderr[0]
    assert z > 20, z
    assert abs(biased.mean[0] - 1.9103) < 5 * biased.stderr[0] + 0.005
    ok = mcgrad.estimate(dist, "log", "rsvi", 1_000_000, seed=2, boost=0)
    assert_close_se(ok.mean[0], special.polygamma(1, 1.0), ok.stderr[0])
    # g_cor fades as the boost grows: the rep-only bias shrinks
    bias = [abs(mcgrad.estimate(dist, "log", "rsvi_rep_only", 400_000, seed=3, boost=b).bias[0]) for b in (0, 1, 4)]
    assert bias[0] > bias[1] > bias[2]


@pytest.mark.parametrize("alpha", [1.5, 3.0, 10.0])
def test_rsvi_and_implicit_variances_against_quadrature(alpha):
    dist = mcgrad.Gamma(alpha)
    mean, var = rsvi_identity_moments(alpha)
    assert abs(mean - 1.0) < 1e-6
    r = mcgrad.estimate(dist, "identity", "rsvi", 1_000_000, seed=4, boost=0)
    assert_close_se(r.var[0], var, r.var_stderr[0], what="rsvi var")
    mean, var = implicit_identity_moments(alpha)
    assert abs(mean - 1.0) < 1e-5
    r = mcgrad.estimate(dist, "identity", "implicit", 1_000_000, seed=4)
    assert_close_se(r.var[0], var, r.var_stderr[0], what="implicit var")


def test_vector_of_gammas_and_acceptance_rate():
    a, b = np.array([0.3, 2.0, 7.5]), np.array([1.0, 0.5, 3.0])
    dist = mcgrad.Gamma(a, b)
    assert dist.components[0] == "concentration[0]" and dist.components[-1] == "rate[2]"
    truth = np.concatenate([(2 * a + 1) / b**2, -2 * a * (a + 1) / b**3])
    for name in UNBIASED:
        r = mcgrad.estimate(dist, mcgrad.square(), name, 300_000, seed=8, boost=2)
        assert_close_se(r.mean, truth, r.stderr, what=name)
        assert 0.9 < r.diagnostics["acceptance_rate"] <= 1.0


def test_extreme_concentrations_are_finite():
    for alpha in [1e-3, 1e-2, 1e4, 1e6]:
        for name in UNBIASED + ["rsvi_rep_only"]:
            r = mcgrad.estimate(mcgrad.Gamma(alpha), "identity", name, 20_000, seed=1, boost=1)
            assert np.all(np.isfinite(r.mean)) and np.all(np.isfinite(r.var)), (alpha, name)
            assert r.nonfinite == 0


def test_gamma_errors():
    with pytest.raises(ValueError, match="concentration must be > 0"):
        mcgrad.Gamma(0.0)
    with pytest.raises(ValueError, match="rate must be > 0"):
        mcgrad.Gamma(1.0, -1.0)
    with pytest.raises(ValueError, match="boost must be >= 1 when a concentration is below 1"):
        mcgrad.estimate(mcgrad.Gamma(0.5), "log", "rsvi", 1000, boost=0)
    with pytest.raises(ValueError, match=r"boost for estimator 'rsvi' must be an integer in \[0, 64\]"):
        mcgrad.estimate(mcgrad.Gamma(2.0), "log", "rsvi", 1000, boost=-1)
    with pytest.raises(ValueError, match="does not apply to the gamma family"):
        mcgrad.estimate(mcgrad.Gamma(2.0), "log", "pathwise", 1000)
    with pytest.raises(ValueError, match="does not apply to the normal family"):
        mcgrad.estimate(mcgrad.Normal(), "square", "rsvi", 1000)
    with pytest.raises(ValueError, match="needs positive x"):
        mcgrad.estimate(mcgrad.Normal(), "log", "score", 1000)
    assert math.isfinite(mcgrad.estimate(mcgrad.Gamma(2.0), "square", "score", 1000).mean[0])
