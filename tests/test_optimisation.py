"""SGD runs: the kernel's loop against a NumPy loop on the same normals, and the scale-collapse study."""

import numpy as np
import pytest

import mcgrad
from mcgrad.kernels import rng
from mcgrad.optimisation import summary


def numpy_sgd(estimator, loc, scale, c, steps, samples, lr, seed, transform=1, moving=False, decay=0.9):
    """The same SGD written with NumPy, on step t's normals read from block t's stream."""
    loc, scale = np.array(loc, float), np.array(scale, float)
    dim = loc.size
    key = rng.run_key(seed)
    path, baseline = [np.concatenate([loc, scale])], 0.0
    for t in range(steps):
        eps = np.empty(samples * dim)
        rng.fill_normals(key, t, eps)
        eps = eps.reshape(samples, dim)
        x = loc + scale * eps
        f = (x * x).sum(axis=1) + c
        df = 2 * x
        fb = (f - baseline if moving else f)[:, None]
        if estimator == "score":
            gm, gs = fb * eps / scale, fb * (eps**2 - 1) / scale
        elif estimator == "pathwise":
            gm, gs = df, df * eps
        elif transform == 1:
            gm, gs = df, fb * (eps**2 - 1) / scale
        else:
            gm, gs = df * (1 - scale) + fb * eps, df * eps
        loc = loc - lr * gm.mean(axis=0)
        scale = scale - lr * gs.mean(axis=0)
        if moving:
            baseline = f.mean() if t == 0 else decay * baseline + (1 - decay) * f.mean()
        path.append(np.concatenate([loc, scale]))
    return np.array(path)


@pytest.mark.parametrize("estimator,options", [("score", {}), ("pathwise", {}), ("grep", {"transform": 1}),
                                               ("grep", {"transform": 2}),
                                               ("score", {"baseline": "moving_average", "decay": 0.8})])
def test_kernel_loop_matches_numpy_on_the_same_normals(estimator, options):
    start = mcgrad.Normal([1.0, -0.5], [0.8, 1.2])
    tr = mcgrad.optimise(start, mcgrad.square(1.0), estimator, steps=60, samples=7, learning_rate=0.01, seed=4,
                         **options)
    moving = options.get("baseline") is not None
    expected = numpy_sgd(estimator, [1.0, -0.5], [0.8, 1.2], 1.0, 60, 7, 0.01, 4,
                         transform=options.get("transform", 1), moving=moving, decay=options.get("decay", 0.9))
    np.testing.assert_allclose(tr.parameters, expected, rtol=1e-9, atol=1e-12)
    assert tr.parameters.shape == (61, 4) and tr.loss.shape == (60,)
    exact = (tr.parameters[:, :2] ** 2 + tr.parameters[:, 2:] ** 2).sum(axis=1) + 1.0
    np.testing.assert_allclose(tr.expected_loss, exact, rtol=1e-12)
    frame = tr.to_frame()
    assert list(frame.columns[:6]) == ["estimator", "step", "loc[0]", "loc[1]", "scale[0]", "scale[1]"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scale_collapse_study(seed):
    """min E[x^2 + 1] from (1, 1): score and grep-1 keep |scale| and the loss away from the optimum, pathwise
    and grep-2 converge (their scale-gradient variance vanishes at scale = 0)."""
    table = summary(mcgrad.scale_collapse_study(seed=seed)).set_index("estimator")
    excess = table["median_expected_loss_tail"] - 1.0
    for name in ("score", "grep[transform=1]"):
        assert table.loc[name, "median_abs_scale_tail"] > 0.05
        assert excess[name] > 0.01
    assert table.loc["pathwise", "median_abs_scale_tail"] < 1e-12
    assert abs(table.loc["pathwise", "final_expected_loss"] - 1.0) < 1e-12
    assert table.loc["grep[transform=2]", "median_abs_scale_tail"] < 1e-2
    assert excess["grep[transform=2]"] < 5e-3


def test_same_seed_same_trajectory():
    a = mcgrad.optimise(mcgrad.Normal(0.5, 1.0), "cos", "score", steps=50, seed=3)
    b = mcgrad.optimise(mcgrad.Normal(0.5, 1.0), "cos", "score", steps=50, seed=3)
    assert np.array_equal(a.parameters, b.parameters) and np.array_equal(a.loss, b.loss, equal_nan=True)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"dist": mcgrad.Gamma(2.0)}, TypeError, "SGD on a Normal"),
    ({"estimator": "rloo"}, ValueError, "supports the estimators score, pathwise"),
    ({"steps": 0}, ValueError, "steps"),
    ({"samples": 0}, ValueError, "samples"),
    ({"learning_rate": -1.0}, ValueError, "learning_rate must be a finite number > 0"),
    ({"baseline": "ema"}, ValueError, "baseline must be one of"),
    ({"estimator": "pathwise", "baseline": "moving_average"}, ValueError, "score estimator only"),
    ({"estimator": "score", "baseline": "moving_average", "decay": 1.0}, ValueError,
     r"decay must be a number in \[0, 1\)"),
])
def test_bad_arguments(kwargs, error, match):
    args = {"dist": mcgrad.Normal(0.0, 1.0), "estimator": "pathwise", **kwargs}
    with pytest.raises(error, match=match):
        mcgrad.optimise(args.pop("dist"), "square", **args)
