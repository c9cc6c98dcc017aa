"""Test functions f: built-ins (their closed forms live with each family) and user functions.

Built-ins are sums over the D coordinates of x and run inside the cached kernels at full speed.
A user function is any ``@numba.njit`` function; mcgrad compiles a small adapter for it with
the kernels' calling convention, which costs roughly 0.1-0.5 s once per function and process
(the kernels themselves stay cached and are not recompiled).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

from . import families
from ._validate import real_scalar
from .function_address import FunctionAddress
from .kernels import objectives as kobj

_MOMENT_ORDER = {kobj.SQUARE: 2, kobj.QUADRATIC: 2, kobj.LINEAR: 1}
"""The built-ins that grow like |x|^order, which a heavy-tailed family refuses where E|x|^order is infinite."""


@functools.cache
def placeholders() -> tuple[FunctionAddress, FunctionAddress]:
    """The user-function slots of a built-in objective, by address: (vector, scalar D = 1)."""
    return (FunctionAddress(kobj.no_user_function, kobj.USER_FUNCTION),
            FunctionAddress(kobj.no_user_scalar, kobj.USER_SCALAR_FUNCTION))


@dataclass(frozen=True)
class Objective:
    """A function f(x) whose expectation is differentiated.

    Attributes
    ----------
    name : str
        Label used in tables, e.g. ``"square(c=1)"``.
    code : int
        Kernel code of a built-in, or ``-1`` for a user function.
    param : float
        The built-in's parameter (unused for user functions).
    has_derivative : bool
        Whether f' is available (pathwise-type estimators need it).
    batch : object or None
        The evaluator of a batch objective (:mod:`mcgrad.batch`); None for built-ins and per-sample functions.
    """

    name: str
    code: int
    param: float = 0.0
    has_derivative: bool = True
    adapter: Callable | None = field(default=None, repr=False, compare=False)
    adapter_1d: Callable | None = field(default=None, repr=False, compare=False)
    exact: Callable | None = field(default=None, repr=False, compare=False)
    vector: bool = False
    domain: str = "real"
    source: str | None = field(default="", repr=False, compare=False)
    batch: object | None = field(default=None, repr=False, compare=False)

    @property
    def identity(self) -> str | None:
        """What tells two objectives apart exactly: a built-in's code and parameter (as a hex float), a
        digest of a user function's compiled code, constants and names (so an edited function differs), or
        the name and version given to a host batch function (None without a version: not identifiable)."""
        if self.code == kobj.USER:
            return None if self.source is None else f"user:{self.source}"
        return f"{self.code}:{float(self.param).hex()}"

    def kernel_functions(self):
        """The first-class functions the kernels call for ``code == -1``: (vector, scalar D = 1)."""
        if self.adapter is None:
            return placeholders()
        return self.adapter, self.adapter_1d

    def exact_gradient(self, dist) -> np.ndarray | None:
        """Exact gradient of E[f(x)] over ``dist``'s components, or None when unknown: the user's
        ``exact_gradient``, or the built-in's closed form in the family's module."""
        if self.code == kobj.USER:
            out = None if self.exact is None else self.exact(dist)
        else:
            closed_form = families.module(dist.family).EXACT_GRADIENTS.get(self.code)
            out = None if closed_form is None else closed_form(dist, self.param)
        return None if out is None else np.asarray(out, dtype=np.float64)

    def check_domain(self, dist) -> None:
        """Refuse an objective on a distribution whose support it does not fit."""
        support = getattr(dist, "support", "real")
        discrete = support in ("binary", "onehot")
        if self.domain == "positive" and (support == "real" or discrete):
            raise ValueError(f"objective {self.name!r} needs positive x; {type(dist).__name__} outcomes include "
                             f"x <= 0 (use it with Gamma, Beta or Dirichlet)")
        if self.domain == "categorical" and support != "onehot":
            raise ValueError(f"objective {self.name!r} compares one-hot outcomes; use it with Categorical")
        if self.domain == "categorical" and int(self.param) >= dist.classes:
            raise ValueError(f"target class {int(self.param)} is out of range; allowed: 0..{dist.classes - 1}")
        if self.domain == "simplex" and support != "simplex":
            raise ValueError(f"objective {self.name!r} is defined on the simplex; use it with Beta or Dirichlet")
        order = _MOMENT_ORDER.get(self.code)  # built-ins growing like |x|^order
        moments = getattr(dist, "finite_moments_below", None)  # StudentT: E|x|^r is finite for r < df only
        if order is not None and moments is not None and float(np.min(moments)) <= order:
            raise ValueError(f"objective {self.name!r} has no finite expectation under {type(dist).__name__} with "
                             f"df = {float(np.min(moments)):g}: E|x|^{order} needs df > {order}")
        if self.domain == "simplex" and int(self.param) >= (1 if dist.family == "beta" else dist.dim):
            allowed = "0 (Beta's x)" if dist.family == "beta" else f"0..{dist.dim - 1}"
            raise ValueError(f"component index {int(self.param)} is out of range; allowed: {allowed}")

    def check(self, dim: int) -> None:
        """Evaluate a user function once at x = 0.5 to surface typing and shape errors early."""
        if self.batch is not None:
            self.batch.evaluate(np.full((1, dim), 0.5), True, self.has_derivative)
            return
        if self.adapter is None:
            return
        if not self.vector and dim < 1:
            raise ValueError("dimension must be >= 1")
        x = np.full(dim, 0.5)
        grad = np.zeros(dim)
        try:
            self.adapter(kobj.USER, 0.0, x, grad)
            if dim == 1:
                self.adapter_1d(kobj.USER, 0.0, 0.5)
        except Exception as exc:  # numba typing errors, wrong shapes, ...
            raise TypeError(
                f"f={self.name!r} could not be evaluated on a float64 array of length {dim}: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from None


def _one_parameter(name: str, code: int, parameter: str, value) -> Objective:
    """A built-in with one real parameter, labelled ``name(parameter=value)``."""
    value = real_scalar(parameter, value)
    return Objective(f"{name}({parameter}={value:g})", code, value)


def square(c: float = 0.0) -> Objective:
    """f(x) = sum_i x_i^2 + c.

    Notes
    -----
    Under N(mu, sigma^2): dE/dmu = 2 mu, dE/dsigma = 2 sigma.  Under Gamma(a, b):
    dE/da = (2a + 1)/b^2, dE/db = -2a(a + 1)/b^3.
    """
    return _one_parameter("square", kobj.SQUARE, "c", c)


def quadratic(k: float = 0.0) -> Objective:
    """f(x) = sum_i (x_i - k)^2.  Under N(mu, sigma^2): dE/dmu = 2 (mu - k), dE/dsigma = 2 sigma."""
    return _one_parameter("quadratic", kobj.QUADRATIC, "k", k)


def cos(k: float = 1.0) -> Objective:
    """f(x) = sum_i cos(k x_i).  Under N(mu, sigma^2): E = cos(k mu) exp(-k^2 sigma^2 / 2) per coordinate."""
    return _one_parameter("cos", kobj.COS, "k", k)


def gaussian_bump(k: float = 1.0) -> Objective:
    """f(x) = sum_i exp(-k x_i^2), k >= 0.  Under N(mu, sigma^2): E = exp(-k mu^2 / t) / sqrt(t), t = 1 + 2 k sigma^2.

    k < 0 is refused: exp(|k| x^2) has no finite expectation under a Normal.
    """
    if isinstance(k, numbers.Real) and not isinstance(k, bool) and k < 0:
        raise ValueError(f"k must be >= 0 (exp(-k x^2) with k < 0 has no finite expectation under a Normal), "
                         f"got {k!r}")
    return _one_parameter("gaussian_bump", kobj.GAUSSIAN_BUMP, "k", k)


def linear(a: float = 1.0) -> Objective:
    """f(x) = a sum_i x_i.  Normal: dE/dmu = a, dE/dsigma = 0; Gamma(c, b): dE/dc = a/b, dE/db = -a c/b^2.

    On a Categorical, class k weighs a k: f(x) = a sum_d sum_k k x_{d,k}, the (relaxed) class index
    times a, which on K = 2 classes matches the Bernoulli's a b.
    """
    return _one_parameter("linear", kobj.LINEAR, "a", a)


def identity() -> Objective:
    """f(x) = sum_i x_i (``linear(1)``).  Gamma(a, b): dE/da = 1/b, dE/db = -a/b^2."""
    return replace(linear(1.0), name="identity")


def log() -> Objective:
    """f(x) = sum_i log x_i, for positive x.  Gamma(a, b): dE/da = psi1(a) (trigamma), dE/db = -1/b."""
    return Objective("log", kobj.LOG, 0.0, domain="positive")


def component(i: int = 0) -> Objective:
    """f(x) = x_i on the simplex (Beta: x_0 = x).  dE[x_i]/dalpha_j = (delta_ij alpha_0 - alpha_i) / alpha_0^2."""
    i = _index(i)
    return Objective(f"component({i})", kobj.COMPONENT, float(i), domain="simplex")


def log_component(i: int = 0) -> Objective:
    """f(x) = log x_i on the simplex.  dE[log x_i]/dalpha_j = delta_ij psi1(alpha_i) - psi1(alpha_0)."""
    i = _index(i)
    return Objective(f"log_component({i})", kobj.LOG_COMPONENT, float(i), domain="simplex")


def toy(t: float = 0.45) -> Objective:
    """f(x) = sum_i (x_i - t)^2: the toy of the REBAR and RELAX papers on a Bernoulli (t = 0.45 or 0.499).

    Notes
    -----
    On Bernoulli(theta): dE/dtheta = 1 - 2t and dE/dlogit = (1 - 2t) theta (1 - theta).  On relaxed
    outcomes x in [0, 1] it is the same polynomial, with derivative 2 (x - t).
    """
    t = real_scalar("t", t)
    return replace(quadratic(t), name=f"toy(t={t:g})")


def one_hot_quadratic(target: int = 0) -> Objective:
    """f(x) = sum_k (x_k - [k = target])^2 over each categorical's K entries (Categorical only).

    Notes
    -----
    On a one-hot outcome b it is 0 when b = target and 2 otherwise, so E[f] = 2 (1 - theta_target) per
    categorical variable; on relaxed outcomes (rows on the simplex) it is the squared distance to the
    target's one-hot vector, with derivative 2 (x_k - [k = target]).
    """
    target = _index(target, "target")
    return Objective(f"one_hot_quadratic(target={target})", kobj.ONE_HOT_QUADRATIC, float(target),
                     domain="categorical")


def _index(i, name: str = "component index i") -> int:
    """``i`` as a non-negative int that a float holds exactly (the kernels take it as a float)."""
    try:
        valid = (not isinstance(i, bool) and isinstance(i, (int, np.integer, float)) and math.isfinite(i)
                 and float(i) == int(i) and int(i) >= 0)
    except OverflowError:  # an int beyond the float64 range
        valid = False
    if not valid:
        raise TypeError(f"{name} must be a non-negative integer, got {i!r}")
    return int(i)


BUILTINS: dict[str, Callable[..., Objective]] = {
    "square": square,
    "quadratic": quadratic,
    "cos": cos,
    "gaussian_bump": gaussian_bump,
    "linear": linear,
    "identity": identity,
    "log": log,
    "component": component,
    "log_component": log_component,
    "toy": toy,
    "one_hot_quadratic": one_hot_quadratic,
}


def _require_njit(name: str, func) -> None:
    if not isinstance(func, CPUDispatcher):
        raise TypeError(
            f"{name} must be a function decorated with @numba.njit, got {type(func).__name__}; "
            "plain Python callables cannot run inside the kernels"
        )


def user_objective(
    value,
    derivative=None,
    *,
    vector: bool = False,
    exact_gradient: Callable | None = None,
    name: str | None = None,
    positive: bool = False,
) -> Objective:
    """Wrap a user's ``@numba.njit`` function (and derivative) as an objective.

    Parameters
    ----------
    value : numba dispatcher
        ``value(x) -> float``.  With ``vector=False`` x is a float and f is summed over the
        D coordinates, like the built-ins; with ``vector=True`` x is the whole float64 array.
    derivative : numba dispatcher, optional
        ``derivative(x) -> float`` (scalar) or ``-> array of length D`` (vector).  Needed by
        pathwise and grep; score and measure_valued work without it.
    exact_gradient : callable, optional
        ``exact_gradient(dist) -> array`` over the distribution's gradient components, shown
        as the ``exact`` column of comparisons.
    name : str, optional
        Label for tables; defaults to the function's name.
    positive : bool
        True when f is defined only for positive x (refused on Normal).

    Notes
    -----
    The adapter is compiled once per call of this function (about 0.1-0.5 s); keep the
    returned Objective to reuse it.
    """
    _require_njit("value", value)
    if derivative is not None:
        _require_njit("derivative", derivative)
    if exact_gradient is not None and not callable(exact_gradient):
        raise TypeError("exact_gradient must be callable(dist) -> array or None")
    f, df = value, derivative
    if vector and df is not None:
        def adapter(code, p, x, grad):
            grad[:] = df(x)
            return f(x)

        def adapter_1d(code, p, x):
            xs = np.full(1, x)
            return f(xs), df(xs)[0]
    elif vector:
        def adapter(code, p, x, grad):
            return f(x)

        def adapter_1d(code, p, x):
            return f(np.full(1, x)), math.nan
    elif df is not None:
        def adapter(code, p, x, grad):
            total = 0.0
            for d in range(x.shape[0]):
                total += f(x[d])
                grad[d] = df(x[d])
            return total

        def adapter_1d(code, p, x):
            return f(x), df(x)
    else:
        def adapter(code, p, x, grad):
            total = 0.0
            for d in range(x.shape[0]):
                total += f(x[d])
            return total

        def adapter_1d(code, p, x):
            return f(x), math.nan
    label = name or getattr(value, "__name__", "user")
    try:
        compiled = numba.njit(kobj.USER_SIGNATURE, fastmath=False, error_model="numpy")(adapter)
        compiled_1d = numba.njit(kobj.USER_SCALAR_SIGNATURE, fastmath=False, error_model="numpy")(adapter_1d)
    except Exception as exc:
        raise TypeError(
            f"value={label!r} does not compile as a {'vector' if vector else 'scalar'} objective "
            f"(float64{'[:]' if vector else ''} -> float64): {str(exc).splitlines()[0]}"
        ) from None
    return Objective(
        label, kobj.USER, math.nan, has_derivative=derivative is not None, adapter=compiled, adapter_1d=compiled_1d,
        exact=exact_gradient, vector=vector, domain="positive" if positive else "real",
        source=code_digest(value, derivative, salt=str(vector)),
    )


def code_digest(*functions, salt: str = "") -> str:
    """A digest of the user's functions: ``salt``, then the bytecode, constants, names and closure values of each.
    Globals they read are not included."""
    import hashlib

    h = hashlib.sha256(salt.encode())
    for func in functions:
        py_func = getattr(func, "py_func", func)
        code = getattr(py_func, "__code__", None)
        if code is not None:
            h.update(code.co_code)
            h.update(repr(code.co_consts).encode())
            h.update(repr(code.co_names).encode())
        for cell in getattr(py_func, "__closure__", None) or ():  # values captured from an enclosing scope
            h.update(repr(cell.cell_contents).encode())
    return h.hexdigest()[:32]


def resolve(f) -> Objective:
    """Accept an Objective or the name of a built-in (with its default parameter)."""
    if isinstance(f, Objective):
        return f
    if isinstance(f, str):
        if f not in BUILTINS:
            raise ValueError(f"unknown objective {f!r}; built-ins are {sorted(BUILTINS)}")
        return BUILTINS[f]()
    if isinstance(f, CPUDispatcher):
        raise TypeError("f is a bare njit function: wrap it with mcgrad.user_objective(value, derivative)")
    raise TypeError(f"f must be an Objective or one of {sorted(BUILTINS)}, got {type(f).__name__}")
