"""The StudentT family (df, loc, scale), sampled as a Normal-Gamma scale mixture: the distribution, its kernel
arguments, its estimators' declarations and the closed forms of the built-in objectives under it."""

from __future__ import annotations

import numpy as np

from .._validate import POSITIVE_REALS, positive_array, real_array, short_number
from ..declaration import BOOST, EstimatorSpec
from ..kernels import objectives as kobj
from ..kernels import student_t as kernels
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import Distribution

FAMILIES = ("student_t",)
DEFAULT_ESTIMATORS = {"student_t": "implicit"}
DF_RANGE = (0.1, 1e6)
"""The degrees of freedom mcgrad takes: below 0.1 the mixing Gamma(df/2) draws underflow so far that draws of x
overflow (at df = 0.002 a quarter of them would); above, the Gamma gradients lose accuracy."""
RANGES = {"student_t": [("df", f"[{short_number(DF_RANGE[0])}, {short_number(DF_RANGE[1])}]"),
                        ("loc", "finite reals"), ("scale", POSITIVE_REALS)]}


class StudentT(Distribution):
    """D independent Student-t variables with density proportional to (1 + ((x - loc)/scale)^2 / df)^(-(df+1)/2).

    Parameters
    ----------
    df : float or array_like
        Degrees of freedom nu in [0.1, 1e6]; a scalar or a 1-D array of length D.
    loc : float or array_like, default 0.0
        Locations (finite).
    scale : float or array_like, default 1.0
        Scales (> 0).  Scalars broadcast.

    Notes
    -----
    Sampled as x = loc + scale * eps * sqrt(df / (2 G)) with eps ~ N(0, 1) and G ~ Gamma(df / 2, 1).  Gradients
    are taken with respect to every df, loc and scale component, in the order ``df[0..D-1], loc[0..D-1],
    scale[0..D-1]``.  E[x] exists for df > 1 and Var x = scale^2 df / (df - 2) for df > 2.
    """

    family = "student_t"
    support = "real"

    def __init__(self, df, loc=0.0, scale=1.0):
        arrays = {"df": positive_array("df", df), "loc": real_array("loc", loc),
                  "scale": positive_array("scale", scale)}
        low, high = DF_RANGE
        if np.any((arrays["df"] < low) | (arrays["df"] > high)):
            raise ValueError(f"df must be in {RANGES['student_t'][0][1]} (below, draws of x overflow; above, the "
                             f"Gamma gradients lose accuracy), got {df!r}")
        sizes = {a.size for a in arrays.values()} - {1}
        if len(sizes) > 1:
            raise ValueError("df, loc and scale must have the same length or be scalars, got lengths "
                             f"{[a.size for a in arrays.values()]}")
        dim = sizes.pop() if sizes else 1
        self.df, self.loc, self.scale = (np.full(dim, a[0]) if a.size == 1 else a for a in arrays.values())

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"df": self.df, "loc": self.loc, "scale": self.scale}

    @property
    def finite_moments_below(self) -> np.ndarray:
        """E|x|^r is finite for r < df (per coordinate): the built-ins x^2, (x - k)^2 and a x are refused where
        their expectation is infinite or undefined."""
        return self.df


CLASSES = (StudentT,)


def scalar(dist) -> bool:
    """D = 1 runs the rounds loop (built-in objectives; user objectives keep the array loop)."""
    return dist.dim == 1


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """df onto [max(2 floor, 2 (1 - boost), 0.1), inf) (the Gamma's shape df / 2 as the Gamma family's
    concentration), scale onto [rate_floor, inf); loc is free."""
    df_floor = max(2.0 * floor, 2.0 * (1.0 - boost), DF_RANGE[0])
    return np.concatenate([np.full(dist.dim, df_floor), np.full(dist.dim, -np.inf), np.full(dist.dim, rate_floor)])


def ceilings(dist) -> np.ndarray:
    """df at most the top of its range (so the mixing Gamma's shape stays where its gradients are tested)."""
    return np.concatenate([np.full(dist.dim, DF_RANGE[1]), np.full(2 * dist.dim, np.inf)])


def gamma_shapes(dist) -> tuple[str, np.ndarray]:
    """The mixing Gamma's shapes df / 2."""
    return "df / 2", 0.5 * dist.df


def _implicit_setup():
    return kernels.implicit_setup


_DRAWS = "per coordinate one Marsaglia-Tsang Gamma draw (normal and uniform proposals, B uniforms), then one normal"

DECLARATIONS = [
    EstimatorSpec("score", "student_t", "score function (REINFORCE): f(x) grad log p(x) of the t density",
                  block=kernels.block, code=kernels.SCORE, declared=(BOOST,), draws=_DRAWS),
    EstimatorSpec("implicit", "student_t", "pathwise in loc and scale, df through the mixing Gamma by implicit "
                  "reparameterisation (Figurnov et al. 2018)", needs_derivative=True, needs_value=False,
                  block=kernels.block, code=kernels.IMPLICIT, setup=_implicit_setup, declared=(BOOST,), draws=_DRAWS),
    EstimatorSpec("rsvi", "student_t", "pathwise in loc and scale, df through the mixing Gamma's Marsaglia-Tsang "
                  "sampler with its correction term (Naesseth et al. 2017)", needs_derivative=True,
                  block=kernels.block, code=kernels.RSVI, declared=(BOOST,), draws=_DRAWS),
]


def _moment_gradient(shift_of):
    """The exact gradient of sum_j (x_j - k_j)^2 (+ c), k_j = ``shift_of(param)`` (0 for square): E = (loc - k)^2
    + scale^2 df / (df - 2), so dE/ddf = -2 scale^2 / (df - 2)^2, dE/dloc = 2 (loc - k), dE/dscale =
    2 scale df / (df - 2); None (infinite) unless every df > 2."""

    def exact(dist, param: float) -> np.ndarray | None:
        nu, m, s = dist.df, dist.loc, dist.scale
        if np.any(nu <= 2.0):
            return None
        return np.concatenate([-2.0 * s * s / (nu - 2.0) ** 2, 2.0 * (m - shift_of(param)), 2.0 * s * nu / (nu - 2.0)])

    return exact


def _linear(dist, a: float) -> np.ndarray | None:
    """E[a sum x] = a sum loc for df > 1 (undefined otherwise)."""
    if np.any(dist.df <= 1.0):
        return None
    return np.concatenate([np.zeros(dist.dim), np.full(dist.dim, a), np.zeros(dist.dim)])


EXACT_GRADIENTS = {
    kobj.SQUARE: _moment_gradient(lambda c: 0.0),
    kobj.QUADRATIC: _moment_gradient(lambda k: k),
    kobj.LINEAR: _linear,
}
"""Built-in objective code -> ``exact(dist, param)``: dE/ddf, dE/dloc and dE/dscale (docs/estimators.md)."""


def _split(rows: np.ndarray):
    return np.split(rows, 3, axis=1)


def _second_moment(shift_of):
    def value(rows: np.ndarray, param: float) -> np.ndarray:
        nu, m, s = _split(rows)
        spread = np.where(nu > 2.0, s * s * nu / np.where(nu > 2.0, nu - 2.0, 1.0), np.inf)
        return ((m - shift_of(param)) ** 2 + spread).sum(axis=1)

    return value


EXPECTATIONS = {
    kobj.SQUARE: lambda rows, c: _second_moment(lambda _: 0.0)(rows, c) + c,
    kobj.QUADRATIC: _second_moment(lambda k: k),
    kobj.LINEAR: lambda rows, a: np.where(np.all(_split(rows)[0] > 1.0, axis=1), a * _split(rows)[1].sum(axis=1),
                                          np.nan),
}
"""Built-in objective code -> ``value(rows, param)``: E[f(x)] at each iterate ``rows[t]`` = [df, loc, scale]."""
