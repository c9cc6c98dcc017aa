"""Gamma estimators against the closed forms (docs/estimators.md, section Gamma), quadrature, and scipy's Gamma
distribution."""

import math

import numba
import numpy as np
import pytest
from conftest import assert_close_se
from reference import implicit_identity_moments, rsvi_identity_moments
from scipy import special, stats

import mcgrad
from mcgrad.kernels import gamma as gk
from mcgrad.kernels import rng
from mcgrad.kernels import special as special_kernels

ALPHAS = [0.1, 0.5, 1.0, 2.5, 10.0, 100.0]
UNBIASED = ["rsvi", "implicit", "grep", "score"]


def closed_form(name, a, b):
    """dE/da, dE/db for f = z, log z, z^2 (docs/estimators.md, section Gamma)."""
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


@pytest.mark.parametrize("alpha,boost", [(2.5, 0), (1.0, 0), (0.3, 1), (100.0, 0), (2.5, 2)])
def test_round_sampler_takes_the_one_at_a_time_draws(alpha, boost):
    """fill_gamma runs the rounds of the D = 1 estimators (B = 0 calls marsaglia_tsang directly and forms Z
    afterwards); its draws must be those of gamma_draw one at a time."""
    n = 20_000
    z = np.empty(n)
    gk.fill_gamma(rng.run_key(4), 0, alpha, boost, z)
    one_at_a_time = np.empty(1)
    gk.sum_gamma_blocks(rng.run_key(4), alpha, boost, n, n, one_at_a_time)
    np.testing.assert_allclose(math.fsum(z), one_at_a_time[0], rtol=1e-9)  # a diverged stream is ~1% off


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


def test_reference_values_and_rsvi_rep_only_bias():
    # docs/estimators.md, Gamma reference values: alpha=1, f = log z: truth 1.64493; rsvi_rep_only gives about
    # 1.9103 (boost 0).
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


TABLE_ALPHAS = [1e-3, 1e-2, 0.1, 1.0, 2.5, 10.0, 1e3, 1e6]


@numba.njit
def _implicit_both(tables, alpha, z, t):
    fast = np.empty_like(z)
    direct = np.empty_like(z)
    for i in range(z.shape[0]):
        fast[i] = gk.implicit_dlog_table(tables, 0, alpha, z[i], t[i])
        direct[i] = special_kernels.dlog_quantile_da(alpha, z[i])
    return fast, direct


@pytest.mark.parametrize("alpha", TABLE_ALPHAS)
def test_implicit_table_matches_direct_formula(alpha):
    """The tabulated dlog Z/dalpha against dlog_quantile_da over the 1e-10 .. 1 - 1e-10 quantiles.

    Measured: <= 1.8e-14 relative for alpha <= 1e3 and 3.9e-13 at alpha = 1e6, where the direct formula's own
    rounding (~1e-13) dominates (see the mpmath test below).
    """
    tables = gk.implicit_tables(np.array([alpha]), True)
    t_lo, t_hi, count = gk.implicit_table_span(tables, 0)
    assert count >= 2, "the table must be in use"
    lo = math.log(max(special.gammaincinv(alpha, 1e-10), 1e-300))
    hi = math.log(special.gammainccinv(alpha, 1e-10))
    assert t_lo <= max(lo, math.log(gk.IMPLICIT_SMALL)) + 1e-3 and abs(t_hi - hi) < 1e-3 * max(1.0, abs(hi))
    draws = np.empty(200_000)
    gk.fill_gamma(rng.run_key(5), 0, alpha, 1, draws)
    t = np.concatenate([np.random.default_rng(1).uniform(lo, hi, 200_000), np.log(draws[draws > 0])])
    z = np.exp(t)
    fast, direct = _implicit_both(tables, alpha, z, t)
    err = np.abs(fast - direct) / direct
    assert err.max() <= (1e-12 if alpha > 1e4 else 1e-13), err.max()
    if alpha < 1:
        assert np.mean(z <= gk.IMPLICIT_SMALL) > 0.4  # the series branch was exercised
    # beyond the table: the direct formula itself
    below = [t_lo - 1e-9, t_lo - 0.5] if t_lo > math.log(gk.IMPLICIT_SMALL) else []
    t_out = np.array([t_hi + 1e-9, t_hi + 0.5, t_hi + 3.0] + below)
    fast, direct = _implicit_both(tables, alpha, np.exp(t_out), t_out)
    np.testing.assert_array_equal(fast, direct)
    # Z underflowed to 0 (log Z finite): P(alpha, Z) ~ Z^alpha / Gamma(alpha + 1) gives
    # dlog Z/dalpha -> (psi(alpha + 1) - log Z) / alpha
    fast, _ = _implicit_both(tables, alpha, np.array([0.0]), np.array([-800.0]))
    assert fast[0] == pytest.approx((special.digamma(alpha + 1.0) + 800.0) / alpha, rel=1e-12)


def test_implicit_table_against_mpmath():
    """Table and direct formula against 40-digit mpmath: both within 1e-13 (the table is not worse)."""
    mp = pytest.importorskip("mpmath")

    def reference(a, x):
        am, xm = mp.mpf(float(a)), mp.mpf(float(x))

        def p(s):
            return mp.exp(s * mp.log(xm) - xm - mp.loggamma(s + 1)) * mp.hyp1f1(1, s + 1, xm, maxterms=10**7)

        density = mp.exp((am - 1) * mp.log(xm) - xm - mp.loggamma(am))
        return float(-mp.diff(p, am) / (xm * density))

    for alpha in (0.01, 2.5, 1e6):
        tables = gk.implicit_tables(np.array([alpha]), True)
        t_lo, t_hi, _ = gk.implicit_table_span(tables, 0)
        lo = math.log(max(special.gammaincinv(alpha, 1e-9), 1e-300))
        gen = np.random.default_rng(3)
        t = np.concatenate([gen.uniform(lo, t_hi, 4), gen.uniform(t_lo, t_hi, 8)])  # series and table
        z = np.exp(t)
        fast, direct = _implicit_both(tables, alpha, z, t)
        with mp.workdps(40):
            ref = np.array([reference(alpha, x) for x in z])  # d log Z / dalpha
        assert np.max(np.abs(fast - ref) / ref) <= 1e-13, alpha
        assert np.max(np.abs(direct - ref) / ref) <= 1e-13, alpha


def test_implicit_tables_only_for_implicit():
    assert gk.implicit_tables(np.array([2.0, 3.0]), False).shape == (2, 0)
    tables = gk.implicit_tables(np.array([2.0, 3.0]), True)
    assert tables.shape == (2, gk.IMPLICIT_TABLE)
    np.testing.assert_array_equal(tables[1], gk.implicit_tables(np.array([3.0]), True)[0])


@numba.njit
def _log_near_one_map(v):
    out = np.empty_like(v)
    for i in range(v.shape[0]):
        out[i] = gk.log_near_one(v[i])
    return out


def test_log_near_one_is_log_to_rounding():
    """The library-call-free log of the sampler's v, on both sides of its switch at |v - 1|/(v + 1) = 1/3."""
    edges = np.array([0.5, 2.0])
    near = np.logspace(-16, -1, 300)
    v = np.concatenate([np.linspace(0.05, 4.0, 200_001), 1.0 + near, 1.0 - near,
                        np.nextafter(edges, 0), edges, np.nextafter(edges, 2)])
    got = _log_near_one_map(v)
    ref = np.log(v)
    err = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
    assert err.max() <= 5e-16, (err.max(), v[np.argmax(err)])  # measured 4.3e-16 (numpy.log's own ~2e-16)
    assert _log_near_one_map(np.array([1.0]))[0] == 0.0
