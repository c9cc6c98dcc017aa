"""REBAR's eta and temperature tuned on a pilot pass: checked against the variance-optimal values by quadrature.

For one Bernoulli the exact variance of REBAR at any (temperature, eta) comes from quadrature over its two
uniforms (``reference_discrete.bernoulli_moments``); it is quadratic in eta, so three quadratures give the
exact optimum.  The tuned values must reach that optimum's variance up to the pilot's noise, and the run
that uses them must stay unbiased.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close_se
from reference_discrete import bernoulli_moments

import mcgrad
from mcgrad import tuning

THETA, T = 0.3, 0.45
LOGIT = math.log(THETA / (1 - THETA))


def f(x):
    return (x - T) ** 2


def df(x):
    return 2 * (x - T)


def exact_var(temperature, eta):
    return bernoulli_moments("rebar", LOGIT, f, df, lam=temperature, eta=eta)[1]


def exact_optimum(temperature):
    """(eta*, Var at eta*) at ``temperature``, from the quadratic through eta = 0, 1, -1."""
    v0, v1, vm = (exact_var(temperature, eta) for eta in (0.0, 1.0, -1.0))
    var_b, cov = (v1 + vm - 2 * v0) / 2, (v1 - vm) / 4
    eta = -cov / var_b
    return eta, v0 + 2 * eta * cov + eta * eta * var_b


def test_tuned_eta_reaches_the_optimal_variance_and_stays_unbiased():
    dist = mcgrad.Bernoulli(logits=LOGIT)
    r = mcgrad.estimate(dist, mcgrad.toy(T), "rebar", n=1_000_000, seed=3, eta="tuned")
    eta = r.diagnostics["tuned_eta"]
    assert r.options["eta"] == eta and r.diagnostics["tuned_temperature"] == 0.5 == r.options["temperature"]
    assert r.estimator == f"rebar[temperature=0.5,eta={eta:g}]"
    _, best_var = exact_optimum(0.5)
    assert exact_var(0.5, eta) <= 1.01 * best_var  # within the pilot's noise of the optimum (flat near it)
    assert exact_var(0.5, eta) < exact_var(0.5, 1.0)  # better than the default eta = 1 here
    assert_close_se(r.mean, (1 - 2 * T) * THETA * (1 - THETA), r.stderr, what="tuned rebar mean")
    assert_close_se(r.var, exact_var(0.5, eta), r.var_stderr, what="tuned rebar var")


def test_tuned_temperature_picks_a_best_grid_point():
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=LOGIT), mcgrad.toy(T), "rebar", n=200_000, seed=4,
                        eta="tuned", temperature="tuned")
    chosen = r.diagnostics["tuned_temperature"]
    assert chosen in tuning.TEMPERATURE_GRID
    optimum = {lam: exact_optimum(lam)[1] for lam in tuning.TEMPERATURE_GRID}
    assert optimum[chosen] <= 1.05 * min(optimum.values())
    assert exact_var(chosen, r.diagnostics["tuned_eta"]) <= 1.05 * min(optimum.values())
    assert r.diagnostics["pilot_samples"] == 65_536 and r.diagnostics["pilot_seconds"] > 0
    assert {"tuned_eta", "tuned_temperature", "pilot_trace"} <= set(r.to_frame().columns)


def test_tuned_runs_are_reproducible_and_merge():
    dist, kw = mcgrad.Categorical(logits=[0.2, -0.4, 1.0]), dict(n=120_000, seed=5, block_size=10_000, eta="tuned")
    whole = mcgrad.estimate(dist, mcgrad.toy(0.45), "rebar", **kw)
    again = mcgrad.estimate(dist, mcgrad.toy(0.45), "rebar", threads=1, **kw)
    np.testing.assert_array_equal(whole.mean, again.mean)
    left = mcgrad.estimate(dist, mcgrad.toy(0.45), "rebar", blocks=(0, 5), **kw)
    right = mcgrad.estimate(dist, mcgrad.toy(0.45), "rebar", blocks=(5, 12), **kw)
    merged = left.merge(right)
    np.testing.assert_array_equal(merged.mean, whole.mean)
    np.testing.assert_array_equal(merged.var, whole.var)


@pytest.mark.parametrize("name,options,message", [
    ("rebar", {"eta": "tune"}, "eta for estimator 'rebar' must be a finite real number"),
    ("rebar", {"temperature": "best"}, "must be a finite number > 0"),
    ("gumbel_softmax", {"temperature": "tuned"}, "must be a finite number > 0"),  # biased: nothing to tune
])
def test_only_rebar_takes_tuned(name, options, message):
    with pytest.raises(ValueError, match=message):
        mcgrad.estimate(mcgrad.Bernoulli(logits=0.2), mcgrad.toy(0.45), name, n=1000, **options)


def test_cli_tuned_rebar(capsys):
    from mcgrad.cli import main

    main(["estimate", "--dist", "bernoulli", "--logits", "0.3", "--estimator", "rebar:eta=tuned", "-n", "1e5",
          "--format", "csv"])
    lines = capsys.readouterr().out.splitlines()
    assert "tuned_eta" in lines[0].split(",") and lines[1].lstrip('"').startswith("rebar[temperature=0.5,eta=")


def test_tuned_relax_scale_reaches_the_optimal_variance_and_stays_unbiased():
    # the guide's control c(z) = 0.3 z^2 as given is far worse than plain score; its tuned scale eta beats score
    from conftest import RELAX_CONTROL, relax_control_derivative, relax_control_value

    c, dc = relax_control_value.py_func, relax_control_derivative.py_func

    def var_at(eta):
        return bernoulli_moments("relax", LOGIT, f, df, eta=eta, c=c, dc=dc)[1]

    v0, v1, vm = var_at(0.0), var_at(1.0), var_at(-1.0)
    var_b, cov = (v1 + vm - 2 * v0) / 2, (v1 - vm) / 4
    best_eta = -cov / var_b
    dist = mcgrad.Bernoulli(logits=LOGIT)
    r = mcgrad.estimate(dist, mcgrad.toy(T), "relax", n=400_000, seed=6, control=RELAX_CONTROL, eta="tuned")
    eta = r.diagnostics["tuned_eta"]
    assert "tuned_temperature" not in r.diagnostics and r.options["eta"] == eta
    # a control of z alone barely correlates with the score term here: the optimum is eta ~ 0, and at the
    # default eta = 1 the control makes the variance ~130x worse
    assert var_at(eta) <= 1.01 * var_at(best_eta) and var_at(eta) < v1 / 100
    assert_close_se(r.mean, (1 - 2 * T) * THETA * (1 - THETA), r.stderr, what="tuned relax mean")
    assert_close_se(r.var, var_at(eta), r.var_stderr, what="tuned relax var")
    # a fixed eta scales the control: the variance at eta = 0.5 is the quadratic's value there
    half = mcgrad.estimate(dist, mcgrad.toy(T), "relax", n=400_000, seed=6, control=RELAX_CONTROL, eta=0.5)
    assert_close_se(half.var, var_at(0.5), half.var_stderr, what="relax var at eta = 0.5")
