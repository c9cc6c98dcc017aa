"""Batch objectives: f evaluated on a whole batch of draws at once, from NumPy, JAX, PyTorch or ``@njit`` code.

A batch objective takes ``X`` of shape (B, D), the B points at which the estimator evaluates f (the draws,
relaxed points or outcomes, exactly those a per-sample objective would see), and returns the values
``(B,)`` and, for estimators that need f', the gradients ``(B, D)``.  The kernels record the points of each
block on a tape, the batches are evaluated, and the block is replayed with the answers
(:mod:`mcgrad.kernels.tape`); an estimator asks only for what it uses (values for score-type estimators,
gradients for pathwise-type ones).

Batches are formed per block, from its first point, B at a time: which points share a batch depends only on
(seed, n, block size), never on threads or chunking, so results stay bitwise reproducible even where a
function's rounding depends on the batch it is in.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

from .kernels import objectives as kobj
from .kernels import tape as ktape
from .objectives import Objective, code_digest

DEFAULT_BATCH = 4096


def _batch_size(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 1 << 24:
        raise ValueError(f"batch_size must be an integer in [1, 16777216], got {value!r}")
    return int(value)


def _name(name, func, fallback: str) -> str:
    if name is None:
        return getattr(func, "__name__", fallback)
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    return name


def _version(version) -> str | None:
    if version is None:
        return None
    if not isinstance(version, str | int) or isinstance(version, bool) or str(version) == "":
        raise TypeError(f"version must be a non-empty string or an integer, got {version!r}")
    return str(version)


def _checked(name: str, out, rows: int, shape: tuple) -> np.ndarray:
    """A function's result as float64 of the expected shape, or a TypeError naming the function."""
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must return real numbers, got {type(out).__name__}") from None
    if arr.shape != shape:
        raise TypeError(f"{name} must return an array of shape {shape} for a batch of {rows} points, "
                        f"got shape {arr.shape}")
    return arr


def batch_table(tapes: np.ndarray, batch: int) -> np.ndarray:
    """Rows ``(tape, first point, end point)`` of every batch (:func:`mcgrad.kernels.tape.batches`)."""
    from . import engine

    table = engine.compiled(("tape batches",), lambda: ktape.batches,
                            numba.types.int64[:, ::1](ktape.MATRIX, numba.types.int64))
    return table(tapes, batch)


def one_blas_thread():
    """BLAS on one thread per caller while batches run side by side (measured: a BLAS of two threads under
    each of two batches in flight ran the logistic-regression bench 1.5x slower than one each)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


class _Batch:
    """What both kinds of batch evaluator share: ``call(X, need_values, need_gradients)``, checked."""

    label: str
    call: Callable

    def evaluate(self, points: np.ndarray, need_values: bool, need_gradients: bool):
        """``(values (B,), gradients (B, D))`` at ``points`` (NaN where not asked for)."""
        rows, width = points.shape
        values, gradients = self.call(np.ascontiguousarray(points, dtype=np.float64), need_values, need_gradients)
        f = _checked(f"{self.label} (values)", values, rows, (rows,)) if need_values else np.full(rows, math.nan)
        g = (_checked(f"{self.label} (gradients)", gradients, rows, (rows, width)) if need_gradients
             else np.full((rows, width), math.nan))
        return f, g


class HostBatch(_Batch):
    """Values and gradients from Python callables (NumPy, JAX, PyTorch), several batches in flight.

    ``make()`` returns ``call(X, need_values, need_gradients) -> (values or None, gradients or None)``; it is
    made on first use in each process (a JAX or PyTorch transform is rebuilt, not pickled, on a Dask worker).
    """

    def __init__(self, make: Callable[[], Callable], batch_size: int, label: str):
        self.make = make
        self.batch_size = batch_size
        self.label = label
        self._call = None

    @property
    def call(self) -> Callable:
        if self._call is None:
            self._call = self.make()
        return self._call

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_call": None}

    def evaluate_tapes(self, tapes: np.ndarray, need_values: bool, need_gradients: bool, threads: int) -> None:
        """Answer every recorded point of ``tapes`` in place, batches of each tape evaluated on ``threads``
        threads (NumPy, JAX and PyTorch release the GIL while they compute)."""
        tasks = []
        for j, lo, hi in batch_table(tapes, self.batch_size):
            stride = 1 + int(tapes[j, ktape.WIDTH])
            tasks.append(tapes[j, ktape.HEADER + lo * stride:ktape.HEADER + hi * stride].reshape(hi - lo, stride))

        def work(entries):
            f, g = self.evaluate(np.ascontiguousarray(entries[:, 1:]), need_values, need_gradients)
            entries[:, 0] = f
            entries[:, 1:] = g

        if threads <= 1 or len(tasks) <= 1:
            for entries in tasks:
                work(entries)
            return
        with one_blas_thread(), ThreadPoolExecutor(max_workers=threads) as pool:
            for _ in pool.map(work, tasks):
                pass


class NjitBatch(_Batch):
    """Values and gradients from ``@njit`` batch functions, evaluated inside a parallel kernel (Python callers
    such as the delta method's expansion call the same compiled functions)."""

    def __init__(self, values, gradients, batch_size: int, label: str):
        self.values = values
        self.gradients = gradients
        self.batch_size = batch_size
        self.label = label
        self.call = _numpy_call(values, gradients)

    def evaluate_tapes(self, tapes: np.ndarray, need_values: bool, need_gradients: bool, threads: int) -> None:
        from . import engine

        kernel = engine.compiled(("evaluate tapes",), lambda: ktape.evaluate_tapes, _EVALUATE_SIGNATURE,
                                 "batch evaluation kernel")
        status = np.zeros(tapes.shape[0], np.int64)
        with one_blas_thread() if threads > 1 else contextlib.nullcontext():
            kernel(tapes, self.batch_size, self.values, self.gradients, need_values, need_gradients, status)
        if status.any():
            raise TypeError(f"{self.label} returned an array of the wrong shape: values must be (B,) and "
                            "gradients (B, D) for a batch X of shape (B, D)")


_EVALUATE_SIGNATURE = numba.types.void(ktape.MATRIX, numba.types.int64, ktape.BATCH_VALUES_FUNCTION,
                                       ktape.BATCH_GRADIENTS_FUNCTION, numba.types.boolean, numba.types.boolean,
                                       numba.types.int64[::1])


def _numpy_call(f, df):
    def call(points, need_values, need_gradients):
        return (f(points) if need_values else None), (df(points) if need_gradients else None)

    return call


def _no_gradients(points):
    return np.full((points.shape[0], points.shape[1]), np.nan)


def _compile_njit(label: str, values, gradients):
    """First-class functions of the batch signatures wrapping the user's ``@njit`` functions."""
    f, df = values, gradients

    def value_adapter(points):
        return np.ascontiguousarray(np.asarray(f(points), dtype=np.float64))

    if df is None:
        gradient_adapter = _no_gradients
    else:
        def gradient_adapter(points):
            return np.ascontiguousarray(np.asarray(df(points), dtype=np.float64))
    try:
        compiled_values = numba.njit(ktape.BATCH_VALUES_SIGNATURE, error_model="numpy")(value_adapter)
        compiled_gradients = numba.njit(ktape.BATCH_GRADIENTS_SIGNATURE, error_model="numpy")(gradient_adapter)
    except Exception as exc:
        raise TypeError(f"{label!r} does not compile as a batch objective (float64[:, ::1] (B, D) -> values "
                        f"float64 (B,), gradients float64 (B, D)): {str(exc).splitlines()[0]}") from None
    return compiled_values, compiled_gradients


def _objective(label: str, evaluator, has_gradients: bool, source: str | None, exact_gradient, positive: bool):
    if exact_gradient is not None and not callable(exact_gradient):
        raise TypeError("exact_gradient must be callable(dist) -> array or None")
    return Objective(label, kobj.USER, math.nan, has_derivative=has_gradients, adapter=ktape_functions()[0],
                     adapter_1d=ktape_functions()[1], exact=exact_gradient, vector=True,
                     domain="positive" if positive else "real", source=source, batch=evaluator)


def ktape_functions():
    """The compiled tape functions that stand in the per-sample user slot for every batch objective."""
    from . import engine

    return (engine.compiled(("tape", "vector"), lambda: ktape.tape_vector, kobj.USER_SIGNATURE),
            engine.compiled(("tape", "scalar"), lambda: ktape.tape_scalar, kobj.USER_SCALAR_SIGNATURE))


def batch_objective(
    values: Callable,
    gradients: Callable | None = None,
    *,
    name: str | None = None,
    version: str | int | None = None,
    batch_size: int = DEFAULT_BATCH,
    exact_gradient: Callable | None = None,
    positive: bool = False,
) -> Objective:
    """An objective evaluated a batch at a time: NumPy callables, or ``@numba.njit`` batch functions.

    Parameters
    ----------
    values : callable
        ``values(X) -> (B,)``: f at each row of ``X``, a float64 array of shape (B, D).  A ``@numba.njit``
        function runs inside the kernels (on every thread, with no Python in the loop); any other callable
        runs on the host, several batches at once on the worker threads.
    gradients : callable, optional
        ``gradients(X) -> (B, D)``: grad f at each row, of the same kind as ``values``.  Needed by the
        estimators that use f' (pathwise, grep, rsvi, implicit, the relaxed discrete ones); score-type
        estimators never call it.
    name : str, optional
        Label in tables (default: the function's name).
    version : str or int, optional
        What identifies the function's code and data in a checkpoint's fingerprint.  ``@njit`` functions
        are recognised by their compiled code; a host function without a version cannot be checkpointed.
    batch_size : int
        Points per call (default 4096).  Each block's points are cut into batches from its first point.
    exact_gradient : callable, optional
        ``exact_gradient(dist) -> array``, shown as the ``exact`` column.
    positive : bool
        True when f is defined only for positive x (refused on Normal).

    Notes
    -----
    The points are those a per-sample objective would see, in the same order (the block is recorded,
    evaluated, then replayed), so the estimate equals the per-sample one up to the rounding of f.
    """
    batch = _batch_size(batch_size)
    label = _name(name, values, "batch")
    if not callable(values):
        raise TypeError(f"values must be callable X (B, D) -> (B,), got {type(values).__name__}")
    if gradients is not None and not callable(gradients):
        raise TypeError(f"gradients must be callable X (B, D) -> (B, D) or None, got {type(gradients).__name__}")
    njit = isinstance(values, CPUDispatcher)
    if gradients is not None and isinstance(gradients, CPUDispatcher) != njit:
        raise TypeError("values and gradients must both be @numba.njit functions, or both plain callables")
    if njit:
        compiled_values, compiled_gradients = _compile_njit(label, values, gradients)
        evaluator = NjitBatch(compiled_values, compiled_gradients, batch, label)
        source = code_digest(values, gradients, salt="batch") + (f":{_version(version)}" if version is not None else "")
    else:
        evaluator = HostBatch(functools.partial(_numpy_call, values, gradients), batch, label)
        source = None if version is None else f"host:{label}:{_version(version)}"
    return _objective(label, evaluator, gradients is not None, source, exact_gradient, positive)


def jax_objective(
    f: Callable,
    *,
    name: str | None = None,
    version: str | int | None = None,
    batch_size: int = DEFAULT_BATCH,
    exact_gradient: Callable | None = None,
    positive: bool = False,
) -> Objective:
    """An objective written in JAX for one point, ``f(x: (D,)) -> scalar``; batches and gradients by JAX.

    Values are ``jit(vmap(f))``, gradients ``jit(vmap(grad(f)))`` and both together
    ``jit(vmap(value_and_grad(f)))``, each compiled by JAX once per batch shape (the last batch of a block is
    padded to ``batch_size`` so every call has the same shape).  Needs 64-bit floats in JAX
    (``jax.config.update("jax_enable_x64", True)`` before the first JAX computation); JAX is imported only
    here (``pip install "mcgrad[jax]"``).  Other parameters as in :func:`batch_objective`.
    """
    def check(jax):
        if not jax.config.jax_enable_x64:
            raise ValueError('jax_objective needs 64-bit floats: call jax.config.update("jax_enable_x64", True) '
                             "before the first JAX computation")

    return _autodiff_objective(f, "jax", _jax_call, check, name, version, batch_size, exact_gradient, positive)


_FRAMEWORKS = {"jax": ("JAX", "x (D,) -> scalar"), "torch": ("PyTorch", "tensor (D,) -> scalar tensor")}


def _autodiff_objective(f, framework: str, make_call, check, name, version, batch_size, exact_gradient,
                        positive) -> Objective:
    """A host batch objective from a one-point function of an autodiff framework (imported here, on use)."""
    import importlib

    title, kind = _FRAMEWORKS[framework]
    try:
        module = importlib.import_module(framework)
    except ImportError:
        raise ImportError(f'{framework}_objective needs {title}: pip install "mcgrad[{framework}]"') from None
    if not callable(f):
        raise TypeError(f"f must be a callable {kind} written in {title}, got {type(f).__name__}")
    if check is not None:
        check(module)
    batch = _batch_size(batch_size)
    label = _name(name, f, framework)
    source = None if version is None else f"{framework}:{label}:{_version(version)}"
    return _objective(label, HostBatch(functools.partial(make_call, f, batch), batch, label), True, source,
                      exact_gradient, positive)


def _jax_call(f, batch: int):
    import jax

    only_values = jax.jit(jax.vmap(f))
    only_gradients = jax.jit(jax.vmap(jax.grad(f)))
    both = jax.jit(jax.vmap(jax.value_and_grad(f)))

    def call(points, need_values, need_gradients):
        rows = points.shape[0]
        if rows < batch:  # one shape per objective: no recompilation for a block's last, shorter batch
            points = np.concatenate([points, np.repeat(points[-1:], batch - rows, axis=0)])
        if need_values and need_gradients:
            v, g = both(points)
            return np.asarray(v)[:rows], np.asarray(g)[:rows]
        if need_values:
            return np.asarray(only_values(points))[:rows], None
        return None, np.asarray(only_gradients(points))[:rows]

    return call


def torch_objective(
    f: Callable,
    *,
    name: str | None = None,
    version: str | int | None = None,
    batch_size: int = DEFAULT_BATCH,
    exact_gradient: Callable | None = None,
    positive: bool = False,
) -> Objective:
    """An objective written in PyTorch for one point, ``f(x: tensor (D,)) -> scalar tensor``; batches and
    gradients by ``torch.func``.

    Values are ``vmap(f)`` and gradients ``vmap(grad_and_value(f))``, on float64 tensors that share memory
    with the draws (keep the function's own tensors in float64).  PyTorch is imported only here
    (``pip install "mcgrad[torch]"``).  Other parameters as in :func:`batch_objective`.
    """
    return _autodiff_objective(f, "torch", _torch_call, None, name, version, batch_size, exact_gradient, positive)


def _torch_call(f, batch: int):
    import torch
    from torch import func as torch_func

    only_values = torch_func.vmap(f)
    both = torch_func.vmap(torch_func.grad_and_value(f))

    def call(points, need_values, need_gradients):
        x = torch.from_numpy(points)
        if not need_gradients:
            with torch.no_grad():
                return only_values(x).detach().numpy(), None
        g, v = both(x)
        return v.detach().numpy(), g.detach().numpy()

    return call
