"""The VonMises family (loc, concentration) on the circle: the distribution, its kernel arguments, its estimators'
declarations and the closed forms of the built-in objectives under it."""

from __future__ import annotations

import math

import numpy as np

from .._validate import positive_array, real_array, short_number
from ..declaration import EstimatorSpec
from ..kernels import objectives as kobj
from ..kernels import von_mises as kernels
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import Distribution, broadcast_pair

FAMILIES = ("von_mises",)
DEFAULT_ESTIMATORS = {"von_mises": "implicit"}
CONCENTRATION_RANGE = (1e-6, 1e7)
"""The concentrations mcgrad takes: the range over which the CDF derivative is tested against mpmath (the
functions themselves hold 3e-15 relative accuracy from 1e-8 to 1e8)."""
RANGES = {"von_mises": [("loc", "finite reals"),
                        ("concentration", f"[{short_number(CONCENTRATION_RANGE[0])}, "
                                          f"{short_number(CONCENTRATION_RANGE[1])}]")]}
MAX_EXACT_K = 8  # cos(k x) has an exact gradient for integer k in [1, MAX_EXACT_K]


class VonMises(Distribution):
    """D independent von Mises variables on the circle, density exp(kappa cos(x - loc)) / (2 pi I0(kappa)).

    Parameters
    ----------
    loc : float or array_like
        Locations (finite); a scalar or a 1-D array of length D.
    concentration : float or array_like
        kappa in [1e-6, 1e7].  Scalars broadcast.

    Notes
    -----
    A draw is x = loc + z with z ~ von Mises(0, kappa) in (-pi, pi): x lies within pi of loc (an objective
    periodic in 2 pi sees what it would under any wrapping).  Gradients are taken with respect to every
    ``loc`` and every ``concentration`` component, in the order ``loc[0..D-1], concentration[0..D-1]``.
    """

    family = "von_mises"
    support = "real"

    def __init__(self, loc=0.0, concentration=1.0):
        loc, kappa = broadcast_pair(("loc", "concentration"), real_array("loc", loc),
                                    positive_array("concentration", concentration))
        low, high = CONCENTRATION_RANGE
        if np.any((kappa < low) | (kappa > high)):
            raise ValueError(f"concentration must be in {RANGES['von_mises'][1][1]} (the range its CDF derivative "
                             f"is tested on), got {concentration!r}")
        self.loc, self.concentration = loc, kappa

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"loc": self.loc, "concentration": self.concentration}


CLASSES = (VonMises,)


def scalar(dist) -> bool:
    """D = 1 runs the rounds loop (built-in objectives; user objectives keep the array loop)."""
    return dist.dim == 1


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """loc is free; the concentration stays at or above max(floor, 1e-6)."""
    return np.concatenate([np.full(dist.dim, -np.inf), np.full(dist.dim, max(floor, CONCENTRATION_RANGE[0]))])


def _implicit_setup():
    return kernels.implicit_tables


def ceilings(dist) -> np.ndarray:
    """The concentration at most the top of its range; loc free."""
    return np.concatenate([np.full(dist.dim, np.inf), np.full(dist.dim, CONCENTRATION_RANGE[1])])


_DRAWS = "per coordinate one Best-Fisher draw (two normals and a uniform per proposal)"

DECLARATIONS = [
    EstimatorSpec("score", "von_mises", "score function (REINFORCE): f(x) grad log p(x), plus the moving window's "
                  "edge term in loc (0 for f periodic in 2 pi)", block=kernels.block, code=kernels.SCORE,
                  draws=_DRAWS, coordinate_evaluations=2),
    EstimatorSpec("implicit", "von_mises", "pathwise in loc, implicit reparameterisation in the concentration "
                  "(Figurnov et al. 2018)", needs_derivative=True, needs_value=False, block=kernels.block,
                  code=kernels.IMPLICIT, setup=_implicit_setup, draws=_DRAWS),
]


def bessel_ratios(kappa: float, orders: int) -> tuple[np.ndarray, np.ndarray]:
    """``(r, dr)``: r_j = I_j(kappa) / I_0(kappa) and dr_j / dkappa for j = 0..orders (orders <= 10).

    Notes
    -----
    Below kappa = 40 the power series I_j = sum_m (kappa/2)^(2m+j) / (m! (m+j)!), above it Hankel's expansion
    I_j ~ e^kappa / sqrt(2 pi kappa) sum_m (-1)^m a_m(j) / kappa^m, a_m(j) = prod_{i<=m} (4 j^2 - (2i-1)^2) /
    (m! 8^m), whose prefactor cancels in the ratio.  The derivative as r_j (S_j'/S_j - S_0'/S_0) from the same
    sums differentiated term by term, which does not cancel as (r_{j-1} + r_{j+1})/2 - r_j r_1 would for large
    kappa (both sides are then 1 - O(1/kappa)).
    """
    sums, slopes = np.empty(orders + 1), np.empty(orders + 1)
    for j in range(orders + 1):
        if kappa < 40.0:
            term = (0.5 * kappa) ** j / math.factorial(j)
            total, slope = term, term * j / kappa
            for m in range(1, 400):
                term *= (0.25 * kappa * kappa) / (m * (m + j))
                total += term
                slope += term * (2 * m + j) / kappa
                if term < 1e-18 * total:
                    break
        else:
            term, total, slope = 1.0, 1.0, 0.0
            for m in range(1, 60):
                term *= -(4.0 * j * j - (2 * m - 1) ** 2) / (8.0 * m * kappa)
                total += term
                slope -= m * term / kappa
                if abs(term) < 1e-18:
                    break
        sums[j], slopes[j] = total, slope
    ratios = sums / sums[0]
    return ratios, ratios * (slopes / sums - slopes[0] / sums[0])


def _cos(dist, k: float) -> np.ndarray | None:
    """E cos(k x) = cos(k loc) r_k(kappa) for integer k (E sin(k z) = 0): d/dloc = -k sin(k loc) r_k,
    d/dkappa = cos(k loc) dr_k/dkappa; None for other k (no closed form)."""
    if k != round(k) or not 1 <= k <= MAX_EXACT_K:
        return None
    k = int(k)
    r, dr = zip(*(bessel_ratios(float(kappa), k) for kappa in dist.concentration), strict=True)
    r_k, dr_k = np.array([v[k] for v in r]), np.array([v[k] for v in dr])
    return np.concatenate([-k * np.sin(k * dist.loc) * r_k, np.cos(k * dist.loc) * dr_k])


EXACT_GRADIENTS = {
    kobj.COS: _cos,
    kobj.LINEAR: lambda dist, a: np.concatenate([np.full(dist.dim, a), np.zeros(dist.dim)]),
}
"""Built-in objective code -> ``exact(dist, param)``: dE/dloc and dE/dconcentration (docs/estimators.md)."""


def _expected_cos(rows: np.ndarray, k: float) -> np.ndarray | None:
    if k != round(k) or not 1 <= k <= MAX_EXACT_K:
        return None
    loc, kappa = np.split(rows, 2, axis=1)
    r_k = np.vectorize(lambda v: bessel_ratios(float(v), int(k))[0][int(k)])(kappa)
    return (np.cos(k * loc) * r_k).sum(axis=1)


EXPECTATIONS = {
    kobj.COS: _expected_cos,
    kobj.LINEAR: lambda rows, a: a * np.split(rows, 2, axis=1)[0].sum(axis=1),
}
"""Built-in objective code -> ``value(rows, param)``: E[f(x)] at each iterate ``rows[t]`` = [loc, concentration]."""
