"""Public entry points: :func:`estimate` and :func:`compare`."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import _validate, distributed, engine, estimators, families, results, storage, tuning, variance_reduction
from .accumulator import Accumulator
from .estimators import default_pair
from .objectives import Objective, resolve
from .results import Estimate

if TYPE_CHECKING:
    import pandas


def _check_dist(dist) -> None:
    if getattr(dist, "family", None) not in families.MODULES:
        raise TypeError(
            f"dist must be an mcgrad distribution (e.g. mcgrad.Normal(loc, scale)), got {type(dist).__name__}"
        )


def estimate(
    dist,
    f: Objective | str = "square",
    estimator: str | None = None,
    n: int = 1_000_000,
    seed: int | None = 0,
    *,
    block_size: int = engine.DEFAULT_BLOCK_SIZE,
    blocks: tuple[int, int] | None = None,
    threads: int | None = None,
    progress: bool | None = None,
    checkpoint: str | os.PathLike | None = None,
    client=None,
    covariance: bool = False,
    **options,
) -> Estimate:
    """Mean and variance of a gradient estimator of ∇θ E_{x~dist}[f(x)] over n samples.

    Parameters
    ----------
    dist : mcgrad distribution
        E.g. ``mcgrad.Normal(loc, scale)``; gradients are taken w.r.t. all its parameters.
    f : Objective or str
        A built-in name (``"square"``, ``"quadratic"``, ``"cos"``, ``"gaussian_bump"``,
        ``"linear"``), a built-in with parameters (``mcgrad.square(c=1)``) or
        ``mcgrad.user_objective(...)``.
    estimator : str, optional
        A registry name valid for the family (``score``, ``pathwise``, ``grep``,
        ``measure_valued`` for Normal).  By default the family's own (:func:`mcgrad.estimators.default`:
        pathwise for Normal, rsvi for Gamma, Beta and Dirichlet, score for Bernoulli and Categorical), the
        same as :func:`mcgrad.optimise`'s.
    n : int
        Number of samples (>= 2: a variance needs two).
    seed : int or None
        Seed in [0, 2**64).  The result depends only on (seed, n, block_size).
    block_size : int
        Samples per block (default 65536); part of the reproducibility key.
    blocks : (int, int), optional
        Compute only blocks ``[first, end)`` of the n-sample run; merge adjacent ranges with
        :meth:`Estimate.merge` to get exactly the full run's result.
    threads : int, optional
        Numba threads for this call (results do not depend on it).
    progress : bool, optional
        A tqdm bar on stderr for runs that last over 2 s: by default only when stderr is a
        terminal; ``False`` never, ``True`` also in pipes.
    checkpoint : path, optional
        A file where the run's progress (its accumulator state) is written every second and at the
        end.  If it exists, the run resumes from it after checking that it was made with the same
        settings (distribution, objective, estimator and options, seed, n, block_size, block range);
        a checkpoint of other settings is refused with a ValueError naming what differs.
    client : dask.distributed.Client, optional
        Spread the block range over the cluster's workers (two ranges per worker) and merge the
        pieces in block order: bitwise the local result (needs the ``dask`` extra).
    covariance : bool
        Also stream the covariance of the gradient's components: :attr:`Estimate.covariance`,
        ``correlation`` and ``trace_stderr`` (the standard error of the total variance).  Costs W (W - 1)
        extra power sums per sample for W components (one component needs none: its covariance is ``var``).
    **options
        Estimator options, e.g. ``transform=2`` for ``grep``.

    Returns
    -------
    Estimate
        ``mean``, ``var``, ``stderr``, ``var_stderr`` per gradient component, plus ``n``,
        ``seconds``, ``samples_per_second`` and ``to_frame()``.

    Raises
    ------
    Interrupted
        On Ctrl-C, after the chunk of blocks in flight: ``.partial`` holds the finished blocks'
        result (and the checkpoint, if any, is saved).

    Notes
    -----
    For every sample i the estimator gives a vector g_i; ``mean`` is (1/n) Σ g_i and ``var``
    is (1/(n-1)) Σ (g_i - mean)^2, computed by per-block shifted power sums merged in block
    order (Chan/Pébay), so billions of samples use constant memory.
    """
    job = prepare(dist, f, estimator, n, seed, block_size, blocks, threads, options, covariance)
    if client is not None:
        if checkpoint is not None:
            raise ValueError("checkpoint and client cannot be combined: a cluster run keeps no local progress")
        resolved = {k: job.options[k] for k in tuning.TUNABLE if job.tuned is not None}  # tuned here, once
        call = dict(dist=dist, f=job.objective, estimator=estimator, n=job.n, seed=job.seed,
                    block_size=job.block_size, covariance=job.covariance, **{**options, **resolved})
        result = distributed.run(client, estimate, [call], [job.blocks])[0]
        warn_nonfinite(result, job.objective.name, stacklevel=3)
        return result
    resume, on_chunk, todo = None, None, job.blocks
    if checkpoint is not None:
        resume, on_chunk = _checkpointing(job, checkpoint)
        todo = (resume[0].end_block, job.blocks[1]) if resume is not None else job.blocks
    update, bar = engine.progress_bar(todo, job.block_size, job.n, progress, description=job.label)
    try:
        with engine.threads(threads):
            acc, counters, seconds = engine.run_blocks(job.launch, job.width, todo, update, resume=resume,
                                                       on_chunk=on_chunk)
    except engine.Stopped as stop:
        if checkpoint is not None:
            storage.save_checkpoint(checkpoint, stop.acc, stop.totals, stop.seconds, fingerprint(job),
                                    _partial(job, stop.acc, stop.totals, stop.seconds))
        done = stop.acc.end_block > stop.acc.first_block
        partial = finish(job, stop.acc, stop.totals, stop.seconds) if done else None
        raise Interrupted(partial, checkpoint) from None
    finally:
        if bar is not None:
            bar.close()
    if checkpoint is not None:
        result = finish(job, acc, counters, seconds)
        storage.save_checkpoint(checkpoint, acc, counters, seconds, fingerprint(job), result)
        return result
    return finish(job, acc, counters, seconds)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`estimate` between chunks of blocks.

    Attributes
    ----------
    partial : Estimate or None
        The result of the blocks finished before the interrupt (a block range starting at the run's
        first block; finish the rest with ``blocks=(partial.blocks[1], end)`` and :meth:`Estimate.merge`).
    checkpoint : path or None
        Where the progress was saved, when the run had a checkpoint: the same call resumes from it.
    """

    def __init__(self, partial: Estimate | None, checkpoint=None):
        done = 0 if partial is None else partial.n
        super().__init__(f"interrupted after {done:,} samples" +
                         (f"; progress saved to {checkpoint}" if checkpoint is not None else ""))
        self.partial = partial
        self.checkpoint = checkpoint


CHECKPOINT_EVERY = 1.0  # seconds between checkpoint writes while a run is going
resume_notice: Callable[[str, int, int], None] | None = None  # set by the CLI: (path, samples done, n) on resuming


def fingerprint(job: Job) -> dict:
    """The settings a checkpoint must share with the run that resumes it (floats as exact hex strings)."""
    if job.objective.identity is None:
        raise ValueError(f"checkpoint: objective {job.objective.name!r} is a host function mcgrad cannot recognise "
                         "again; give it a version (batch_objective(..., version=...)) to checkpoint it")
    return {
        "family": job.dist.family,
        "parameters": {k: [float(x).hex() for x in np.ravel(v)] for k, v in job.dist.parameters.items()},
        "objective": job.objective.name,
        "objective_identity": job.objective.identity,
        "estimator": job.spec.name,
        "options": results.options_key(job.options, exact_objects=True),
        "seed": str(job.seed),
        "n": job.n,
        "block_size": job.block_size,
        "first_block": job.blocks[0],
        "width": job.width,
        **({"covariance": True} if job.covariance else {}),  # absent otherwise: older checkpoints still match
    }


def _checkpointing(job: Job, path):
    """``(resume, on_chunk)`` of a checkpointed run: the saved progress (None for a new file) and a writer
    that saves at most every :data:`CHECKPOINT_EVERY` seconds."""
    stamp = fingerprint(job)
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise ValueError(f"checkpoint {os.fspath(path)!r}: the folder {folder!r} does not exist or is not writable; "
                         "nothing was run")
    resume = storage.load_checkpoint(path, stamp) if os.path.exists(path) else None
    if resume is not None and not job.blocks[0] <= resume[0].end_block <= job.blocks[1]:
        raise ValueError(f"checkpoint {os.fspath(path)!r} covers blocks [{resume[0].first_block}, "
                         f"{resume[0].end_block}), outside this run's {job.blocks}")
    if resume is not None and resume_notice is not None:
        start = job.blocks[0] * job.block_size
        done = min(resume[0].end_block * job.block_size, job.n) - start
        resume_notice(os.fspath(path), done, min(job.blocks[1] * job.block_size, job.n) - start)
    if resume is None:  # claim the file at once: a run of other settings started on it later is refused
        storage.save_checkpoint(path, Accumulator(job.width, job.blocks[0]), np.zeros(engine.COUNTERS, np.int64),
                                0.0, stamp)
    last = [time.perf_counter()]

    def on_chunk(acc, totals, seconds):
        now = time.perf_counter()
        if now - last[0] >= CHECKPOINT_EVERY:
            storage.save_checkpoint(path, acc, totals, seconds, stamp, _partial(job, acc, totals, seconds))
            last[0] = now

    return resume, on_chunk


@dataclass
class Job:
    """A validated run, ready to launch: what :func:`estimate` (and a sweep, many at once) executes."""

    dist: object
    objective: Objective
    spec: estimators.EstimatorSpec
    options: dict
    seed: int
    n: int
    block_size: int
    blocks: tuple[int, int]
    launch: Callable
    width: int
    exact: np.ndarray | None
    plan: variance_reduction.Plan | None = None
    covariance: bool = False
    tuned: dict | None = None  # the tuning pilot's choices and cost (options given as 'tuned')

    @property
    def label(self) -> str:
        return estimators.label(self.spec.name, self.options)


def prepare(dist, f, estimator, n, seed, block_size, blocks, threads, options, covariance: bool = False) -> Job:
    """Validate one run and build its launcher (the variance-reduced estimators run their pilot pass here)."""
    _check_dist(dist)
    if not isinstance(covariance, (bool, np.bool_)):
        raise TypeError(f"covariance must be True or False, got {covariance!r}")
    covariance = bool(covariance)
    objective = resolve(f)
    spec = estimators.lookup(estimators.default(dist.family) if estimator is None else estimator, dist.family)
    opts = estimators.resolve_options(spec, options)
    if spec.needs_derivative and not objective.has_derivative:
        raise ValueError(f"estimator {spec.name!r} needs the derivative of f; pass derivative= to user_objective")
    n = _validate.count("n", n, minimum=2)
    seed = _validate.seed(seed)
    block_size = _validate.count("block_size", block_size)
    block_range = engine.check_blocks(blocks, n, block_size)
    objective.check_domain(dist)
    what, shapes = families.module(dist.family).gamma_shapes(dist)
    if "boost" in opts and np.any(shapes + opts["boost"] < 1.0):
        raise ValueError(f"boost must be >= 1 when {what} is below 1 (Marsaglia-Tsang needs shape >= 1), "
                         f"got boost={opts['boost']} with {what.removeprefix('a ')} {shapes.min():g}")
    estimators.check_fit(spec, opts, dist)
    size = engine.input_size(dist)
    objective.check(size)
    if opts.get("control") is not None:
        opts["control"].check(size)
    plan = None
    tuned = None
    width = engine.width_of(dist)
    pair_rows = width * (width - 1) if covariance else 0
    if spec.kind == estimators.EXACT:
        exact = engine.enumerate_gradient(dist, objective)  # refuses supports above the documented size
        launch = engine.exact_launcher(engine.with_pairs(exact) if pair_rows else exact, n, block_size)
    elif spec.kind == estimators.VARIANCE_REDUCED:
        exact = _exact_gradient(dist, objective)
        with engine.threads(threads):
            plan = variance_reduction.Plan(dist, objective, spec, opts, seed, block_size, n)
        launch = plan.launch()
        width = plan.main_width
    else:
        exact = _exact_gradient(dist, objective)
        if tuning.wanted(opts):
            with engine.threads(threads):
                opts, tuned = tuning.tune(dist, objective, spec, opts, seed, block_size, n)
        launch = engine.launcher(dist, objective, spec, opts, seed, block_size, n)
    return Job(dist, objective, spec, opts, seed, n, block_size, block_range, launch, width + pair_rows, exact, plan,
               covariance, tuned)


def _partial(job: Job, acc, totals, seconds: float) -> Estimate | None:
    """The result of the blocks a checkpointed run has finished (None before the first), without warnings."""
    if acc.end_block == acc.first_block:
        return None
    return finish(job, acc.copy(), totals, seconds, warn=False)


def finish(job: Job, acc, counters, seconds: float, stacklevel: int = 3, warn: bool = True) -> Estimate:
    """The Estimate of a run from its merged accumulator and counters; warns about non-finite results."""
    dist, plan = job.dist, job.plan
    nonfinite = int(counters[0])
    diagnostics = {}
    reference = None
    fitted = {}
    if plan is not None:
        acc, reference = plan.split(acc)
        fitted = {"baseline": plan.baseline, "coefficient": plan.coefficient}
        diagnostics.update(draws_per_sample=plan.group, pilot_samples=plan.pilot_samples,
                           pilot_seconds=plan.pilot_seconds)
    if job.tuned is not None:
        diagnostics.update(job.tuned)
    if len(counters) > 2 and counters[2]:
        diagnostics["evaluations_per_sample"] = float(counters[2] / acc.total()[0, 0])
    elif job.spec.kind != estimators.EXACT:  # exact enumerates the support once: no per-sample count
        diagnostics["evaluations_per_sample"] = float(job.spec.evaluations_per_sample(job.options, dist.dim))
    if counters[1]:
        per_sample = dist.concentration.size if hasattr(dist, "concentration") else dist.dim
        draws = acc.total()[0, 0] * per_sample * (plan.group if plan is not None else 1)
        diagnostics["acceptance_rate"] = float(draws / counters[1])
    result = Estimate(
        estimator=job.label,
        family=dist.family,
        objective=job.objective.name,
        components=dist.components,
        parameters={k: v.copy() for k, v in dist.parameters.items()},
        seed=job.seed,
        block_size=job.block_size,
        accumulator=acc,
        seconds=seconds,
        biased=job.spec.biased,
        nonfinite=nonfinite,
        exact=None if job.exact is None else job.exact + 0.0,  # + 0.0: no -0 in exact columns
        options=job.options,
        n_total=job.n,
        diagnostics=diagnostics,
        reference=reference,
        fitted=fitted,
        objective_identity=job.objective.identity,
    )
    if warn:
        warn_nonfinite(result, job.objective.name, stacklevel + 1)
    return result


def warn_nonfinite(result: Estimate, objective: str, stacklevel: int) -> None:
    """A RuntimeWarning when samples were non-finite or the mean or variance is not finite."""
    nonfinite = result.nonfinite
    var_defined = result.n >= 2  # a block range of one sample has a mean but no variance
    if nonfinite or not (np.all(np.isfinite(result.mean)) and (not var_defined or np.all(np.isfinite(result.var)))):
        warnings.warn(
            f"{nonfinite} of {result.n} per-sample gradients of {result.estimator} were NaN or infinite "
            f"(f={objective}); mean or var is not finite"
            + ("" if nonfinite else " because the power sums overflowed (values beyond ~1e77)"),
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    elif var_defined and not np.all(np.isfinite(result.var_stderr)):
        warnings.warn(
            f"var_stderr of {result.estimator} is not finite (f={objective}): the fourth-order power sums overflowed "
            "(per-sample values beyond ~1e77); mean, var and stderr are finite",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


def _exact_gradient(dist, objective) -> np.ndarray | None:
    """The objective's closed form, or for discrete families the enumerated gradient when the support is small;
    None where it is unknown, or not a number in floating point (e.g. inf * 0 at extreme parameters)."""
    if dist.family in ("bernoulli", "categorical"):
        if engine.support_size(dist) > engine.EXACT_MAX_OUTCOMES or engine.enumeration_work(dist) > (
                engine.EXACT_MAX_WORK >> 4):  # the automatic exact column: at most about a tenth of a second
            return None
        exact = engine.enumerate_gradient(dist, objective)
    else:
        exact = objective.exact_gradient(dist)
    return None if exact is None or np.any(np.isnan(exact)) else exact


def _estimator_entries(entries) -> list[tuple[str, dict]]:
    if isinstance(entries, str):
        entries = [entries]
    elif isinstance(entries, Mapping):  # {name: options}
        entries = list(entries.items())
    out = []
    for item in entries:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
            out.append((item[0], dict(item[1])))
        else:
            raise TypeError(f"estimators entries must be names or (name, options) pairs, got {item!r}")
    if not out:
        raise ValueError("estimators must name at least one estimator")
    return out


def compare(
    dist,
    f: Objective | str = "square",
    estimators: Iterable | None = None,
    n: int = 1_000_000,
    seed: int | None = 0,
    *,
    block_size: int = engine.DEFAULT_BLOCK_SIZE,
    threads: int | None = None,
    progress: bool | None = None,
    client=None,
    reference: str | None = None,
) -> pandas.DataFrame:
    """Run several estimators on the same problem; one row per estimator × gradient component.

    Parameters
    ----------
    estimators : iterable, optional
        Names, or ``(name, options)`` pairs such as ``("grep", {"transform": 2})``; by default ``score`` and
        the family's default estimator (:func:`mcgrad.estimators.default_pair`).
    reference : str, optional
        One of the compared estimators, by name or table label (``"grep[transform=2]"``): every row then
        also gives ``var_ratio`` = var / var of the reference and ``efficiency_ratio`` = efficiency /
        efficiency of the reference (per second; ``efficiency_per_evaluation_ratio`` per f-evaluation), for
        the same component.

    Returns
    -------
    pandas.DataFrame
        Printed compactly (``estimator, component, mean, stderr, var, var_stderr, exact, z`` and the ratios;
        a line names the other columns); ``to_string()``, ``to_csv()`` and any selection show every column.
        Columns ``estimator, component, mean, stderr, var, var_stderr`` and, when the
        objective's exact gradient is known, ``exact``, ``bias``, ``z = (mean - exact) / stderr`` and
        ``mse``; then ``snr``, ``efficiency``, ``efficiency_per_evaluation``, ``n, biased, seconds,
        samples_per_second`` (see :class:`~mcgrad.results.Estimate`).

    Notes
    -----
    Every estimator runs with the same seed.  On Normal, ``score``, ``pathwise`` and ``grep``
    consume the same D normals per sample, so they are evaluated on common random numbers
    (identical eps for every sample); ``measure_valued`` draws extra variates per sample, so it
    shares only the seed, not the draws.
    """
    import pandas as pd  # imported on use: pandas adds ~30 MB to every process

    seed = _validate.seed(seed)
    if estimators is None:
        _check_dist(dist)
        estimators = default_pair(dist.family)
    entries = _estimator_entries(estimators)
    names = [name for name, _ in entries]
    if reference is not None:
        results.check_reference(names, reference)
    runs = [estimate(dist, f, name, n, seed, block_size=block_size, threads=threads, progress=progress,
                        client=client, **opts) for name, opts in entries]
    frame = pd.concat([run.to_frame() for run in runs], ignore_index=True)
    if reference is not None:
        results.add_ratios(frame, results.reference_result(runs, names, reference))
    return results.comparison(frame)


def temperature_sweep(
    dist,
    f: Objective | str = "toy",
    temperatures: Iterable[float] = (1e-2, 0.1, 0.5, 1.0, 2.0),
    estimators: Iterable = ("gumbel_softmax", "straight_through"),
    n: int = 1_000_000,
    seed: int | None = 0,
    *,
    block_size: int = engine.DEFAULT_BLOCK_SIZE,
    threads: int | None = None,
    progress: bool | None = None,
    client=None,
    **options,
) -> pandas.DataFrame:
    """Relaxed estimators over a grid of temperatures: one row per temperature × estimator × component.

    Parameters
    ----------
    dist : Bernoulli or Categorical
    temperatures : iterable of float
        Temperatures lam > 0 of the relaxation.
    estimators : iterable of str
        Estimators that take a ``temperature`` (``gumbel_softmax``, ``straight_through``, ``rebar``).
    **options
        Other estimator options (e.g. ``eta`` for rebar).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`compare` plus ``temperature``; with an enumerable support ``exact``,
        ``bias = mean - exact`` and its z-score.

    Notes
    -----
    The relaxed estimators' bias vanishes as lam -> 0 while their variance grows (for gumbel_softmax
    roughly like 1/lam); the sweep measures both on the same seed at every temperature.
    """
    import pandas as pd

    seed = _validate.seed(seed)
    temps = [float(t) for t in np.atleast_1d(np.asarray(list(temperatures), dtype=float))]
    if not temps:
        raise ValueError("temperatures must contain at least one value")
    names = [estimators] if isinstance(estimators, str) else list(estimators)
    frames = []
    for lam in temps:
        frame = compare(dist, f, [(name, {"temperature": lam, **options}) for name in names], n, seed,
                        block_size=block_size, threads=threads, progress=progress, client=client)
        frame.insert(0, "temperature", lam)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
