"""Optimisation runs: SGD on a Normal's (loc, scale) driven by one gradient estimator, and the study that
reproduces how score, pathwise and the two grep transforms behave as the scale shrinks."""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import _validate, estimators
from .distributions import Normal
from .kernels import optimise as kernels
from .kernels._jit import exact_signature
from .kernels.rng import run_key
from .objectives import Objective, resolve, square

if TYPE_CHECKING:
    import pandas

MAX_STEPS = 10_000_000
BASELINES = (None, "moving_average")


@dataclass
class Trajectory:
    """One SGD run.

    Attributes
    ----------
    estimator : str
        Label of the estimator (with options).
    components : list of str
        Parameter names, e.g. ``['loc', 'scale']``.
    parameters : numpy.ndarray
        ``(steps + 1, components)``: the iterate before each step, then the final one.
    loss : numpy.ndarray
        ``(steps,)``: the mean of f over each step's K samples (what the run observed).
    expected_loss : numpy.ndarray or None
        ``(steps + 1,)``: E[f] at each iterate, where the objective has a closed form under the Normal.
    baseline : numpy.ndarray
        ``(steps,)``: the moving-average baseline each step used (0 without one).
    """

    estimator: str
    objective: str
    components: list[str]
    parameters: np.ndarray
    loss: np.ndarray
    expected_loss: np.ndarray | None
    baseline: np.ndarray
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return self.loss.shape[0]

    @property
    def final(self) -> dict[str, float]:
        """The last iterate, by component name."""
        return dict(zip(self.components, self.parameters[-1].tolist(), strict=True))

    def to_frame(self) -> pandas.DataFrame:
        """One row per iterate: ``step``, the parameters, ``loss`` (observed), ``expected_loss``, ``baseline``."""
        import pandas as pd

        frame = pd.DataFrame(self.parameters, columns=self.components)
        frame.insert(0, "step", np.arange(self.parameters.shape[0]))
        frame.insert(0, "estimator", self.estimator)
        frame["loss"] = np.append(self.loss, np.nan)
        frame["expected_loss"] = self.expected_loss if self.expected_loss is not None else np.nan
        frame["baseline"] = np.append(self.baseline, np.nan)
        return frame


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def optimise(
    dist: Normal,
    f: Objective | str = "square",
    estimator: str = "pathwise",
    steps: int = 2000,
    samples: int = 10,
    learning_rate: float = 0.01,
    seed: int | None = 0,
    *,
    baseline: str | None = None,
    decay: float = 0.9,
    **options,
) -> Trajectory:
    """Minimise E_{N(loc, scale^2)}[f(x)] by SGD with ``samples`` draws of ``estimator`` per step.

    Parameters
    ----------
    dist : Normal
        The starting point (loc, scale).
    f : Objective or str
        The objective (built-in or user function).
    estimator : str
        A Normal estimator: ``score``, ``pathwise``, ``grep`` (``transform=1`` or ``2``), ``measure_valued``.
    steps : int
        Number of SGD steps.
    samples : int
        K, draws per step; the step averages the estimator over them.
    learning_rate : float
        Constant step size.
    seed : int or None
        Step t draws from block t of the stream of ``seed``: the run depends only on the arguments.
    baseline : {None, "moving_average"}
        ``score`` only: subtract b_t = decay b_{t-1} + (1 - decay) fbar_{t-1}, built from earlier steps.
    decay : float
        The moving average's decay in [0, 1).

    Returns
    -------
    Trajectory

    Notes
    -----
    theta_{t+1} = theta_t - learning_rate (1/K) sum_k g(x_k; theta_t).  The scale is iterated as a real number
    (x = loc + scale eps is N(loc, scale^2) for either sign), so a step across zero is followed, not clipped.
    """
    if not isinstance(dist, Normal):
        raise TypeError(f"optimise runs SGD on a Normal's (loc, scale); got {type(dist).__name__}")
    objective = resolve(f)
    spec = estimators.lookup(estimator, dist.family)
    if spec.name not in ("score", "pathwise", "grep", "measure_valued"):
        raise ValueError(f"optimise supports the estimators score, pathwise, grep and measure_valued; got "
                         f"{spec.name!r}")
    opts = estimators.resolve_options(spec, options)
    if spec.needs_derivative and not objective.has_derivative:
        raise ValueError(f"estimator {spec.name!r} needs the derivative of f; pass derivative= to user_objective")
    steps = _validate.count("steps", steps)
    if steps > MAX_STEPS:
        raise ValueError(f"steps must be at most {MAX_STEPS:,}, got {steps:,}")
    samples = _validate.count("samples", samples)
    learning_rate = _positive("learning_rate", learning_rate)
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {list(BASELINES)}, got {baseline!r}")
    if baseline is not None and spec.name != "score":
        raise ValueError(f"baseline={baseline!r} applies to the score estimator only, not {spec.name!r}")
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be a number in [0, 1), got {decay!r}")
    seed = _validate.seed(seed)
    objective.check_domain(dist)
    objective.check(dist.dim)
    dim = dist.dim
    out = np.empty((steps + 1, 2 * dim + 2))
    kernel = exact_signature(kernels.normal_sgd, kernels.SIGNATURE)
    t0 = time.perf_counter()
    kernel(spec.code, int(opts.get("transform", 1)), baseline is not None, float(decay), dist.loc.copy(),
           dist.scale.copy(), objective.code, objective.param, objective.kernel_functions()[0], run_key(seed),
           samples, learning_rate, out)
    seconds = time.perf_counter() - t0
    parameters = out[:, :2 * dim].copy()
    label = estimators.label(spec.name, opts)
    if baseline is not None:
        label += f"+{baseline}(decay={decay:g})"
    return Trajectory(
        estimator=label,
        objective=objective.name,
        components=dist.components,
        parameters=parameters,
        loss=out[:-1, 2 * dim].copy(),
        expected_loss=objective.normal_expectation(parameters[:, :dim], parameters[:, dim:]),
        baseline=out[:-1, 2 * dim + 1].copy(),
        settings=dict(steps=steps, samples=samples, learning_rate=learning_rate, seed=seed, baseline=baseline,
                      decay=decay, start=dist.parameters),
        seconds=seconds,
    )


STUDY_ESTIMATORS = (("score", {}), ("grep", {"transform": 1}), ("pathwise", {}), ("grep", {"transform": 2}))


def scale_collapse_study(loc: float = 1.0, scale: float = 1.0, c: float = 1.0, steps: int = 3000, samples: int = 10,
                         learning_rate: float = 0.01, seed: int | None = 0) -> list[Trajectory]:
    """SGD on E[x^2 + c] from (loc, scale) with score, grep transform 1, pathwise and grep transform 2.

    Notes
    -----
    The minimum is loc = scale = 0.  The scale component of score and of grep transform 1 is
    f(x) (eps^2 - 1) / scale, whose variance grows like 2 (loc^2 + c)^2 / scale^2 as the scale shrinks, so
    their iterates keep being thrown away from 0 and never settle; pathwise's (2 x, 2 x eps) and grep
    transform 2's scale component 2 x eps have variances that vanish at the optimum, and they converge.
    (grep transform 2's loc component f'(x)(1 - scale) + f(x) eps keeps the variance (loc^2 + c)^2 at
    scale = 0, so with a constant step its loc, and through it E[f], keep a small noise floor.)
    """
    return [optimise(Normal(loc, scale), square(c), name, steps, samples, learning_rate, seed, **opts)
            for name, opts in STUDY_ESTIMATORS]


def summary(trajectories: list[Trajectory], tail: float = 0.1) -> pandas.DataFrame:
    """One row per run: the final iterate, E[f] there, and the median E[f] and |scale| over the last
    ``tail`` fraction of the steps (a run that has not settled shows a median far from the minimum)."""
    import pandas as pd

    rows = []
    for tr in trajectories:
        last = max(1, int(round(tail * tr.steps)))
        dim = len(tr.components) // 2
        row = {"estimator": tr.estimator}
        row.update({f"final_{k}": v for k, v in tr.final.items()})
        row["final_expected_loss"] = tr.expected_loss[-1] if tr.expected_loss is not None else np.nan
        row["median_expected_loss_tail"] = (np.median(tr.expected_loss[-last:]) if tr.expected_loss is not None
                                            else np.nan)
        row["median_abs_scale_tail"] = float(np.median(np.abs(tr.parameters[-last:, dim:])))
        row["steps"] = tr.steps
        rows.append(row)
    return pd.DataFrame(rows)
