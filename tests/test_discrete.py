"""Bernoulli and Categorical estimators against enumeration, quadrature and the closed forms of
docs/estimators.md (sections Bernoulli, Categorical)."""

import math

import numba
import numpy as np
import pytest
import reference_discrete
from conftest import RELAX_CONTROL as CONTROL
from conftest import assert_close_se
from reference_discrete import bernoulli_moments, enumerate_bernoulli, enumerate_categorical
from scipy.special import expit, softmax

import mcgrad

N = 1_000_000




@numba.njit
def _coupled(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += (i + 1.0) * x[i]
    return total * total + x[0] * x[x.shape[0] - 1]


@numba.njit
def _coupled_grad(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += (i + 1.0) * x[i]
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = 2.0 * total * (i + 1.0)
    out[0] += x[x.shape[0] - 1]
    out[x.shape[0] - 1] += x[0]
    return out


COUPLED = mcgrad.user_objective(_coupled, _coupled_grad, vector=True, name="coupled")


def _coupled_py(x):
    x = np.asarray(x, float)
    return float(np.dot(np.arange(1, x.size + 1), x) ** 2 + x[0] * x[-1])


def _toy_py(t):
    return lambda x: float(np.sum((np.asarray(x) - t) ** 2))


# ---------------------------------------------------------------- the toy, score: closed forms (docs/estimators.md)

@pytest.mark.parametrize("t", [0.45, 0.499])
@pytest.mark.parametrize("theta", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_toy_score_closed_form(t, theta):
    logit = math.log(theta / (1 - theta))
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=logit), mcgrad.toy(t), "score", N, seed=1)
    f0, f1 = t * t, (1 - t) ** 2
    var = theta * (1 - theta) * ((1 - theta) * f1 + theta * f0) ** 2
    assert_close_se(r.mean, (1 - 2 * t) * theta * (1 - theta), r.stderr, what="mean")
    assert_close_se(r.var, var, r.var_stderr, what="var")
    np.testing.assert_allclose(r.exact, (1 - 2 * t) * theta * (1 - theta), rtol=1e-12)


def test_toy_score_values():
    by_logit = mcgrad.estimate(mcgrad.Bernoulli(logits=0.0), mcgrad.toy(0.45), "score", N, seed=2)
    by_prob = mcgrad.estimate(mcgrad.Bernoulli(probs=0.5), mcgrad.toy(0.45), "score", N, seed=2)
    assert_close_se(by_logit.var, 0.0159391, by_logit.var_stderr, what="Var score(logit)")
    assert_close_se(by_prob.var, 0.255025, by_prob.var_stderr, what="Var score(theta)")
    assert_close_se(by_prob.mean, 1 - 2 * 0.45, by_prob.stderr, what="d/dtheta")
    assert by_prob.components == ["probs"] and by_logit.components == ["logits"]


# ---------------------------------------------------------------- one Bernoulli: quadrature oracles

ONE_D = [
    ("score", {}), ("arm", {}), ("disarm", {}),
    ("gumbel_softmax", {"temperature": 0.5}), ("gumbel_softmax", {"temperature": 2.0}),
    ("straight_through", {"temperature": 0.5}),
    ("rebar", {"temperature": 0.5, "eta": 1.0}), ("rebar", {"temperature": 0.3, "eta": 0.5}),
    ("rebar", {"temperature": 2.0, "eta": -0.7}), ("relax", {"control": CONTROL}),
]


@pytest.mark.parametrize("t", [0.45, 0.499])
@pytest.mark.parametrize("theta", [0.2, 0.5, 0.85])
@pytest.mark.parametrize("estimator,opts", ONE_D, ids=[f"{e}-{i}" for i, (e, _) in enumerate(ONE_D)])
def test_one_bernoulli_mean_and_variance_by_quadrature(estimator, opts, theta, t):
    logit = math.log(theta / (1 - theta))
    kw = {"lam": opts.get("temperature", 0.5), "eta": opts.get("eta", 1.0), "c": lambda z: 0.3 * z * z - 0.1 * z,
          "dc": lambda z: 0.6 * z - 0.1}
    mean, var = bernoulli_moments(estimator, logit, lambda x: (x - t) ** 2, lambda x: 2 * (x - t), **kw)
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=logit), mcgrad.toy(t), estimator, N, seed=3, **opts)
    assert_close_se(r.mean, mean, r.stderr, what=f"{estimator} mean")
    assert_close_se(r.var, var, r.var_stderr, what=f"{estimator} var")
    exact = (1 - 2 * t) * theta * (1 - theta)
    if r.biased:
        np.testing.assert_allclose(r.bias, r.mean - exact, rtol=1e-12)
    else:
        assert_close_se(r.mean, exact, r.stderr, what=f"{estimator} unbiased")


def test_arm_and_disarm_beat_score_on_the_toy():
    dist, f = mcgrad.Bernoulli(logits=0.4), mcgrad.toy(0.45)
    var = {e: mcgrad.estimate(dist, f, e, N, seed=4).var[0] for e in ("score", "arm", "disarm")}
    assert var["disarm"] <= var["arm"] < var["score"] / 10


# ---------------------------------------------------------------- several variables: enumeration

BERNOULLI_LOGITS = [0.4, -1.2, 2.0]
CATEGORICAL_LOGITS = [[0.3, -0.5, 1.1], [[0.2, 0.0, -1.0], [1.5, 0.3, 0.1]]]
UNBIASED = [("score", {}), ("rebar", {"temperature": 0.5, "eta": 1.0}), ("rebar", {"temperature": 1.5, "eta": 0.3}),
            ("relax", {"control": CONTROL}), ("relax", {"control": CONTROL, "eta": 0.5})]


@pytest.mark.parametrize("f,f_py", [(mcgrad.toy(0.45), _toy_py(0.45)), (COUPLED, _coupled_py)], ids=["toy", "coupled"])
@pytest.mark.parametrize("estimator,opts", UNBIASED + [("arm", {}), ("disarm", {})])
def test_bernoulli_vector_unbiased(estimator, opts, f, f_py):
    dist = mcgrad.Bernoulli(logits=BERNOULLI_LOGITS)
    _, grad, score_var = enumerate_bernoulli(BERNOULLI_LOGITS, f_py)
    r = mcgrad.estimate(dist, f, estimator, N, seed=5, **opts)
    assert_close_se(r.mean, grad, r.stderr, what=f"{estimator} mean")
    np.testing.assert_allclose(r.exact, grad, rtol=1e-10, atol=1e-14)
    if estimator == "score":
        assert_close_se(r.var, score_var, r.var_stderr, what="score var")


@pytest.mark.parametrize("logits", CATEGORICAL_LOGITS, ids=["K3", "D2K3"])
@pytest.mark.parametrize("f,f_py", [(mcgrad.one_hot_quadratic(1), None), (COUPLED, _coupled_py),
                                    (mcgrad.linear(0.7), None)], ids=["onehot", "coupled", "linear"])
@pytest.mark.parametrize("estimator,opts", UNBIASED)
def test_categorical_unbiased(estimator, opts, f, f_py, logits):
    classes = np.shape(logits)[-1]
    if f_py is None and f.name.startswith("one_hot"):
        def f_py(x):
            return float(np.sum((np.reshape(x, (-1, classes)) - np.eye(classes)[1]) ** 2))
    elif f_py is None:
        def f_py(x):
            return float(0.7 * np.sum(np.reshape(x, (-1, classes)) * np.arange(classes)))
    dist = mcgrad.Categorical(logits=logits)
    _, grad, score_var = enumerate_categorical(logits, f_py)
    r = mcgrad.estimate(dist, f, estimator, N, seed=6, **opts)
    assert_close_se(r.mean, grad, r.stderr, what=f"{estimator} mean")
    np.testing.assert_allclose(r.exact, grad, rtol=1e-10, atol=1e-13)
    if estimator == "score":
        assert_close_se(r.var, score_var, r.var_stderr, what="score var")


def test_categorical_score_with_batches_off_the_lanes():
    """K = 40: batches of 12 samples, fewer than the 16 lanes of the power sums, so every sample takes
    the lane-by-lane path; mean and variance still match enumeration."""
    logits = np.linspace(-2.0, 1.0, 40)
    dist = mcgrad.Categorical(logits=logits)

    def f_py(x):
        return float(np.sum((x - np.eye(40)[3]) ** 2))

    _, grad, var = enumerate_categorical(logits, f_py)
    r = mcgrad.estimate(dist, mcgrad.one_hot_quadratic(3), "score", 300_001, seed=11)
    assert_close_se(r.mean, grad, r.stderr, what="score mean")
    assert_close_se(r.var, var, r.var_stderr, what="score var")


def test_probs_parameterisation_is_the_chain_rule():
    probs = np.array([[0.2, 0.5, 0.3]])
    by_probs = mcgrad.estimate(mcgrad.Categorical(probs=probs[0]), COUPLED, "rebar", N, seed=7)
    _, grad_logits, _ = enumerate_categorical(np.log(probs), _coupled_py)
    assert_close_se(by_probs.mean, grad_logits / probs[0], by_probs.stderr, what="d/dprobs")
    assert by_probs.components == ["probs[0]", "probs[1]", "probs[2]"]
    theta = np.array([0.3, 0.8])
    r = mcgrad.estimate(mcgrad.Bernoulli(probs=theta), mcgrad.toy(0.45), "disarm", N, seed=7)
    assert_close_se(r.mean, np.full(2, 1 - 2 * 0.45), r.stderr, what="d/dtheta")


# ---------------------------------------------------------------- relaxed estimators: bias measured

def test_categorical_gumbel_softmax_is_the_gradient_of_the_relaxed_objective():
    """gumbel_softmax is unbiased for grad E[f(softmax((l + G)/lam))]: check against central finite
    differences of that expectation on common NumPy Gumbel draws."""
    logits, lam, h = np.array([0.3, -0.5, 1.1]), 0.7, 1e-5
    gumbel = np.random.default_rng(0).gumbel(size=(N, 3))
    target = np.eye(3)[1]

    def relaxed(ls):
        return np.sum((softmax((ls + gumbel) / lam, axis=1) - target) ** 2, axis=1)

    fd = np.stack([(relaxed(logits + h * e) - relaxed(logits - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), mcgrad.one_hot_quadratic(1), "gumbel_softmax", N, seed=8,
                        temperature=lam)
    se = np.sqrt(r.stderr**2 + fd.var(axis=0) / N)
    assert_close_se(r.mean, fd.mean(axis=0), se, what="gumbel_softmax vs finite differences")
    assert np.all(np.abs(r.z) > 10), "the relaxation's bias should be visible at this n"


def test_categorical_straight_through_against_numpy():
    logits, lam = np.array([0.3, -0.5, 1.1]), 0.4
    z = logits - np.log(np.exp(logits).sum()) + np.random.default_rng(1).gumbel(size=(N, 3))
    soft = softmax(z / lam, axis=1)
    fprime = 2 * (np.eye(3)[z.argmax(axis=1)] - np.eye(3)[0])
    g = soft * (fprime - np.sum(fprime * soft, axis=1, keepdims=True)) / lam
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), mcgrad.one_hot_quadratic(0), "straight_through", N,
                        seed=9, temperature=lam)
    assert_close_se(r.mean, g.mean(axis=0), np.sqrt(r.stderr**2 + g.var(axis=0) / N), what="st mean")
    assert_close_se(r.var, g.var(axis=0, ddof=1), np.sqrt(2) * r.var_stderr, what="st var")


def test_gumbel_softmax_bias_shrinks_with_temperature():
    dist = mcgrad.Bernoulli(logits=0.8)
    frame = mcgrad.temperature_sweep(dist, mcgrad.linear(1.0), [1.0, 0.3, 0.1, 0.03], estimators="gumbel_softmax",
                                     n=N, seed=10)
    assert list(frame["temperature"]) == [1.0, 0.3, 0.1, 0.03]
    theta = expit(0.8)
    np.testing.assert_allclose(frame["exact"], theta * (1 - theta), rtol=1e-12)
    bias = frame["bias"].abs().to_numpy()
    assert np.all(np.diff(bias) < 0), bias
    for lam, row in zip([1.0, 0.3, 0.1, 0.03], frame.itertuples(), strict=True):
        mean, _ = bernoulli_moments("gumbel_softmax", 0.8, lambda x: x, lambda x: 1.0, lam=lam)
        assert_close_se(row.mean, mean, row.stderr, what=f"lam={lam}")


def test_temperature_sweep_covers_estimators_and_components():
    frame = mcgrad.temperature_sweep(mcgrad.Categorical(logits=[0.0, 1.0]), "toy", [0.2, 2.0], n=100_000)
    assert len(frame) == 2 * 2 * 2
    assert set(frame["estimator"]) == {"gumbel_softmax[temperature=0.2]", "gumbel_softmax[temperature=2]",
                                       "straight_through[temperature=0.2]", "straight_through[temperature=2]"}
    assert frame["biased"].all() and "z" in frame


# ---------------------------------------------------------------- exact enumeration

def test_exact_estimator_enumerates():
    r = mcgrad.estimate(mcgrad.Categorical(logits=CATEGORICAL_LOGITS[1]), COUPLED, "exact", 1000)
    _, grad, _ = enumerate_categorical(CATEGORICAL_LOGITS[1], _coupled_py)
    np.testing.assert_allclose(r.mean, grad, rtol=1e-12, atol=1e-14)
    assert np.all(r.var == 0.0) and r.n == 1000 and not r.biased
    assert np.all(r.z == 0.0)


def test_exact_refused_above_its_size():
    with pytest.raises(ValueError, match="at most 1,048,576 outcomes"):
        mcgrad.estimate(mcgrad.Bernoulli(logits=np.zeros(21)), "toy", "exact", 100)
    big = mcgrad.estimate(mcgrad.Categorical(logits=np.zeros((7, 10))), "toy", "score", 1000)
    assert big.exact is None and big.bias is None


# ---------------------------------------------------------------- stability at the extremes

ALL = ["score", "gumbel_softmax", "straight_through", "rebar", "relax", "arm", "disarm", "exact"]


@pytest.mark.parametrize("lam", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("dist", [
    mcgrad.Bernoulli(logits=50.0), mcgrad.Bernoulli(logits=-50.0), mcgrad.Bernoulli(logits=[-50.0, 50.0, 0.0]),
    mcgrad.Categorical(logits=[50.0, -50.0, 0.0]), mcgrad.Categorical(logits=[[-50.0, -50.0], [50.0, -50.0]]),
], ids=["b+50", "b-50", "b3", "c3", "c2x2"])
def test_extreme_logits_and_temperatures_stay_finite(dist, lam):
    import warnings

    for name in ALL:
        if name in ("arm", "disarm") and dist.family == "categorical":
            continue
        opts = {"control": CONTROL} if name == "relax" else {}
        if name in ("gumbel_softmax", "straight_through", "rebar"):
            opts["temperature"] = lam
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            r = mcgrad.estimate(dist, mcgrad.toy(0.45), name, 200_000, seed=11, **opts)
        assert r.nonfinite == 0 and np.all(np.isfinite(r.mean)) and np.all(np.isfinite(r.var)), name
        assert np.all(np.isfinite(r.exact))


def test_extreme_probabilities_stay_finite():
    r = mcgrad.estimate(mcgrad.Bernoulli(probs=[1e-15, 1 - 1e-12]), mcgrad.toy(0.45), "rebar", 100_000, seed=12)
    assert np.all(np.isfinite(r.mean)) and np.all(np.isfinite(r.var)) and r.nonfinite == 0
    np.testing.assert_allclose(r.exact, 1 - 2 * 0.45, rtol=1e-6)  # the outcome that carries it is never drawn


# ---------------------------------------------------------------- sampling

def test_gumbel_max_frequencies():
    from scipy import stats

    from mcgrad.kernels import categorical, rng

    log_theta = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    n, block = 400_000, 1
    out = np.empty(n, np.int64)
    categorical.sum_gumbel_max_blocks(rng.run_key(3), log_theta, block, n, out)
    counts = np.bincount(out, minlength=4)
    assert stats.chisquare(counts, n * np.exp(log_theta)).pvalue > 1e-4


# ---------------------------------------------------------------- estimators of the outcome alone: enumeration
@pytest.mark.parametrize("temperature", [1.0, 0.4, 3.0])
@pytest.mark.parametrize("logits", CATEGORICAL_LOGITS, ids=["K3", "D2K3"])
@pytest.mark.parametrize("f,df", [(mcgrad.one_hot_quadratic(1), None), (COUPLED, _coupled_grad.py_func)],
                         ids=["onehot", "coupled"])
def test_reinmax_mean_and_variance_by_enumeration(f, df, logits, temperature):
    """ReinMax's gradient is a function of the outcome: its exact mean and variance are sums over the support;
    its bias is reported against the exact gradient."""
    classes = np.shape(logits)[-1]
    if df is None:
        def df(x):
            return 2 * (np.reshape(x, (-1, classes)) - np.eye(classes)[1]).ravel()
    mean, var = reference_discrete.reinmax_moments(logits, df, temperature)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), f, "reinmax", N // 4, seed=9, temperature=temperature)
    assert r.biased and r.estimator == f"reinmax[temperature={temperature:g}]"
    assert_close_se(r.mean, mean, r.stderr, what="reinmax mean")
    assert_close_se(r.var, var, r.var_stderr, what="reinmax var")
    np.testing.assert_allclose(r.bias, r.mean - r.exact, rtol=1e-12)


def test_reinmax_is_exact_for_quadratics_at_temperature_one():
    # E over b of (2 J(pi1) - J(theta) / 2) at temperature 1 is J(theta), and grad f is affine in b for a one-hot
    # quadratic: the mean is the exact gradient; at another temperature it is not
    dist, f = mcgrad.Categorical(logits=CATEGORICAL_LOGITS[1]), mcgrad.one_hot_quadratic(1)
    at_one = mcgrad.estimate(dist, f, "reinmax", N // 4, seed=10, temperature=1.0)
    assert_close_se(at_one.mean, at_one.exact, at_one.stderr, what="reinmax at temperature 1")
    at_half = mcgrad.estimate(dist, f, "reinmax", N // 4, seed=10, temperature=0.5)
    assert np.max(np.abs(at_half.bias) / at_half.stderr) > 20


@pytest.mark.parametrize("temperature,gap", [(1.0, 1.0), (0.5, 1.0), (2.0, 0.3), (0.5, 0.0)])
@pytest.mark.parametrize("logits", CATEGORICAL_LOGITS + [[2.0, 0.5, -0.3, -4.0, 0.0]], ids=["K3", "D2K3", "K5"])
@pytest.mark.parametrize("f,df", [(mcgrad.one_hot_quadratic(1), None), (COUPLED, _coupled_grad.py_func)],
                         ids=["onehot", "coupled"])
def test_gapped_straight_through_mean_and_variance_by_enumeration(f, df, logits, temperature, gap):
    """Gapped straight-through is a function of the outcome: exact mean and variance by enumeration, the
    oracle written as the authors' code forms the gapped logits (from the logits, not log theta)."""
    classes = np.shape(logits)[-1]
    if df is None:
        def df(x):
            return 2 * (np.reshape(x, (-1, classes)) - np.eye(classes)[1]).ravel()
    mean, var = reference_discrete.gapped_moments(logits, df, temperature, gap)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), f, "gapped_straight_through", N // 4, seed=16,
                        temperature=temperature, gap=gap)
    assert r.biased and r.estimator == f"gapped_straight_through[temperature={temperature:g},gap={gap:g}]"
    assert_close_se(r.mean, mean, r.stderr, what="gapped straight-through mean")
    assert_close_se(r.var, var, r.var_stderr, what="gapped straight-through var")


@pytest.mark.parametrize("samples", [2, 3, 5])
@pytest.mark.parametrize("logits", [[0.3, -0.5, 1.1, 0.0, -2.0], [3.0, 0.5, -0.3, -2.5, 0.0]], ids=["mild", "peaked"])
@pytest.mark.parametrize("f", [mcgrad.one_hot_quadratic(1), COUPLED], ids=["onehot", "coupled"])
def test_unordered_set_mean_and_variance_by_enumeration(f, logits, samples):
    """The unordered set estimator with its baseline is unbiased: its mean is the exact gradient, and its
    variance, a sum over every ordered sample without replacement, is matched; the oracle forms the set
    probabilities as sums over orderings, the kernel by dynamic programming over subsets."""
    classes = len(logits)
    f_py = _coupled_py if f is COUPLED else _toy_py(np.eye(classes)[1])
    mean, var = reference_discrete.unordered_set_moments(logits, f_py, samples)
    _, exact, _ = reference_discrete.enumerate_categorical(logits, f_py)
    np.testing.assert_allclose(mean, exact, atol=1e-12)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), f, "unordered_set", N // 4, seed=17, samples=samples)
    assert not r.biased and r.estimator == f"unordered_set[samples={samples}]"
    assert_close_se(r.mean, exact, r.stderr, what="unordered_set mean")
    assert_close_se(r.var, var, r.var_stderr, what="unordered_set var")
    assert r.diagnostics["evaluations_per_sample"] == samples


def test_unordered_set_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match=r"one categorical without replacement \(D = 1\), got D = 2"):
        mcgrad.estimate(mcgrad.Categorical(logits=[[0.0, 1.0, 2.0]] * 2), "one_hot_quadratic", "unordered_set", 100)
    with pytest.raises(ValueError, match=r"at most the number of classes K = 3"):
        mcgrad.estimate(mcgrad.Categorical(logits=[0.0, 1.0, 2.0]), "one_hot_quadratic", "unordered_set", 100,
                        samples=4)
    with pytest.raises(ValueError, match=r"samples for estimator 'unordered_set' must be an integer in \[2, 8\]"):
        mcgrad.estimate(mcgrad.Categorical(logits=np.zeros(12)), "one_hot_quadratic", "unordered_set", 100,
                        samples=9)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("logits", CATEGORICAL_LOGITS + [[2.0, 0.5, -0.3, -4.0, 0.0]], ids=["K3", "D2K3", "K5"])
@pytest.mark.parametrize("f", [mcgrad.one_hot_quadratic(1), COUPLED], ids=["onehot", "coupled"])
def test_sum_and_sample_mean_and_variance_by_enumeration(f, logits, k):
    """Sum-and-sample is unbiased: its mean is the exact gradient, and its variance, a sum over the outcome
    and the draw outside the summed classes, is below score's on the same outcomes."""
    classes = np.shape(logits)[-1]
    f_py = _coupled_py if f is COUPLED else _toy_py(np.tile(np.eye(classes)[1], np.size(logits) // classes))
    mean, var = reference_discrete.sum_and_sample_moments(logits, f_py, k)
    _, exact, score_var = reference_discrete.enumerate_categorical(logits, f_py)
    np.testing.assert_allclose(mean, exact, atol=1e-12)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), f, "sum_and_sample", N // 4, seed=15, k=k)
    assert not r.biased and r.estimator == f"sum_and_sample[k={k}]"
    assert_close_se(r.mean, exact, r.stderr, what="sum_and_sample mean")
    assert_close_se(r.var, var, r.var_stderr, what="sum_and_sample var")
    assert np.all(var <= score_var + 1e-12)
    assert r.diagnostics["evaluations_per_sample"] == (k + 1) * np.atleast_2d(logits).shape[0]


def test_sum_and_sample_refuses_k_at_or_above_the_classes():
    dist = mcgrad.Categorical(logits=[0.0, 1.0, 2.0])
    for call in (lambda: mcgrad.estimate(dist, "one_hot_quadratic", "sum_and_sample", 100, k=3),
                 lambda: mcgrad.optimise(dist, "one_hot_quadratic", ("sum_and_sample", {"k": 5}), steps=2)):
        with pytest.raises(ValueError, match=r"k must be below the number of classes K = 3"):
            call()
    with pytest.raises(ValueError, match=r"k for estimator 'sum_and_sample' must be an integer in \[1, 1024\]"):
        mcgrad.estimate(dist, "one_hot_quadratic", "sum_and_sample", 100, k=0)


@pytest.mark.parametrize("logits,samples", [([0.4, -1.0, 2.0], 2), ([0.4, -1.0, 2.0], 3), ([-4.0, 3.5], 5),
                                            ([-9.0, 0.0], 3), ([0.7], 4), ([-3.0], 7)],
                         ids=["D3n2", "D3n3", "D2n5", "tail", "D1n4", "D1n7"])
@pytest.mark.parametrize("f,f_py", [(mcgrad.toy(0.45), _toy_py(0.45)), (COUPLED, _coupled_py)], ids=["toy", "coupled"])
def test_arms_mean_and_variance_by_enumerating_the_copula(f, f_py, logits, samples):
    """ARMS is unbiased, and its variance is the one of its outcomes' law under the Dirichlet copula, an oracle
    that takes the correlation correction from that law rather than from the kernel's closed form."""
    mean, var = reference_discrete.arms_moments(logits, f_py, samples)
    _, exact, score_var = enumerate_bernoulli(logits, f_py)
    np.testing.assert_allclose(mean, exact, rtol=1e-9, atol=1e-14)
    r = mcgrad.estimate(mcgrad.Bernoulli(logits=logits), f, "arms", N // 2, seed=16, samples=samples)
    assert not r.biased and r.estimator == f"arms[samples={samples}]"
    assert_close_se(r.mean, exact, r.stderr, what="arms mean")
    assert_close_se(r.var, var, r.var_stderr, what="arms var")
    assert r.evaluations_per_sample == samples


def test_arms_with_two_draws_is_disarm():
    """n = 2: the copula's draws are u and 1 - u, and ARMS is DisARM sample for sample in law (same variance)."""
    dist, f = mcgrad.Bernoulli(logits=[0.4, -1.0, 2.0]), mcgrad.toy(0.45)
    arms = mcgrad.estimate(dist, f, "arms", N, seed=3, samples=2)
    disarm = mcgrad.estimate(dist, f, "disarm", N, seed=4)
    assert_close_se(arms.var, disarm.var, np.hypot(arms.var_stderr, disarm.var_stderr), what="var")


def test_arms_refuses_bad_samples_and_categoricals():
    dist = mcgrad.Bernoulli(logits=[0.0])
    for bad in (1, 65, 2.5, True):
        with pytest.raises(ValueError, match=r"samples for estimator 'arms' must be an integer in \[2, 64\]"):
            mcgrad.estimate(dist, "toy", "arms", 100, samples=bad)
    with pytest.raises(ValueError, match="arms"):
        mcgrad.estimate(mcgrad.Categorical(logits=[0.0, 1.0]), "one_hot_quadratic", "arms", 100)


CARMS_CASES = [([[0.3, -0.5, 1.0], [0.0, 0.7, -1.2]], 3), ([0.3, -0.5, 1.0], 2),
               ([[1.5, -2.0, 0.2], [0.0, 0.1, 0.0]], 2), ([2.0, -3.0, 0.5, 0.0], 3), ([0.4, -0.1, 1.1, -0.6, 0.0], 2),
               ([-1.0, 4.0, 0.0], 5)]


@pytest.mark.parametrize("logits,samples", CARMS_CASES, ids=["D2K3n3", "K3n2", "D2K3n2", "K4n3", "K5n2", "K3n5"])
@pytest.mark.parametrize("f", [mcgrad.one_hot_quadratic(1), COUPLED], ids=["onehot", "coupled"])
def test_carms_mean_and_variance_by_enumerating_its_sampling_law(f, logits, samples):
    """CARMS is unbiased, and its variance is the one of its outcomes' law: the n draws' joint law by
    inclusion-exclusion over the Dirichlet copula in 50-digit arithmetic, each order of the classes enumerated,
    the pair weights taken from that law (not from the kernel's quadrature of the pair density)."""
    classes = np.shape(logits)[-1]
    f_py = _coupled_py if f is COUPLED else _toy_py(np.tile(np.eye(classes)[1], np.size(logits) // classes))
    mean, var = reference_discrete.carms_moments(logits, f_py, samples)
    _, exact, _ = enumerate_categorical(logits, f_py)
    np.testing.assert_allclose(mean, exact, rtol=1e-9, atol=1e-12)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), f, "carms", N // 2, seed=17, samples=samples)
    assert not r.biased and r.estimator == f"carms[samples={samples}]"
    assert_close_se(r.mean, exact, r.stderr, what="carms mean")
    assert_close_se(r.var, var, r.var_stderr, what="carms var")
    assert r.evaluations_per_sample == samples


@pytest.mark.parametrize("logits,samples", [([-12.0, 0.0, 0.5], 3), ([-12.0, 0.0, 0.5], 2),
                                            ([-8.0, -9.0, 3.0, 0.0], 4), ([0.3, -0.2, 0.1], 7), ([0.0, 1.0], 64)])
def test_carms_pair_weights_against_the_50_digit_law(logits, samples):
    """The setup's pair weights theta_k theta_c / P(k, c) within 1e-10 relative of the 50-digit law, classes of
    probability 1e-6 included (where a difference of copula CDFs would have lost 12 digits)."""
    from mcgrad.kernels import carms

    logits = np.array(logits)
    k = logits.size
    row = carms.carms_setup(logits[None, :], np.array([float(samples)]))[0]
    weights = row[k + k * (k - 1) // 2 * k:].reshape(k, k)
    theta = softmax(logits)
    if samples <= 7:
        pair = np.zeros((k, k))
        for pattern, p in reference_discrete._carms_patterns(theta, samples).items():
            pair[pattern[0], pattern[1]] += float(p)
        off = ~np.eye(k, dtype=bool)
        np.testing.assert_allclose(weights[off], (np.outer(theta, theta) / np.where(off, pair, 1.0))[off], rtol=1e-10)
    else:  # n = 64, two classes: P(0, 1) = P(w_i <= s, w_j > s) = (1 - s)^(n-1) - (1 - 2s)_+^(n-1)
        s = 1.0 - (1.0 - theta[0]) ** (1.0 / (samples - 1))
        pair = (1.0 - s) ** (samples - 1) - max(0.0, 1.0 - 2.0 * s) ** (samples - 1)
        np.testing.assert_allclose(weights[0, 1], theta[0] * theta[1] / pair, rtol=1e-10)
    assert np.all(np.diag(weights) == 0.0)


def test_carms_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match=r"at most K = 32 classes"):
        mcgrad.estimate(mcgrad.Categorical(logits=np.zeros(33)), "one_hot_quadratic", "carms", 100)
    for bad in (1, 65, 2.5):
        with pytest.raises(ValueError, match=r"samples for estimator 'carms' must be an integer in \[2, 64\]"):
            mcgrad.estimate(mcgrad.Categorical(logits=[0.0, 1.0]), "one_hot_quadratic", "carms", 100, samples=bad)
    with pytest.raises(ValueError, match="does not apply to the bernoulli family"):
        mcgrad.estimate(mcgrad.Bernoulli(logits=[0.0]), "toy", "carms", 100)


@pytest.mark.parametrize("samples", [1, 10])
@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_gumbel_rao_mean_and_variance_by_quadrature(temperature, samples):
    """Two classes: Gumbel-Rao's exact mean (straight-through's) and variance (the conditional variance divided
    by the number of conditional draws) by quadrature over the Gumbels' difference, an oracle that does not use
    the kernel's construction of Gumbels given the outcome."""
    logits = np.array([0.3, -0.5])

    def df(x):
        return 2 * (np.asarray(x) - np.eye(2)[1])

    mean, var = reference_discrete.gumbel_rao_moments(logits, df, temperature, samples)
    r = mcgrad.estimate(mcgrad.Categorical(logits=logits), mcgrad.one_hot_quadratic(1), "gumbel_rao", N // 4, seed=11,
                        temperature=temperature, samples=samples)
    assert r.biased and r.evaluations_per_sample == 1
    assert_close_se(r.mean, mean, r.stderr, what="gumbel_rao mean")
    assert_close_se(r.var, var, r.var_stderr, what="gumbel_rao var")


def test_gumbel_rao_has_straight_throughs_mean_and_less_variance():
    # D = 2, K = 3: the same mean as straight-through (it is its conditional expectation given b), and with one
    # conditional draw the same variance
    dist, f = mcgrad.Categorical(logits=CATEGORICAL_LOGITS[1]), mcgrad.one_hot_quadratic(1)
    st = mcgrad.estimate(dist, f, "straight_through", N // 4, seed=12, temperature=0.5)
    one = mcgrad.estimate(dist, f, "gumbel_rao", N // 4, seed=13, temperature=0.5, samples=1)
    many = mcgrad.estimate(dist, f, "gumbel_rao", N // 4, seed=14, temperature=0.5, samples=20)
    for r in (one, many):
        assert_close_se(r.mean, st.mean, np.hypot(r.stderr, st.stderr), what="gumbel_rao mean")
    assert_close_se(one.var, st.var, np.hypot(one.var_stderr, st.var_stderr), what="gumbel_rao var, one draw")
    assert np.all(many.var < st.var)
