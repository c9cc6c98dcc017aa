"""Parameter sweeps: estimators over a grid of distribution (and objective) parameters in one parallel call."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from . import _validate, api, distributed, engine, families
from . import estimators as registry
from .objectives import BUILTINS, Objective

if TYPE_CHECKING:
    import pandas

FAMILIES = families.CLASSES


def _points(name: str, values) -> list:
    """The grid values of one parameter: a scalar is one point, a sequence lists the points."""
    if isinstance(values, str) or np.ndim(values) == 0:
        return [values]
    points = list(values)
    if not points:
        raise ValueError(f"grid[{name!r}] must list at least one value")
    return points


def _grid(grid: Mapping, what: str) -> tuple[list[str], list[list]]:
    if not isinstance(grid, Mapping):
        raise TypeError(f"{what} must be a dict of parameter name -> values, got {type(grid).__name__}")
    names = list(grid)
    return names, [_points(name, grid[name]) for name in names]


def _keyword_check(make: Callable, names: list[str], what: str) -> None:
    allowed = [p for p in inspect.signature(make).parameters if p != "self"]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ValueError(f"{what} has unknown parameter(s) {unknown}; {getattr(make, '__name__', make)} takes "
                         f"{allowed}")


def _option_points(name: str, family: str, names: list[str], values: list[list]) -> list[dict]:
    """The option settings an estimator runs at: the grid over the options it takes (one empty setting when it
    takes none); an option no compared estimator takes is refused."""
    taken = [option.name for option in registry.lookup(name, family).declared]
    mine = [i for i, option in enumerate(names) if option in taken]
    return [dict(zip([names[i] for i in mine], point, strict=True)) for point in
            itertools.product(*(values[i] for i in mine))]


def _cell(value):
    """A frame cell for a grid value: scalars as floats, vectors as tuples."""
    if np.ndim(value) == 0:
        return float(value) if not isinstance(value, str) else value
    return tuple(np.asarray(value, dtype=float).ravel().tolist())


def sweep(
    family: type,
    grid: Mapping,
    f: Objective | str | Callable[..., Objective] = "square",
    estimators: Iterable | None = None,
    n: int = 1_000_000,
    seed: int | None = 0,
    *,
    f_grid: Mapping | None = None,
    options_grid: Mapping | None = None,
    block_size: int = engine.DEFAULT_BLOCK_SIZE,
    threads: int | None = None,
    progress: bool | None = None,
    client=None,
) -> pandas.DataFrame:
    """Every estimator at every point of a parameter grid, run side by side: one tidy frame.

    Parameters
    ----------
    family : class
        ``mcgrad.Normal``, ``Gamma``, ``Beta``, ``Dirichlet``, ``Bernoulli`` or ``Categorical``.
    grid : dict
        Constructor argument -> values.  A sequence lists the values to sweep (its entries may be
        arrays, for D > 1); a scalar is held fixed.  The grid is the Cartesian product.
    f : Objective, str or callable
        The objective; with ``f_grid``, a factory such as ``mcgrad.cos`` or a built-in's name, called
        at every point of ``f_grid`` (e.g. ``f_grid={"k": [0.5, 1, 2]}``).
    estimators : iterable, optional
        Names, or ``(name, options)`` pairs, as in :func:`compare` (by default score and the family's default
        estimator).
    options_grid : dict, optional
        Estimator option -> values, swept like ``grid`` (e.g. ``{"temperature": [0.1, 0.5, 2]}``) for every
        estimator that takes the option; one that takes none of them runs once per point (its option
        columns empty).  The values get columns of their own, so plots can put them on the x axis.
    n, seed, block_size
        As in :func:`estimate`, for every (point, estimator): each row equals the point-by-point
        ``estimate`` with the same arguments, bit for bit.
    threads : int, optional
        Worker threads (default: all of Numba's).  Work units are (point, estimator, chunk of blocks),
        each run on one thread, so small points run side by side instead of one at a time.
    client : dask.distributed.Client, optional
        Run every (point, estimator) as block ranges on the cluster's workers instead (all submitted at
        once); rows are still bitwise the local ones.

    Returns
    -------
    pandas.DataFrame
        One row per point x estimator x component: the swept parameters' columns, then the columns of
        :meth:`Estimate.to_frame`.  ``seconds`` is the time a row's blocks took on their threads.
    """
    if not (isinstance(family, type) and issubclass(family, FAMILIES)):
        raise TypeError(f"family must be one of {[c.__name__ for c in FAMILIES]} (the class, e.g. mcgrad.Normal), "
                        f"got {family!r}")
    names, values = _grid(grid, "grid")
    _keyword_check(family, names, "grid")
    f_names, f_values = _grid(f_grid, "f_grid") if f_grid is not None else ([], [])
    if f_grid is not None:
        make = BUILTINS.get(f, f) if isinstance(f, str) else f
        if not callable(make) or isinstance(make, Objective):
            raise TypeError("with f_grid, f must be an objective factory such as mcgrad.cos or a built-in's name")
        _keyword_check(make, f_names, "f_grid")
    o_names, o_values = _grid(options_grid, "options_grid") if options_grid is not None else ([], [])
    entries = api._estimator_entries(registry.default_pair(family.family) if estimators is None else estimators)
    for name, opts in entries:
        if set(opts) & set(o_names):
            raise ValueError(f"{name} is given {sorted(set(opts) & set(o_names))} both as its own option and in "
                             "options_grid; give each option one way")
    taken = {option.name for name, _ in entries for option in registry.lookup(name, family.family).declared}
    if set(o_names) - taken:
        raise ValueError(f"options_grid names {sorted(set(o_names) - taken)}, which none of the estimators "
                         f"{[name for name, _ in entries]} takes (they take {sorted(taken)})")
    seed = _validate.seed(seed)
    jobs, labels = [], []
    for point in itertools.product(*values, *f_values):
        dist_point = dict(zip(names, point[:len(names)], strict=True))
        f_point = dict(zip(f_names, point[len(names):], strict=True))
        dist = family(**dist_point)
        objective = make(**f_point) if f_grid is not None else f
        base = {**{k: _cell(v) for k, v in dist_point.items()}, **{k: _cell(v) for k, v in f_point.items()}}
        for name, opts in entries:
            for swept in _option_points(name, dist.family, o_names, o_values):
                jobs.append(api.prepare(dist, objective, name, n, seed, block_size, None, threads, {**opts, **swept}))
                labels.append({**base, **{k: _cell(swept[k]) if k in swept else np.nan for k in o_names}})
    if client is not None:
        calls = [dict(dist=job.dist, f=job.objective, estimator=job.spec.name, n=job.n, seed=job.seed,
                      block_size=job.block_size, **job.options) for job in jobs]
        results = distributed.run(client, api.estimate, calls, [job.blocks for job in jobs])
        return _frame([({**label, **r.columns()}, len(r.components)) for label, r in zip(labels, results, strict=True)])
    # the bar counts whole blocks as block_size samples, so it is exact up to each run's last block
    total_blocks = sum(job.blocks[1] - job.blocks[0] for job in jobs)
    total = sum(min(job.blocks[1] * job.block_size, job.n) - job.blocks[0] * job.block_size for job in jobs)
    update, bar = engine.progress_bar((0, total_blocks), block_size, total, progress, description="sweep")
    try:
        runs = engine.run_many([(job.launch, job.width, job.blocks) for job in jobs], threads, update)
    finally:
        if bar is not None:
            bar.close()
    tables = []
    for job, label, (acc, counters, seconds) in zip(jobs, labels, runs, strict=True):
        cols = api.finish(job, acc, counters, seconds).columns()
        tables.append(({**label, **cols}, len(job.dist.components)))
    return _frame(tables)


def _frame(tables: list[tuple[dict, int]]) -> pandas.DataFrame:
    """One frame from many runs' columns (a run without a column gets NaN there); built once, since a
    pandas frame per grid point would cost more than a small point's sampling."""
    import pandas as pd

    keys = list(dict.fromkeys(k for cols, _ in tables for k in cols))
    data = {}
    for key in keys:
        column = []
        for cols, rows in tables:
            value = cols.get(key, np.nan)
            if isinstance(value, (list, np.ndarray)):
                column.extend(value)
            else:
                column.extend([value] * rows)
        data[key] = column
    return pd.DataFrame(data)
