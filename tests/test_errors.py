import math

import numba
import numpy as np
import pytest

import mcgrad


@pytest.mark.parametrize("loc,scale,exc,match", [
    (0.0, 0.0, ValueError, "scale must be > 0"),
    (0.0, -1.0, ValueError, "scale must be > 0"),
    (0.0, 1e-310, ValueError, r"scale must be >= 2.2250738585072014e-308 \(the smallest normal double"),
    (0.0, [1.0, 5e-324], ValueError, "scale must be >= 2.22"),
    (math.nan, 1.0, ValueError, "loc must be finite"),
    (0.0, math.inf, ValueError, "scale must be finite"),
    ([0.0, 1.0], [1.0, 2.0, 3.0], ValueError, "same length"),
    ("a", 1.0, TypeError, "loc must be a real number"),
    (np.zeros((2, 2)), 1.0, ValueError, "loc must be a scalar or a 1-D array"),
    ([], 1.0, ValueError, "loc must not be empty"),
    (True, 1.0, TypeError, "loc"),
])
def test_bad_normal_parameters(loc, scale, exc, match):
    with pytest.raises(exc, match=match):
        mcgrad.Normal(loc, scale)


@pytest.mark.parametrize("make", [lambda x: mcgrad.Normal(0.0, x), lambda x: mcgrad.StudentT(5.0, 0.0, x),
                                  lambda x: mcgrad.Gamma(2.0, x)], ids=["Normal scale", "StudentT scale", "Gamma rate"])
def test_subnormal_scales_are_refused(make):
    """A subnormal scale or rate made 1 / scale infinite and every sample non-finite, with only a warning."""
    with pytest.raises(ValueError, match="must be >= 2.2250738585072014e-308"):
        make(1e-310)


@pytest.mark.parametrize("make", [lambda x: mcgrad.Normal(0.0, x), lambda x: mcgrad.StudentT(5.0, 0.0, x)],
                         ids=["Normal", "StudentT"])
def test_the_smallest_normal_scale_gives_finite_estimates(make):
    """score divides by the scale: at the smallest normal one the estimates must stay finite."""
    result = mcgrad.estimate(make(2.2250738585072014e-308), mcgrad.linear(1.0), "score", 1000, seed=1)
    assert np.all(np.isfinite(result.mean))


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"n": 0}, ValueError, "n must be an integer >= 2"),
    ({"n": 1}, ValueError, "n must be an integer >= 2"),
    ({"n": -5}, ValueError, "n must be an integer >= 2"),
    ({"n": 2.5}, TypeError, "n must be an integer"),
    ({"n": math.nan}, TypeError, "n must be an integer"),
    ({"seed": -1}, ValueError, "seed must be an integer in"),
    ({"seed": 2**64}, ValueError, "seed must be an integer in"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"estimator": "reinforce"}, ValueError, "unknown estimator 'reinforce'; known estimators are"),
    ({"estimator": 3}, TypeError, "estimator must be a string"),
    ({"estimator": "grep", "transform": 3}, ValueError, r"transform for estimator 'grep' must be one of \[1, 2\]"),
    ({"estimator": "score", "transform": 2}, TypeError, "unknown option"),
    ({"block_size": 0}, ValueError, "block_size must be"),
    ({"blocks": (3, 2)}, ValueError, "blocks must satisfy"),
    ({"blocks": (0, 99)}, ValueError, "blocks must satisfy"),
    ({"threads": 0}, ValueError, "threads must be"),
    ({"threads": 10_000}, ValueError, "threads must be between"),
])
def test_bad_estimate_arguments(kwargs, exc, match):
    args = {"n": 1000, "seed": 0, "estimator": "score"} | kwargs
    with pytest.raises(exc, match=match):
        mcgrad.estimate(mcgrad.Normal(0.0, 1.0), "square", **args)


def test_bad_objectives():
    with pytest.raises(ValueError, match="unknown objective 'cube'"):
        mcgrad.estimate(mcgrad.Normal(), "cube")
    with pytest.raises(TypeError, match="must be an Objective"):
        mcgrad.estimate(mcgrad.Normal(), lambda x: x)
    with pytest.raises(TypeError, match="must be a function decorated with @numba.njit"):
        mcgrad.user_objective(lambda x: x * x)
    with pytest.raises(ValueError, match="c must be finite"):
        mcgrad.square(math.inf)
    with pytest.raises(TypeError, match="k must be a real number"):
        mcgrad.cos("1")


@numba.njit
def _returns_array(x):
    return np.array([x, x])


@numba.njit
def _vector_only(x):
    return x.sum()


@numba.njit
def _wrong_length_grad(x):
    return np.zeros(x.shape[0] + 1)


def test_user_function_of_the_wrong_kind():
    with pytest.raises(TypeError, match="does not compile as a scalar objective"):
        mcgrad.user_objective(_returns_array)
    with pytest.raises(TypeError, match="does not compile as a scalar objective"):
        mcgrad.user_objective(_vector_only)  # a vector function passed without vector=True
    bad = mcgrad.user_objective(_vector_only, _wrong_length_grad, vector=True)
    with pytest.raises(TypeError, match="could not be evaluated"):
        mcgrad.estimate(mcgrad.Normal([0.0, 1.0], 1.0), bad, "pathwise", 1000)
    no_derivative = mcgrad.user_objective(_vector_only, vector=True)
    with pytest.raises(ValueError, match="needs the derivative of f"):
        mcgrad.estimate(mcgrad.Normal([0.0, 1.0], 1.0), no_derivative, "pathwise", 1000)
    r = mcgrad.estimate(mcgrad.Normal([0.0, 1.0], 1.0), no_derivative, "score", 100_000)
    assert np.all(np.isfinite(r.mean))


def test_not_a_distribution():
    with pytest.raises(TypeError, match="dist must be an mcgrad distribution"):
        mcgrad.estimate("normal", "square")


@numba.njit
def _overflowing(x):
    return math.exp(x * x * 1000.0)


def test_non_finite_gradients_are_reported_not_silent():
    obj = mcgrad.user_objective(_overflowing)
    with pytest.warns(RuntimeWarning, match="were NaN or infinite"):
        r = mcgrad.estimate(mcgrad.Normal(0.0, 3.0), obj, "score", 10_000)
    assert r.nonfinite > 0


@pytest.mark.parametrize("make,exc,match", [
    (lambda: mcgrad.Bernoulli(), TypeError, "exactly one of logits= or probs="),
    (lambda: mcgrad.Bernoulli(logits=0.0, probs=0.5), TypeError, "exactly one of logits= or probs="),
    (lambda: mcgrad.Bernoulli(probs=1.2), ValueError, r"probs must lie in the open interval \(0, 1\)"),
    (lambda: mcgrad.Bernoulli(probs=-0.1), ValueError, "probs must lie"),
    (lambda: mcgrad.Bernoulli(probs=0.0), ValueError, "probs must lie"),
    (lambda: mcgrad.Bernoulli(logits=math.nan), ValueError, "logits must be finite"),
    (lambda: mcgrad.Bernoulli(logits=[0.0, math.inf]), ValueError, "logits must be finite"),
    (lambda: mcgrad.Bernoulli(logits="x"), TypeError, "logits must be real numbers"),
    (lambda: mcgrad.Bernoulli(logits=np.zeros((2, 2))), ValueError, "logits must be a scalar or a 1-D array"),
    (lambda: mcgrad.Categorical(logits=[1.0]), ValueError, "K >= 2 classes"),
    (lambda: mcgrad.Categorical(logits=np.zeros((2, 2, 2))), ValueError, r"shape \(K,\) or \(D, K\)"),
    (lambda: mcgrad.Categorical(probs=[0.5, 0.6]), ValueError, "probs must sum to 1"),
    (lambda: mcgrad.Categorical(probs=[0.0, 1.0]), ValueError, r"probs must lie in \(0, 1\]"),
    (lambda: mcgrad.Categorical(probs=[1.5, -0.5]), ValueError, "probs must lie"),
    (lambda: mcgrad.Categorical(logits=[0.0, math.nan]), ValueError, "logits must be finite"),
])
def test_bad_discrete_parameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@numba.njit
def _cv(z):
    return z


@numba.njit
def _dcv(z):
    return 1.0


@pytest.mark.parametrize("dist,f,estimator,opts,exc,match", [
    (mcgrad.Categorical(logits=[0.0, 1.0]), "toy", "arm", {}, ValueError,
     "estimator 'arm' does not apply to the categorical family; use one of"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "rsvi", {}, ValueError, "does not apply to the bernoulli family"),
    (mcgrad.Normal(0.0, 1.0), "square", "rebar", {}, ValueError, "does not apply to the normal family"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "gumbel_softmax", {"temperature": 0.0}, ValueError,
     "temperature for estimator 'gumbel_softmax' must be a finite number > 0"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "rebar", {"temperature": -1.0}, ValueError, "temperature"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "rebar", {"temperature": math.nan}, ValueError, "temperature"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "rebar", {"temperature": True}, ValueError, "temperature"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "rebar", {"eta": math.inf}, ValueError,
     "eta for estimator 'rebar' must be a finite real number"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "score", {"temperature": 1.0}, TypeError, "unknown option"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "relax", {}, TypeError, "needs control=mcgrad.user_objective"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "relax", {"control": _cv}, TypeError,
     "control for estimator 'relax' must be mcgrad.user_objective"),
    (mcgrad.Bernoulli(logits=0.0), "toy", "relax", {"control": mcgrad.user_objective(_cv)}, TypeError,
     "with a derivative"),
    (mcgrad.Bernoulli(logits=0.0), mcgrad.user_objective(_cv), "rebar", {}, ValueError, "needs the derivative of f"),
    (mcgrad.Bernoulli(logits=0.0), "one_hot_quadratic", "score", {}, ValueError, "use it with Categorical"),
    (mcgrad.Categorical(logits=[0.0, 1.0]), mcgrad.one_hot_quadratic(2), "score", {}, ValueError,
     r"target class 2 is out of range; allowed: 0..1"),
    (mcgrad.Bernoulli(logits=0.0), "log", "score", {}, ValueError, "needs positive x"),
    (mcgrad.Categorical(logits=[0.0, 1.0]), "component", "score", {}, ValueError, "defined on the simplex"),
])
def test_bad_discrete_estimates(dist, f, estimator, opts, exc, match):
    with pytest.raises(exc, match=match):
        mcgrad.estimate(dist, f, estimator, 1000, **opts)
