"""Optimisation runs: SGD on a distribution's parameters driven by one gradient estimator, and the study
that reproduces how score, pathwise and the two grep transforms behave as the Normal scale shrinks."""

from __future__ import annotations

import itertools
import math
import numbers
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import _validate, engine, estimators, families, variance_reduction
from .families import Normal
from .kernels import driver, score_vr
from .kernels.rng import run_key
from .objectives import Objective, resolve, square

if TYPE_CHECKING:
    import pandas

MAX_STEPS = 10_000_000
MAX_SAMPLES = 1 << 24  # samples per step: one block of the SGD kernel, which Ctrl-C cannot stop
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
        ``(steps,)``: the mean of f over each step's K samples (moving-average runs; NaN otherwise).
    expected_loss : numpy.ndarray or None
        ``(steps + 1,)``: E[f] at each iterate, where the objective has a closed form under the Normal.
    baseline : numpy.ndarray
        ``(steps,)``: the moving-average baseline each step used (NaN for a run without one).
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

    def __repr__(self) -> str:
        """A summary: the run's settings, the first and last iterates and, where known, E[f] at both."""
        start = ", ".join(f"{k}={v:.4g}" for k, v in zip(self.components, self.parameters[0].tolist(), strict=True))
        final = ", ".join(f"{k}={v:.4g}" for k, v in self.final.items())
        text = (f"Trajectory({self.estimator}, f={self.objective}, {self.steps:,} steps of K = "
                f"{self.settings.get('samples', '?')}, learning rate {self.settings.get('learning_rate', '?')}, "
                f"{self.seconds:.3g} s)\n  start: {start}\n  final: {final}")
        if self.expected_loss is not None:
            text += f"\n  E[f]: {self.expected_loss[0]:.6g} -> {self.expected_loss[-1]:.6g}"
        return text

    def to_dict(self) -> dict:
        """Plain-Python form (the JSON output of ``mcgrad optimise --format json``)."""
        return {
            "estimator": self.estimator,
            "objective": self.objective,
            "components": list(self.components),
            "settings": {k: (v.tolist() if isinstance(v, np.ndarray) else
                             {kk: np.asarray(vv).tolist() for kk, vv in v.items()} if isinstance(v, dict) else v)
                         for k, v in self.settings.items()},
            "seconds": self.seconds,
            "parameters": self.parameters.tolist(),
            "loss": self.loss.tolist(),
            "expected_loss": None if self.expected_loss is None else self.expected_loss.tolist(),
            "baseline": self.baseline.tolist(),
        }

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
    estimator: str | tuple[str, dict] | None = None,
    steps: int = 2000,
    samples: int = 10,
    learning_rate: float = 0.01,
    seed: int | None = 0,
    *,
    baseline: str | None = None,
    decay: float = 0.9,
    floor: float = 1e-3,
    **options,
) -> Trajectory:
    """Minimise E_{x ~ dist}[f(x)] over dist's parameters by SGD with ``samples`` draws of ``estimator`` per step.

    Parameters
    ----------
    dist : mcgrad distribution
        The starting point.  Normal: (loc, scale); Gamma: (concentration, rate); Beta / Dirichlet:
        concentrations; Bernoulli / Categorical: the logits (whatever parameterisation was given).
    f : Objective or str
        The objective (built-in or user function).
    estimator : str, optional
        Any sampling estimator of the family, with its options (``transform``, ``boost``, ``temperature``,
        ``eta``, ``control``); not ``exact`` nor the variance-reduced score estimators (use
        ``baseline="moving_average"`` with ``score``).  By default the family's own, as in
        :func:`mcgrad.estimate`.  A ``(name, options)`` pair, as in :func:`mcgrad.compare`, gives options whose
        names ``optimise`` takes itself: ``("gumbel_rao", {"samples": 20})`` (``samples`` here is K).
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
    floor : float
        Concentrations and rates are projected onto [floor, inf) after each step; concentrations onto
        [1 - boost, inf) where that is higher (the sampler needs concentration + boost >= 1).

    Returns
    -------
    Trajectory

    Notes
    -----
    theta_{t+1} = theta_t - learning_rate (1/K) sum_k g(x_k; theta_t), the average being block t of the
    estimator's block function, the one ``estimate`` runs (so it equals
    ``estimate(..., n=K * steps, block_size=K, blocks=(t, t + 1)).mean`` at theta_t).  The Normal scale is
    iterated as a real number (x = loc + scale eps is N(loc, scale^2) for either sign), so a step across
    zero is followed, not clipped.  ``loss`` (the observed mean of f) is recorded by moving-average runs,
    NaN otherwise; ``expected_loss`` is exact
    where E[f] has a closed form or the discrete support has at most 4096 outcomes.
    """
    if getattr(dist, "family", None) not in families.MODULES:
        raise TypeError(f"dist must be an mcgrad distribution (the starting point), got {type(dist).__name__}")
    objective = resolve(f)
    if isinstance(estimator, tuple) and len(estimator) == 2 and isinstance(estimator[1], Mapping):
        estimator, given = estimator[0], dict(estimator[1])
        both = sorted(set(given) & set(options))
        if both:
            raise ValueError(f"estimator options {both} are given both in the (name, options) pair and as keywords")
        options = {**options, **given}
    spec = estimators.lookup(estimators.default(dist.family) if estimator is None else estimator, dist.family)
    if spec.kind in NOT_FOR_SGD:
        allowed = estimators.names(dist.family, (estimators.SAMPLING,))
        raise ValueError(f"optimise takes the sampling estimators of the {dist.family} family {allowed}; got "
                         f"{spec.name!r}")
    opts = estimators.resolve_options(spec, options)
    estimators.check_fit(spec, opts, dist)
    if spec.needs_derivative and not objective.has_derivative:
        raise ValueError(f"estimator {spec.name!r} needs the derivative of f; pass derivative= to user_objective")
    steps = _validate.count("steps", steps)
    if steps > MAX_STEPS:
        raise ValueError(f"steps must be at most {MAX_STEPS:,}, got {steps:,}")
    samples = _validate.count("samples", samples, maximum=MAX_SAMPLES)
    learning_rate = _positive("learning_rate", learning_rate)
    floor = _positive("floor", floor)
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {list(BASELINES)}, got {baseline!r}")
    if baseline is not None and spec.name != "score":
        raise ValueError(f"baseline={baseline!r} applies to the score estimator only, not {spec.name!r}")
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be a number in [0, 1), got {decay!r}")
    seed = _validate.seed(seed)
    objective.check_domain(dist)
    rate_floor = floor
    if "boost" in opts:
        floor = max(floor, 1.0 - opts["boost"])  # Marsaglia-Tsang needs concentration + boost >= 1
    family = families.module(dist.family)
    start = family.params(dist).copy()
    floors = family.floors(dist, floor, rate_floor, int(opts.get("boost", 0)))
    bounds = np.concatenate([floors, family.ceilings(dist)])  # SGD projects onto [floor, ceiling]
    below = np.flatnonzero(start.ravel() < floors)
    if below.size:  # SGD projects onto the floors: a start below one would jump
        i = below[0]
        boost = f"; boost={opts['boost']}" if "boost" in opts else ""
        raise ValueError(f"{family.sgd_components(dist)[i]} must be >= {floors[i]:g} (the floor{boost}), got "
                         f"{start.ravel()[i]:g}")
    size = engine.input_size(dist)
    objective.check(size)
    if opts.get("control") is not None:
        opts["control"].check(size)
    moving = baseline is not None
    components = family.sgd_components(dist)
    width = len(components)
    if moving:
        # the score kernel with a baseline the loop sets every step; SGD runs on the logits: no chain factor
        plan = variance_reduction.Plan(dist, objective, estimators.lookup("score_baseline", dist.family),
                                       {"baseline": 0.0, "boost": opts.get("boost", 0)}, seed, samples, samples,
                                       chain=np.ones(width))
        block, kernel_options, rows = plan.block(score_vr.MAIN), plan.options, plan.main_width
        extra = plan.extra(plan.baseline, plan.coefficient)
        chosen = plan.chosen(score_vr.MAIN)
    else:
        block = engine.block_function(spec, dist, objective)
        extra, kernel_options = np.ones(width), spec.kernel_options(opts)
        rows = width
        chosen = spec.code
    out = np.empty((steps + 1, width + 2))
    args = (block, engine.setup_function(spec), start.copy(), extra, kernel_options, bounds, chosen,
            *engine.objective_arguments(objective, opts.get("control")), rows, moving, float(decay), run_key(seed),
            samples, learning_rate)
    sgd = engine.compiled(("sgd",), lambda: driver.sgd, driver.SGD_SIGNATURE, "SGD loop")
    t0 = time.perf_counter()
    with engine.kernel_turn():
        if objective.batch is None:
            sgd(*args, out, 0, steps, True)
        else:
            needs = (True, False) if moving else (spec.needs_value, spec.needs_derivative)
            _sgd_on_tapes(sgd, args, objective, size, samples, needs, out)
    seconds = time.perf_counter() - t0
    parameters = out[:, :width].copy()
    if not np.all(np.isfinite(parameters)):
        warnings.warn(f"SGD with {spec.name} left non-finite parameters (a non-finite gradient or a divergent step)",
                      RuntimeWarning, stacklevel=2)
    label = estimators.label(spec.name, opts)
    if moving:
        label += f"+{baseline}(decay={decay:g})"
    return Trajectory(
        estimator=label,
        objective=objective.name,
        components=components,
        parameters=parameters,
        loss=out[:-1, width].copy(),
        expected_loss=expected_loss(dist, objective, parameters),
        baseline=out[:-1, width + 1].copy() if moving else np.full(steps, np.nan),
        settings=dict(steps=steps, samples=samples, learning_rate=learning_rate, seed=seed, baseline=baseline,
                      decay=decay, floor=floor, start=dist.parameters),
        seconds=seconds,
    )


def _sgd_on_tapes(sgd, args: tuple, objective, inputs: int, samples: int, needs: tuple[bool, bool],
                  out: np.ndarray):
    """The SGD run for a batch objective, one step at a time: the step is recorded on a tape, its points
    evaluated as a batch, and the step replayed and applied (the same steps, from the same streams)."""
    code_at = 7  # the objective's code among the arguments: block, setup, params, extra, options, floors, chosen
    call = list(args)
    capacity = samples
    for t in range(out.shape[0] - 1):
        def step(tapes, replaying, t=t):
            call[code_at] = engine.ktape_address(tapes[0])
            sgd(*call, out, t, t + 1, replaying)

        capacity = engine.on_tapes(step, objective, 1, capacity, inputs, needs, 1)


NOT_FOR_SGD = (estimators.EXACT, estimators.VARIANCE_REDUCED)


MAX_OUTCOMES = 4096  # discrete supports up to this size get their expected loss by enumeration


def expected_loss(dist, objective, parameters: np.ndarray) -> np.ndarray | None:
    """E[f] at every iterate (rows of ``parameters``) where it has a closed form or a small support."""
    if dist.family in ("bernoulli", "categorical"):
        return _enumerated_loss(dist, objective, parameters)
    closed_form = families.module(dist.family).EXPECTATIONS.get(objective.code)
    return None if closed_form is None else closed_form(parameters, objective.param)


def _enumerated_loss(dist, objective, parameters):
    classes = 2 if dist.family == "bernoulli" else dist.classes
    dim = dist.dim
    if classes**dim > MAX_OUTCOMES:
        return None
    outcomes = np.array(list(itertools.product(range(classes), repeat=dim)))  # (outcomes, D)
    points = outcomes.astype(float) if dist.family == "bernoulli" else np.eye(classes)[outcomes].reshape(
        len(outcomes), -1)
    values, _ = engine.values_and_gradients(objective, points, 1 if dist.family == "bernoulli" else classes)
    logits = parameters.reshape(parameters.shape[0], dim, -1)
    if dist.family == "bernoulli":
        log_p1 = -np.logaddexp(0.0, -logits[:, :, 0])
        log_p0 = -np.logaddexp(0.0, logits[:, :, 0])
        log_prob = np.where(outcomes[None, :, :] == 1, log_p1[:, None, :], log_p0[:, None, :]).sum(axis=2)
    else:
        top = logits.max(axis=2, keepdims=True)
        log_theta = logits - top - np.log(np.exp(logits - top).sum(axis=2, keepdims=True))
        log_prob = np.take_along_axis(log_theta[:, None, :, :], outcomes[None, :, :, None], axis=3)[..., 0].sum(2)
    return np.exp(log_prob) @ values


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
