"""What researchers compare estimators by: SNR, trace, MSE, cost-normalised efficiency, ratios to a reference.

Oracles: closed forms on the Normal (pathwise and score on x^2) and quadrature on one Bernoulli
(the relaxed estimators' bias and variance); costs from the estimator declarations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close_se
from reference_discrete import bernoulli_moments

import mcgrad
from mcgrad.cli import main

N = 400_000


def test_snr_and_trace_against_closed_forms():
    # pathwise on x^2 at N(mu, sigma^2): g_loc = 2x, g_scale = 2 x eps -> means (2 mu, 2 sigma),
    # variances (4 sigma^2, 4 (mu^2 + 2 sigma^2))
    mu, sigma = 0.7, 1.3
    r = mcgrad.estimate(mcgrad.Normal(mu, sigma), "square", "pathwise", n=N, seed=11)
    mean = np.array([2 * mu, 2 * sigma])
    var = np.array([4 * sigma**2, 4 * (mu**2 + 2 * sigma**2)])
    snr = np.abs(mean) / np.sqrt(var)
    # delta method: d snr = snr (d mean / mean - d var / (2 var))
    snr_se = snr * np.sqrt((r.stderr / mean) ** 2 + (r.var_stderr / (2 * var)) ** 2)
    assert_close_se(r.snr, snr, snr_se, what="snr")
    assert_close_se(r.trace, var.sum(), math.hypot(*r.var_stderr) * 1.5, what="trace")


def test_exact_estimator_snr_and_efficiency_are_infinite_not_nan():
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=[0.3, 0.0]), mcgrad.toy(0.45), "exact", n=1000)
    assert np.all(r.var == 0.0) and r.trace == 0.0
    assert np.all(r.snr == math.inf)
    assert np.all(r.efficiency == math.inf)
    assert r.evaluations_per_sample is None and r.efficiency_per_evaluation is None  # it enumerates, once
    zero = mcgrad.estimate(mcgrad.Bernoulli(logits=0.3), mcgrad.toy(0.5), "exact", n=1000)  # a zero gradient
    assert zero.mean[0] == 0.0 and zero.snr[0] == 0.0


@pytest.mark.parametrize("name,opts", [("gumbel_softmax", {"temperature": 0.5}),
                                       ("straight_through", {"temperature": 1.0}),
                                       ("score", {})])
def test_mse_is_bias_squared_plus_variance(name, opts):
    theta, t = 0.3, 0.45
    logit = math.log(theta / (1 - theta))
    mean, var = bernoulli_moments(name, logit, lambda x: (x - t) ** 2, lambda x: 2 * (x - t),
                                  lam=opts.get("temperature", 0.5))
    exact = (1 - 2 * t) * theta * (1 - theta)
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=logit), mcgrad.toy(t), name, n=N, seed=5, **opts)
    expected = (mean - exact) ** 2 + var
    se = np.hypot(2 * abs(mean - exact) * r.stderr, r.var_stderr)
    assert_close_se(r.mse, expected, se, what=f"{name} mse")
    batch = r.mse_of_batch(16)
    assert_close_se(batch, (mean - exact) ** 2 + var / 16, np.hypot(2 * abs(mean - exact) * r.stderr,
                                                                     r.var_stderr / 16), what="mse of 16")
    if not r.biased:
        assert abs(mean - exact) < 1e-12
    with pytest.raises(ValueError, match="m must be a positive integer"):
        r.mse_of_batch(0)


def test_mse_needs_the_exact_gradient():
    r = mcgrad.estimate(mcgrad.Normal(0.5, 1.0), "square", "score", n=1000)
    r.exact = None
    assert r.mse is None and r.mse_of_batch(4) is None


def test_efficiency_counts_f_evaluations_from_the_declarations():
    dist, f = mcgrad.Categorical(logits=[0.2, -0.4, 1.0]), mcgrad.toy(0.45)
    score = mcgrad.estimate(dist, f, "score", n=N, seed=2)
    rloo = mcgrad.estimate(dist, f, "rloo", n=N, seed=2, samples=4)
    rebar = mcgrad.estimate(dist, f, "rebar", n=N, seed=2)
    assert score.evaluations_per_sample == 1.0
    assert rloo.evaluations_per_sample == 4.0
    assert rebar.evaluations_per_sample == 3.0  # f(b), f(z), f(z~): REBAR's three evaluations
    np.testing.assert_allclose(rloo.efficiency_per_evaluation, 1.0 / (4.0 * rloo.var))
    assert np.all(score.efficiency > 0) and np.all(np.isfinite(score.efficiency))


def test_compare_reports_ratios_to_the_reference():
    dist = mcgrad.Normal(0.7, 1.3)
    frame = mcgrad.compare(dist, "square", ["score", "pathwise", ("grep", {"transform": 2})], n=N, seed=3,
                           reference="score")
    score = frame[frame.estimator == "score"].set_index("component")
    for label in ("pathwise", "grep[transform=2]"):
        rows = frame[frame.estimator == label].set_index("component")
        np.testing.assert_allclose(rows.var_ratio, rows["var"] / score["var"], rtol=1e-12)
        np.testing.assert_allclose(rows.efficiency_ratio, rows.efficiency / score.efficiency, rtol=1e-12)
    np.testing.assert_array_equal(score.var_ratio, 1.0)
    # pathwise vs score on x^2 at N(0.7, 1.3^2): exact variance ratio for loc is 4 sigma^2 / Var(f(x) eps / sigma)
    pathwise = frame[frame.estimator == "pathwise"].set_index("component")
    by_label = mcgrad.compare(dist, "square", ["score", ("grep", {"transform": 2})], n=10_000,
                              reference="grep[transform=2]")
    assert np.all(by_label[by_label.estimator == "grep[transform=2]"].var_ratio == 1.0)
    assert np.all(pathwise.var_ratio < 1.0)


@pytest.mark.parametrize("reference,error", [("grep", ValueError), ("nope", ValueError), (3, TypeError),
                                             ("score[x=1]", ValueError)])
def test_compare_refuses_a_reference_it_does_not_run(reference, error):
    with pytest.raises(error, match="reference"):
        mcgrad.compare(mcgrad.Normal(0.0, 1.0), "square", ["score", "pathwise"], n=1000, reference=reference)


def test_cli_compare_reference(capsys):
    main(["compare", "--estimators", "score,pathwise", "-n", "20000", "--reference", "score", "--format", "csv"])
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert "var_ratio" in header and "efficiency_ratio" in header
    with pytest.raises(SystemExit) as e:
        main(["compare", "--estimators", "score,pathwise", "-n", "20000", "--reference", "grep"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reference must be one of the compared estimators" in err[0]


def test_comparisons_print_compactly_and_say_what_they_leave_out(capsys):
    frame = mcgrad.compare(mcgrad.Normal(0.7, 1.3), "square", ["score", "pathwise", "measure_valued"], n=20_000,
                           reference="score")
    header = repr(frame).splitlines()[0].split()
    assert header == ["estimator", "component", "mean", "stderr", "var", "var_stderr", "exact", "z", "var_ratio",
                      "efficiency_ratio"]
    assert "more columns: bias, mse, snr, efficiency" in repr(frame)
    assert "samples_per_second" in frame.to_string() and "efficiency" in frame.to_csv()
    assert list(frame[["mean", "snr"]].columns) == ["mean", "snr"] and "more columns" not in repr(frame[["snr"]])
    main(["compare", "--estimators", "score,pathwise", "-n", "20000"])
    table = capsys.readouterr().out.splitlines()
    assert table[1].split() == ["estimator", "component", "mean", "stderr", "var", "var_stderr", "exact", "z"]
    main(["compare", "--estimators", "score,pathwise", "-n", "20000", "--wide"])
    assert "efficiency_per_evaluation" in capsys.readouterr().out


@pytest.mark.parametrize("objective", ["linear", "square"])
def test_a_control_that_removes_all_variance_reports_exact_zeros(objective):
    # the delta-method control with coefficient 1 is exact for f of degree <= 2: every per-sample gradient equals
    # E g, so the variance is 0; the computed one is rounding (~1e-34 and ~1e-25 before the floor)
    r = mcgrad.estimate(mcgrad.Normal(0.7, 0.8), objective, "score_delta", n=50_000, seed=4, coefficient=1.0,
                        covariance=True)
    np.testing.assert_array_equal(r.var, [0.0, 0.0])
    np.testing.assert_array_equal(r.stderr, [0.0, 0.0])
    np.testing.assert_array_equal(r.covariance, np.zeros((2, 2)))
    np.testing.assert_allclose(r.mean, r.exact, rtol=1e-12)


def test_a_small_variance_a_double_resolves_is_kept():
    # pathwise on x^2 at N(1e10, 1): g_loc = 2x has variance 4 around a mean of 2e10 (relative spread 1e-10)
    r = mcgrad.estimate(mcgrad.Normal(1e10, 1.0), "square", "pathwise", n=50_000, seed=4)
    assert_close_se(r.var[0], 4.0, r.var_stderr[0], what="var")
