"""Public entry points: :func:`estimate` and :func:`compare`."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from . import _validate, engine, estimators
from .objectives import Objective, resolve
from .results import Estimate

if TYPE_CHECKING:
    import pandas


def _check_dist(dist) -> None:
    if getattr(dist, "family", None) not in engine.LAUNCHERS:
        raise TypeError(
            f"dist must be an mcgrad distribution (e.g. mcgrad.Normal(loc, scale)), got {type(dist).__name__}"
        )


def estimate(
    dist,
    f: Objective | str = "square",
    estimator: str = "score",
    n: int = 1_000_000,
    seed: int | None = 0,
    *,
    block_size: int = engine.DEFAULT_BLOCK_SIZE,
    blocks: tuple[int, int] | None = None,
    threads: int | None = None,
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
    estimator : str
        A registry name valid for the family (``score``, ``pathwise``, ``grep``,
        ``measure_valued`` for Normal).
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
    **options
        Estimator options, e.g. ``transform=2`` for ``grep``.

    Returns
    -------
    Estimate
        ``mean``, ``var``, ``stderr``, ``var_stderr`` per gradient component, plus ``n``,
        ``seconds``, ``samples_per_second`` and ``to_frame()``.

    Notes
    -----
    For every sample i the estimator gives a vector g_i; ``mean`` is (1/n) Σ g_i and ``var``
    is (1/(n-1)) Σ (g_i - mean)^2, computed by per-block shifted power sums merged in block
    order (Chan/Pébay), so billions of samples use constant memory.
    """
    _check_dist(dist)
    objective = resolve(f)
    spec = estimators.lookup(estimator, dist.family)
    opts = estimators.resolve_options(spec, options)
    if spec.needs_derivative and not objective.has_derivative:
        raise ValueError(f"estimator {spec.name!r} needs the derivative of f; pass derivative= to user_objective")
    n = _validate.count("n", n, minimum=2)
    seed = _validate.seed(seed)
    block_size = _validate.count("block_size", block_size)
    block_range = engine.check_blocks(blocks, n, block_size)
    objective.check_domain(dist)
    if "boost" in opts and np.any(getattr(dist, "concentration", np.inf) + opts["boost"] < 1.0):
        raise ValueError(f"boost must be >= 1 when a concentration is below 1 (Marsaglia-Tsang needs shape >= 1), "
                         f"got boost={opts['boost']} with concentration {dist.concentration.min():g}")
    objective.check(dist.dim)
    launch = engine.LAUNCHERS[dist.family](dist, objective, spec, opts, seed, block_size, n)
    with engine.threads(threads):
        acc, counters, seconds = engine.run_blocks(launch, engine.width_of(dist), block_range)
    nonfinite = int(counters[0])
    diagnostics = {}
    if counters[1]:
        per_sample = dist.concentration.size if hasattr(dist, "concentration") else dist.dim
        draws = acc.total()[0, 0] * per_sample
        diagnostics["acceptance_rate"] = float(draws / counters[1])
    result = Estimate(
        estimator=estimators.label(spec.name, opts),
        family=dist.family,
        objective=objective.name,
        components=dist.components,
        parameters={k: v.copy() for k, v in dist.parameters.items()},
        seed=seed,
        block_size=block_size,
        accumulator=acc,
        seconds=seconds,
        biased=spec.biased,
        nonfinite=nonfinite,
        exact=objective.exact_gradient(dist),
        options=opts,
        n_total=n,
        diagnostics=diagnostics,
    )
    var_defined = result.n >= 2  # a block range of one sample has a mean but no variance
    if nonfinite or not (np.all(np.isfinite(result.mean)) and (not var_defined or np.all(np.isfinite(result.var)))):
        warnings.warn(
            f"{nonfinite} of {result.n} per-sample gradients of {result.estimator} were NaN or infinite "
            f"(f={objective.name}); mean or var is not finite"
            + ("" if nonfinite else " because the power sums overflowed (values beyond ~1e77)"),
            RuntimeWarning,
            stacklevel=2,
        )
    return result


def _estimator_entries(entries) -> list[tuple[str, dict]]:
    if isinstance(entries, str):
        entries = [entries]
    out = []
    for item in entries:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], dict):
            out.append((item[0], dict(item[1])))
        else:
            raise TypeError(f"estimators entries must be names or (name, options) pairs, got {item!r}")
    if not out:
        raise ValueError("estimators must name at least one estimator")
    return out


def compare(
    dist,
    f: Objective | str = "square",
    estimators: Iterable = ("score", "pathwise"),
    n: int = 1_000_000,
    seed: int | None = 0,
    *,
    block_size: int = engine.DEFAULT_BLOCK_SIZE,
    threads: int | None = None,
) -> pandas.DataFrame:
    """Run several estimators on the same problem; one row per estimator × gradient component.

    Parameters
    ----------
    estimators : iterable
        Names, or ``(name, options)`` pairs such as ``("grep", {"transform": 2})``.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimator, component, mean, stderr, var, var_stderr`` and, when the
        objective's exact gradient is known, ``exact`` and ``z = (mean - exact) / stderr``;
        then ``n, biased, seconds, samples_per_second``.

    Notes
    -----
    Every estimator runs with the same seed.  On Normal, ``score``, ``pathwise`` and ``grep``
    consume the same D normals per sample, so they are evaluated on common random numbers
    (identical eps for every sample); ``measure_valued`` draws extra variates per sample, so it
    shares only the seed, not the draws.
    """
    import pandas as pd  # imported on use: pandas adds ~30 MB to every process

    seed = _validate.seed(seed)
    frames = []
    for name, opts in _estimator_entries(estimators):
        result = estimate(dist, f, name, n, seed, block_size=block_size, threads=threads, **opts)
        frames.append(result.to_frame())
    return pd.concat(frames, ignore_index=True)
