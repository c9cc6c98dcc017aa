"""Batch objectives: NumPy, @njit, JAX and PyTorch functions of a whole batch give the per-sample results.

The reference everywhere is the same f written as a per-sample ``@njit`` user objective: a batch objective sees
exactly the points the per-sample path sees, in the same order, so every estimator of every family must agree
with it to rounding, and the guarantees of the engine (threads, split runs, sweeps, SGD steps, Dask,
checkpoints) must hold for batch objectives bit for bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from conftest import RELAX_CONTROL

import mcgrad

T = 0.3  # f(x) = sum_i (x_i - T)^2 fits every support: real, positive, simplex, binary, one-hot


@numba.njit
def toy_value(x):
    return ((x - T) ** 2).sum()


@numba.njit
def toy_gradient(x):
    return 2.0 * (x - T)


@numba.njit
def toy_values_njit(points):
    return ((points - T) ** 2).sum(axis=1)


@numba.njit
def toy_gradients_njit(points):
    return 2.0 * (points - T)


def toy_values(points):
    return ((points - T) ** 2).sum(axis=1)


def toy_gradients(points):
    return 2.0 * (points - T)


PER_SAMPLE = mcgrad.user_objective(toy_value, toy_gradient, vector=True, name="toy")
NUMPY = mcgrad.batch_objective(toy_values, toy_gradients, name="toy", version=1, batch_size=1000)
NJIT = mcgrad.batch_objective(toy_values_njit, toy_gradients_njit, name="toy", batch_size=1000)

DISTRIBUTIONS = {
    "normal": mcgrad.Normal([0.4, -0.7], [0.8, 1.3]),
    "multivariate_normal": mcgrad.MultivariateNormal([0.4, -0.7], [[0.8, 0.0], [0.3, 1.3]]),
    "student_t": mcgrad.StudentT([6.0, 11.0], [0.4, -0.7], [0.8, 1.3]),
    "von_mises": mcgrad.VonMises([0.4, -0.7], [1.5, 12.0]),
    "gamma": mcgrad.Gamma([1.7, 0.6], [1.2, 0.9]),
    "beta": mcgrad.Beta(1.4, 2.2),
    "dirichlet": mcgrad.Dirichlet([0.8, 1.6, 2.4]),
    "bernoulli": mcgrad.Bernoulli(logits=[0.3, -0.8]),
    "categorical": mcgrad.Categorical(logits=[[0.2, -0.4, 0.9], [0.0, 0.5, -1.0]]),
}
ONE_VARIABLE = {"unordered_set": mcgrad.Categorical(logits=[0.2, -0.4, 0.9, 0.1])}  # estimators taking D = 1 only
DECLARATIONS = mcgrad.estimators.declarations()
N, BLOCK = 9_000, 2_000  # five blocks, the last one short


def options(spec) -> dict:
    return {"control": RELAX_CONTROL} if "control" in spec.options else {}


def same(a, b):
    for key in ("mean", "var", "stderr", "var_stderr"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


@pytest.mark.parametrize("spec", DECLARATIONS, ids=[f"{s.family}-{s.name}" for s in DECLARATIONS])
def test_every_estimator_gives_the_per_sample_result(spec):
    dist = ONE_VARIABLE.get(spec.name, DISTRIBUTIONS[spec.family])
    kw = dict(n=N, seed=11, block_size=BLOCK, **options(spec))
    reference = mcgrad.estimate(dist, PER_SAMPLE, spec.name, **kw)
    batched = mcgrad.estimate(dist, NUMPY, spec.name, **kw)
    assert np.all(np.isfinite(batched.mean)) and batched.nonfinite == 0
    np.testing.assert_allclose(batched.mean, reference.mean, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(batched.var, reference.var, rtol=1e-10, atol=1e-13)
    if spec.kind == "exact":
        assert "evaluations_per_sample" not in batched.diagnostics
        return
    evaluations = batched.diagnostics["evaluations_per_sample"]
    declared = spec.evaluations_per_sample({**spec.options, **kw}, dist.dim)
    # the D = 1 Bernoulli loops evaluate f(0) and f(1) once per block besides the declared per-sample points
    assert declared <= evaluations <= declared + 2 * reference.blocks[1] / N


@pytest.mark.parametrize("family,name", [("normal", "pathwise"), ("gamma", "rsvi"), ("categorical", "rebar"),
                                         ("bernoulli", "score_baseline")])
def test_njit_batches_equal_numpy_batches_bitwise(family, name):
    kw = dict(n=N, seed=3, block_size=BLOCK)
    same(mcgrad.estimate(DISTRIBUTIONS[family], NJIT, name, **kw),
         mcgrad.estimate(DISTRIBUTIONS[family], NUMPY, name, **kw))


@pytest.mark.parametrize("objective", [NUMPY, NJIT], ids=["numpy", "njit"])
@pytest.mark.parametrize("family,name", [("normal", "score"), ("gamma", "implicit"), ("bernoulli", "relax")])
def test_threads_and_split_runs_are_bitwise(objective, family, name):
    dist = DISTRIBUTIONS[family]
    kw = dict(n=N, seed=5, block_size=BLOCK, control=RELAX_CONTROL) if name == "relax" else dict(
        n=N, seed=5, block_size=BLOCK)
    whole = mcgrad.estimate(dist, objective, name, threads=2, **kw)
    same(mcgrad.estimate(dist, objective, name, threads=1, **kw), whole)
    head = mcgrad.estimate(dist, objective, name, blocks=(0, 2), **kw)
    tail = mcgrad.estimate(dist, objective, name, blocks=(2, 5), **kw)
    same(head.merge(tail), whole)


def test_a_tape_that_grows_gives_the_same_result(monkeypatch):
    """Blocks asking for more points than a tape holds (measure_valued: 4 per sample) are recorded again on a
    larger tape; groups of one block at a time (a small tape budget) change nothing either."""
    dist = DISTRIBUTIONS["normal"]
    kw = dict(n=N, seed=8, block_size=BLOCK)
    whole = mcgrad.estimate(dist, NUMPY, "measure_valued", **kw)
    monkeypatch.setattr(mcgrad.engine, "TAPE_BYTES", 1)
    same(mcgrad.estimate(dist, NUMPY, "measure_valued", **kw), whole)
    same(mcgrad.estimate(dist, PER_SAMPLE, "measure_valued", **kw), whole)


class Counting:
    """Batch functions that count the points they are asked for (beyond the one-point check of a new run)."""

    def __init__(self):
        self.values = 0
        self.gradients = 0

    def objective(self):
        def values(points):
            self.values += points.shape[0] if points.shape[0] > 1 else 0
            return toy_values(points)

        def gradients(points):
            self.gradients += points.shape[0] if points.shape[0] > 1 else 0
            return toy_gradients(points)

        return mcgrad.batch_objective(values, gradients, name="counted")


@pytest.mark.parametrize("family,name,wants", [
    ("normal", "pathwise", (False, True)), ("normal", "score", (True, False)), ("normal", "grep", (True, True)),
    ("gamma", "implicit", (False, True)), ("gamma", "rsvi", (True, True)), ("bernoulli", "gumbel_softmax",
                                                                            (False, True)),
    ("categorical", "straight_through", (False, True)), ("categorical", "rebar", (True, True)),
    ("normal", "score_delta", (True, False)),
])
def test_only_what_the_estimator_uses_is_evaluated(family, name, wants):
    counting = Counting()
    dist = DISTRIBUTIONS[family]
    r = mcgrad.estimate(dist, counting.objective(), name, N, seed=2, block_size=BLOCK)
    points = round(r.diagnostics["evaluations_per_sample"] * N)
    # a discrete family's exact gradient (Estimate.exact) takes the values at every outcome of the support
    support = mcgrad.engine.support_size(dist) if family in ("bernoulli", "categorical") else 0
    # the delta method's Taylor expansion takes f and f' at mu and mu +- a step along each coordinate
    expansion = 1 + 2 * dist.dim if name == "score_delta" else 0
    # a pilot pass (score_delta's estimated coefficient) takes f's values at its own samples
    pilot = r.diagnostics.get("pilot_samples", 0)
    assert (counting.values, counting.gradients) == ((points if wants[0] else 0) + support + expansion + pilot,
                                                     (points if wants[1] else 0) + expansion)


def test_sweeps_and_sgd_steps_match_the_per_sample_objective():
    grid = {"loc": [0.0, 0.5], "scale": [1.0]}
    kw = dict(n=N, seed=4, block_size=BLOCK)
    for column in ("mean", "var"):
        np.testing.assert_array_equal(
            mcgrad.sweep(mcgrad.Normal, grid, NUMPY, ["score", "pathwise"], **kw)[column].to_numpy(),
            mcgrad.sweep(mcgrad.Normal, grid, PER_SAMPLE, ["score", "pathwise"], **kw)[column].to_numpy())
    for dist, name, extra in [(DISTRIBUTIONS["normal"], "score", {"baseline": "moving_average"}),
                              (DISTRIBUTIONS["gamma"], "rsvi", {}), (DISTRIBUTIONS["categorical"], "rebar", {})]:
        run = dict(steps=25, samples=8, learning_rate=0.01, seed=9, **extra)
        a = mcgrad.optimise(dist, NUMPY, name, **run)
        b = mcgrad.optimise(dist, PER_SAMPLE, name, **run)
        np.testing.assert_array_equal(a.parameters, b.parameters)
        np.testing.assert_array_equal(a.baseline, b.baseline)  # NaN (no baseline) equals NaN here


def test_exact_gradients_of_discrete_families_by_enumeration():
    for family in ("bernoulli", "categorical"):
        dist = DISTRIBUTIONS[family]
        np.testing.assert_allclose(mcgrad.estimate(dist, NUMPY, "score", 4000, seed=1).exact,
                                   mcgrad.estimate(dist, PER_SAMPLE, "score", 4000, seed=1).exact, rtol=1e-13)


def test_checkpoints_need_a_version_for_host_functions(tmp_path):
    dist = DISTRIBUTIONS["normal"]
    unversioned = mcgrad.batch_objective(toy_values, toy_gradients, name="toy")
    with pytest.raises(ValueError, match="give it a version"):
        mcgrad.estimate(dist, unversioned, "score", N, seed=1, block_size=BLOCK, checkpoint=tmp_path / "a.npz")
    kw = dict(n=N, seed=1, block_size=BLOCK)
    whole = mcgrad.estimate(dist, NUMPY, "score", **kw)
    path = tmp_path / "run.npz"
    mcgrad.estimate(dist, NUMPY, "score", blocks=(0, 2), checkpoint=path, **kw)
    same(mcgrad.estimate(dist, NUMPY, "score", checkpoint=path, **kw), whole)
    newer = mcgrad.batch_objective(toy_values, toy_gradients, name="toy", version=2, batch_size=1000)
    with pytest.raises(ValueError, match="made with other settings"):
        mcgrad.estimate(dist, newer, "score", checkpoint=path, **kw)
    same(mcgrad.estimate(dist, NJIT, "score", checkpoint=tmp_path / "njit.npz", **kw), whole)


def test_bad_batch_objectives_are_refused_clearly():
    dist = DISTRIBUTIONS["normal"]
    with pytest.raises(TypeError, match="values must be callable"):
        mcgrad.batch_objective(3.0)
    with pytest.raises(TypeError, match="both be @numba.njit functions"):
        mcgrad.batch_objective(toy_values_njit, toy_gradients)
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        mcgrad.batch_objective(toy_values, batch_size=0)
    with pytest.raises(TypeError, match="version must be"):
        mcgrad.batch_objective(toy_values, version=1.5)
    wrong_shape = mcgrad.batch_objective(lambda points: points, name="wrong")  # (B, D) values
    with pytest.raises(TypeError, match=r"wrong \(values\) must return an array of shape \(1,\)"):
        mcgrad.estimate(dist, wrong_shape, "score", 1000)
    no_gradients = mcgrad.batch_objective(toy_values)
    with pytest.raises(ValueError, match="needs the derivative of f"):
        mcgrad.estimate(dist, no_gradients, "pathwise", 1000)

    @numba.njit
    def short(points):  # right for the one-point check of a new run, wrong for the batches of the run
        return np.zeros(points.shape[0] if points.shape[0] == 1 else 3)

    with pytest.raises(TypeError, match="wrong shape"):
        mcgrad.estimate(dist, mcgrad.batch_objective(short, name="short"), "score", 1000, block_size=100)


def test_a_block_too_large_for_a_tape_is_refused_with_the_block_size_that_fits(monkeypatch):
    monkeypatch.setattr(mcgrad.engine, "TAPE_BLOCK_LIMIT", 8 * 3 * 1000)  # a header and 998 points of (f, x_1, x_2)
    dist = DISTRIBUTIONS["normal"]
    with pytest.raises(ValueError, match=r"needs a tape of .* pass block_size=998 or less"):
        mcgrad.estimate(dist, NUMPY, "score", 5000, block_size=2000)
    assert mcgrad.estimate(dist, NUMPY, "score", 5000, block_size=998).n == 5000
    # a tape that grows past the limit (measure_valued: 4 points per coordinate, 8 per sample here) too
    with pytest.raises(ValueError, match=r"pass block_size=124 or less"):
        mcgrad.estimate(dist, NUMPY, "measure_valued", 5000, block_size=998)


def test_a_failing_host_function_reports_its_own_error():
    def broken(points):
        if points.shape[0] > 1:
            raise RuntimeError("model exploded")
        return toy_values(points)

    with pytest.raises(RuntimeError, match="model exploded"):
        mcgrad.estimate(DISTRIBUTIONS["normal"], mcgrad.batch_objective(broken), "score", 5000)


def test_nonfinite_values_are_counted_not_hidden():
    def log_values(points):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log(points).sum(axis=1)

    with pytest.warns(RuntimeWarning, match="were NaN or infinite"):
        r = mcgrad.estimate(DISTRIBUTIONS["normal"], mcgrad.batch_objective(log_values), "score", 4000, seed=1)
    assert 0 < r.nonfinite < 4000


# ---------------------------------------------------------------- JAX and PyTorch


def agrees_with_numpy(objective, cases):
    """The estimates of ``objective`` equal those of the NumPy batch objective to rounding."""
    for family, name in cases:
        kw = dict(n=N, seed=6, block_size=BLOCK)
        a = mcgrad.estimate(DISTRIBUTIONS[family], objective, name, **kw)
        b = mcgrad.estimate(DISTRIBUTIONS[family], NUMPY, name, **kw)
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-13, err_msg=f"{family} {name}")
        np.testing.assert_allclose(a.var, b.var, rtol=1e-10, atol=1e-13, err_msg=f"{family} {name}")


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def test_jax_objective_equals_the_numpy_one(jax):
    import jax.numpy as jnp

    objective = mcgrad.jax_objective(lambda x: jnp.sum((x - T) ** 2), name="toy_jax", batch_size=1000)
    agrees_with_numpy(objective, [("normal", "pathwise"), ("normal", "score"), ("dirichlet", "rsvi"),
                                  ("categorical", "rebar")])


def test_jax_objective_needs_64_bit_floats(jax):
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="jax_enable_x64"):
            mcgrad.jax_objective(lambda x: x.sum())
    finally:
        jax.config.update("jax_enable_x64", True)


def test_torch_objective_equals_the_numpy_one():
    torch = pytest.importorskip("torch")
    objective = mcgrad.torch_objective(lambda x: torch.sum((x - T) ** 2), name="toy_torch", batch_size=1000)
    agrees_with_numpy(objective, [("normal", "pathwise"), ("gamma", "score"), ("bernoulli", "rebar"),
                                  ("bernoulli", "disarm")])
    assert math.isfinite(objective.batch.evaluate(np.zeros((2, 2)), True, True)[0][0])
