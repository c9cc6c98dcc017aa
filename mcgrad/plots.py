"""Figures (the optional ``plot`` extra, matplotlib): estimator variance against a parameter on log axes,
and SGD trajectories.  Files are PNG or SVG, chosen by the path's extension."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import optimisation
from .families import Normal
from .objectives import cos, gaussian_bump, quadratic
from .sweep import sweep

if TYPE_CHECKING:
    import pandas

FORMATS = (".png", ".svg")
MOHAMED_OBJECTIVES = (("(x - k)^2", quadratic), ("exp(-k x^2)", gaussian_bump), ("cos(k x)", cos))
MOHAMED_ESTIMATORS = ("score", "pathwise", "measure_valued")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'mcgrad[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_path(path) -> str:
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"path must end in one of {list(FORMATS)} (the file format), got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise ValueError(f"path {path!r}: the folder {folder!r} does not exist or is not writable")
    return path


def _save(fig, path: str) -> str:
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    return path


STATISTICS = {  # what plot_variance can draw: column, its error-bar column (2 standard errors), axis label
    "var": ("var", "var_stderr", "variance"),
    "bias": ("bias", "stderr", "|bias| = |mean - exact|"),
    "mse": ("mse", None, "MSE = bias^2 + var"),
    "snr": ("snr", None, "SNR = |mean| / sd"),
    "efficiency": ("efficiency", None, "efficiency = 1 / (var x seconds per sample)"),
}


def series_label(label: str, parameter: str) -> str:
    """An estimator's table label without the swept option: ``gumbel_softmax[temperature=0.5]`` swept over
    ``temperature`` is the series ``gumbel_softmax``."""
    name, _, rest = label.partition("[")
    if not rest:
        return label
    kept = [item for item in rest.rstrip("]").split(",") if item.split("=", 1)[0] != parameter]
    return name + (f"[{','.join(kept)}]" if kept else "")


def plot_variance(frame: pandas.DataFrame, parameter: str, path, *, statistic: str = "var", title: str = "") -> str:
    """A statistic (default the per-sample variance) against ``parameter``, one line per estimator, one panel
    per component.

    Parameters
    ----------
    frame : pandas.DataFrame
        A :func:`mcgrad.sweep` or :func:`mcgrad.temperature_sweep` frame (or any frame with ``parameter``,
        ``estimator``, ``component`` and the statistic's column).
    parameter : str
        The swept column on the x axis: a distribution or objective parameter, or an estimator option (its
        value is then left out of the series' labels, so each estimator is one line).
    path : str or path-like
        Output file, ``.png`` or ``.svg``.
    statistic : str
        ``"var"``, ``"bias"`` (its absolute value), ``"mse"``, ``"snr"`` or ``"efficiency"``.

    Notes
    -----
    The y axis is logarithmic; so is the x axis when every value is positive and they span more than
    a decade.  Error bars are +-2 standard errors (variance and bias).
    """
    path = _check_path(path)
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {list(STATISTICS)}, got {statistic!r}")
    column, error, ylabel = STATISTICS[statistic]
    for needed in (parameter, "estimator", "component", column):
        if needed not in frame.columns:
            raise ValueError(f"frame has no column {needed!r}; columns are {list(frame.columns)}")
    plt = _pyplot()
    frame = frame.assign(_series=[series_label(str(label), parameter) for label in frame["estimator"]])
    components = list(dict.fromkeys(frame["component"]))
    fig, axes = plt.subplots(1, len(components), figsize=(5 * len(components), 4), squeeze=False)
    x_all = frame[parameter].to_numpy(float)
    log_x = bool(np.all(x_all > 0) and x_all.max() > 10 * x_all.min())
    for ax, comp in zip(axes[0], components, strict=True):
        for name in dict.fromkeys(frame["_series"]):
            rows = frame[(frame["component"] == comp) & (frame["_series"] == name)].sort_values(parameter)
            values = rows[column].to_numpy(float)
            values = np.abs(values) if statistic == "bias" else values
            err = 2 * rows[error].to_numpy(float) if error is not None and error in rows else None
            ax.errorbar(rows[parameter], values, yerr=err, marker="o", ms=3, capsize=2, label=name)
        ax.set_yscale("log")
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(parameter)
        ax.set_ylabel(f"{ylabel}, {comp} gradient")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def mohamed_variance_figure(path, ks: Sequence[float] = tuple(np.linspace(0.1, 3.0, 15)), loc: float = 1.0,
                            scale: float = 1.0, estimators: Iterable = MOHAMED_ESTIMATORS, n: int = 1_000_000,
                            seed: int = 0) -> tuple[str, pandas.DataFrame]:
    """Variance of score, pathwise and measure-valued gradients of N(loc, scale^2) against k for
    f = (x - k)^2, exp(-k x^2) and cos(k x), as in Mohamed et al. (2020); returns the path and the frame.

    Notes
    -----
    One sweep per objective over ``ks`` (all grid points and blocks in parallel); a 3 x 2 grid of panels
    (objective x gradient component), variance on a log axis.
    """
    import pandas as pd

    path = _check_path(path)
    estimators = list(estimators)
    frames = []
    for label, make in MOHAMED_OBJECTIVES:
        frame = sweep(Normal, {"loc": loc, "scale": scale}, make, estimators, n, seed, f_grid={"k": list(ks)})
        frame.insert(0, "f", label)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    plt = _pyplot()
    fig, axes = plt.subplots(len(MOHAMED_OBJECTIVES), 2, figsize=(10, 3.2 * len(MOHAMED_OBJECTIVES)), squeeze=False)
    for row, (label, _) in enumerate(MOHAMED_OBJECTIVES):
        for col, comp in enumerate(("loc", "scale")):
            ax = axes[row, col]
            part = frame[(frame["f"] == label) & (frame["component"] == comp)]
            for name in dict.fromkeys(part["estimator"]):
                rows = part[part["estimator"] == name].sort_values("k")
                ax.plot(rows["k"], rows["var"], marker="o", ms=3, label=name)
            ax.set_yscale("log")
            ax.set_title(f"f = {label}: d/d{'mu' if comp == 'loc' else 'sigma'}", fontsize=10)
            ax.set_xlabel("k")
            ax.set_ylabel("variance")
            ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Gradient variance under N({loc:g}, {scale:g}^2), n = {n:,} per point")
    fig.tight_layout()
    return _save(fig, path), frame


def plot_trajectories(trajectories: Sequence[optimisation.Trajectory], path, *, optimum: float | None = None,
                      title: str = "") -> str:
    """|scale| and E[f] minus its minimum ``optimum`` (when known; else minus the lowest E[f] any run reached,
    labelled so), over the steps of SGD runs, on log y axes (the loss axis bottoms out at rounding, machine
    epsilon times the optimum)."""
    path = _check_path(path)
    plt = _pyplot()
    fig, (ax_scale, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    floor = 1e-30
    finite = [t.expected_loss for t in trajectories if t.expected_loss is not None]
    best = float(optimum) if optimum is not None else (min(e.min() for e in finite) if finite else 0.0)
    loss_floor = np.finfo(float).eps * max(1.0, abs(best))  # E[f] - best is rounding below this
    for tr in trajectories:
        dim = len(tr.components) // 2
        steps = np.arange(tr.parameters.shape[0])
        ax_scale.plot(steps, np.maximum(np.abs(tr.parameters[:, dim:]).max(axis=1), floor), label=tr.estimator,
                      lw=1)
        if tr.expected_loss is not None:
            ax_loss.plot(steps, np.maximum(tr.expected_loss - best, loss_floor), label=tr.estimator, lw=1)
    ax_scale.set_yscale("log")
    ax_scale.set_xlabel("step")
    ax_scale.set_ylabel("|scale|")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("E[f] - min E[f]" if optimum is not None else "E[f] - lowest E[f] reached")
    for ax in (ax_scale, ax_loss):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def scale_collapse_figure(path, seed: int = 0) -> tuple[str, list[optimisation.Trajectory]]:
    """The SGD study of :func:`mcgrad.scale_collapse_study`, drawn; returns the path and the runs."""
    runs = optimisation.scale_collapse_study(seed=seed)
    title = "SGD on E[x^2 + 1] from (1, 1): score and grep-1 never settle, pathwise and grep-2 converge"
    # the study's f is x^2 + 1 (c = 1): E[f] = loc^2 + scale^2 + 1, least (1) at loc = scale = 0
    return plot_trajectories(runs, path, optimum=1.0, title=title), runs
