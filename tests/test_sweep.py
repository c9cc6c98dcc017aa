"""Parameter sweeps: every row is the point-by-point run, bit for bit, whatever the threads."""

import numpy as np
import pytest
from conftest import assert_close_se

import mcgrad


def _row(frame, **where):
    mask = np.ones(len(frame), bool)
    for key, value in where.items():
        mask &= np.array([cell == value for cell in frame[key]], bool)
    return frame[mask]


@pytest.mark.parametrize("threads", [1, 2])
def test_sweep_rows_equal_point_by_point_runs(threads):
    grid = {"loc": [-0.5, 1.0], "scale": [0.5, 2.0]}
    entries = ["score", ("grep", {"transform": 2}), ("score_baseline", {"baseline": 0.5})]
    kw = dict(n=150_000, seed=5, block_size=20_000)
    frame = mcgrad.sweep(mcgrad.Normal, grid, "cos", entries, threads=threads, **kw)
    assert len(frame) == 4 * 3 * 2
    for loc in grid["loc"]:
        for scale in grid["scale"]:
            for name, opts in [("score", {}), ("grep", {"transform": 2}), ("score_baseline", {"baseline": 0.5})]:
                r = mcgrad.estimate(mcgrad.Normal(loc, scale), "cos", name, **kw, **opts)
                rows = _row(frame, loc=loc, scale=scale, estimator=r.estimator)
                assert np.array_equal(rows["mean"].to_numpy(), r.mean)
                assert np.array_equal(rows["var"].to_numpy(), r.var)
                assert list(rows["component"]) == r.components


def test_gamma_sweep_with_vector_points_and_acceptance():
    frame = mcgrad.sweep(mcgrad.Gamma, {"concentration": [[0.5, 2.0], [3.0, 4.0]], "rate": 2.0}, "square",
                         [("rsvi", {"boost": 1})], n=50_000, seed=1)
    r = mcgrad.estimate(mcgrad.Gamma([3.0, 4.0], 2.0), "square", "rsvi", 50_000, seed=1, boost=1)
    rows = _row(frame, concentration=(3.0, 4.0))
    assert np.array_equal(rows["mean"].to_numpy(), r.mean)
    assert rows["acceptance_rate"].iloc[0] == r.diagnostics["acceptance_rate"]


def test_objective_parameter_sweep_against_the_gaussian_oracle():
    """docs/estimators.md, section Normal: N(1, 1), f = (x - k)^2, per-sample variances (loc / scale):
    k = 0: score 30 / 136, pathwise 4 / 12; k = 3: score 87 / 346, pathwise 4 / 24."""
    frame = mcgrad.sweep(mcgrad.Normal, {"loc": 1.0, "scale": 1.0}, mcgrad.quadratic, ["score", "pathwise"],
                         n=2_000_000, seed=2, f_grid={"k": [0.0, 3.0]})
    expected = {(0.0, "score"): (30, 136), (0.0, "pathwise"): (4, 12), (3.0, "score"): (87, 346),
                (3.0, "pathwise"): (4, 24)}
    for (k, name), var in expected.items():
        rows = _row(frame, k=k, estimator=name)
        assert_close_se(rows["var"], var, rows["var_stderr"], what=f"k={k} {name}")
        assert_close_se(rows["mean"], rows["exact"], rows["stderr"], what=f"k={k} {name} mean")


@pytest.mark.parametrize("kwargs,error,match", [
    ({"family": mcgrad.Normal(0.0, 1.0)}, TypeError, "family must be one of"),
    ({"grid": {"mean": [0.0]}}, ValueError, r"unknown parameter\(s\) \['mean'\]"),
    ({"grid": {"loc": []}}, ValueError, "must list at least one value"),
    ({"grid": {"scale": [1.0, -1.0]}}, ValueError, "scale"),
    ({"f": mcgrad.cos(1.0), "f_grid": {"k": [1.0]}}, TypeError, "objective factory"),
    ({"f": "cos", "f_grid": {"q": [1.0]}}, ValueError, r"unknown parameter\(s\) \['q'\]"),
])
def test_bad_sweeps(kwargs, error, match):
    args = {"family": mcgrad.Normal, "grid": {"loc": [0.0, 1.0]}, **kwargs}
    with pytest.raises(error, match=match):
        mcgrad.sweep(args.pop("family"), args.pop("grid"), n=1000, **args)


def test_sweep_over_estimator_options_equals_the_point_runs():
    frame = mcgrad.sweep(mcgrad.Bernoulli, {"logits": [0.0, 1.0]}, mcgrad.toy(0.45),
                         ["score", "gumbel_softmax", ("rebar", {"eta": 0.5})], n=30_000, seed=2,
                         options_grid={"temperature": [0.1, 1.0]})
    assert len(frame) == 2 * (1 + 2 + 2)  # score takes no temperature: once per point
    assert frame[frame.estimator == "score"].temperature.isna().all()
    for _, row in frame[frame.estimator != "score"].iterrows():
        name = row.estimator.split("[")[0]
        opts = {"temperature": row.temperature, **({"eta": 0.5} if name == "rebar" else {})}
        r = mcgrad.estimate(mcgrad.Bernoulli(logits=row.logits), mcgrad.toy(0.45), name, n=30_000, seed=2, **opts)
        assert r.estimator == row.estimator and r.mean[0] == row["mean"] and r.var[0] == row["var"]
    with pytest.raises(ValueError, match=r"options_grid names \['transform'\], which none of the estimators"):
        mcgrad.sweep(mcgrad.Bernoulli, {"logits": 0.0}, mcgrad.toy(0.45), ["score"], options_grid={"transform": [1]})


def test_an_option_given_twice_is_refused():
    with pytest.raises(ValueError, match="both as its own option and in options_grid"):
        mcgrad.sweep(mcgrad.Bernoulli, {"logits": 0.0}, mcgrad.toy(0.4), [("gumbel_softmax", {"temperature": 0.3})],
                     n=2000, options_grid={"temperature": [0.5]})
