"""The Gamma family (concentration, rate): the distribution, its kernel arguments, its estimators' declarations
and the closed forms of the built-in objectives under it."""

from __future__ import annotations

import numpy as np

from .._validate import POSITIVE_REALS, positive_array
from ..declaration import BOOST, EstimatorSpec, variance_reduced
from ..kernels import gamma as kernels
from ..kernels import objectives as kobj
from ..kernels import score_vr
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import (
    CONCENTRATIONS,
    Distribution,
    broadcast_pair,
    concentration_array,
    concentration_range,
    digamma,
    per_coordinate,
    trigamma,
)

FAMILIES = ("gamma",)
DEFAULT_ESTIMATORS = {"gamma": "rsvi"}
RANGES = {"gamma": [("concentration", concentration_range()), ("rate", POSITIVE_REALS)]}


class Gamma(Distribution):
    """D independent Gamma(concentration, rate) variables, density z^(a-1) b^a e^(-b z) / Gamma(a).

    Parameters
    ----------
    concentration : float or array_like
        Shapes a > 0 (scalar or 1-D array of length D).  Below 1 the sampler needs shape
        augmentation (``boost >= 1``, the default).
    rate : float or array_like, default 1.0
        Rates b > 0; scalars broadcast.

    Notes
    -----
    Gradients are taken with respect to every concentration and every rate, in the order
    ``concentration[0..D-1], rate[0..D-1]``.
    """

    family = "gamma"
    support = "positive"

    def __init__(self, concentration, rate=1.0):
        self.concentration, self.rate = broadcast_pair(
            ("concentration", "rate"), concentration_array("concentration", concentration), positive_array("rate", rate)
        )

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"concentration": self.concentration, "rate": self.rate}


CLASSES = (Gamma,)


def score_family(dist) -> int:
    return score_vr.GAMMA


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """Concentrations onto [max(floor, 1 - boost), inf), rates onto [rate_floor, inf)."""
    return np.concatenate([np.full(dist.dim, max(floor, 1.0 - boost)), np.full(dist.dim, rate_floor)])


def ceilings(dist) -> np.ndarray:
    """Concentrations at most the top of their tested range (rates free)."""
    return np.concatenate([np.full(dist.dim, CONCENTRATIONS[1]), np.full(dist.dim, np.inf)])


def _implicit_setup():
    return kernels.implicit_setup


def sampling(family: str, module) -> list[EstimatorSpec]:
    """The Marsaglia-Tsang based estimators of a Gamma-built family; ``module(code, user_path, scalar)`` makes
    a block function."""
    draws = "per coordinate one Marsaglia-Tsang draw (normal and uniform proposals) and B uniforms"
    return [
        EstimatorSpec("score", family, "score function (REINFORCE): f(z) grad log p(z)",
                      block=module, code=kernels.SCORE, declared=(BOOST,), draws=draws),
        EstimatorSpec("grep", family, "generalised reparameterisation, log-space standardisation",
                      needs_derivative=True, block=module, code=kernels.GREP, declared=(BOOST,), draws=draws),
        EstimatorSpec("rsvi", family, "rejection-sampler reparameterisation g_rep + g_cor (Naesseth et al. 2017)",
                      needs_derivative=True, block=module, code=kernels.RSVI, declared=(BOOST,), draws=draws),
        EstimatorSpec("rsvi_rep_only", family, "rsvi without the correction term g_cor (biased ablation)",
                      biased=True, needs_derivative=True, needs_value=False, block=module,
                      code=kernels.RSVI_REP_ONLY,
                      declared=(BOOST,), draws=draws),
        EstimatorSpec("implicit", family, "implicit reparameterisation (Figurnov et al. 2018)",
                      needs_derivative=True, needs_value=False, block=module, code=kernels.IMPLICIT,
                      setup=_implicit_setup,
                      declared=(BOOST,), draws=draws),
    ]


DECLARATIONS = [*sampling("gamma", kernels.block), *variance_reduced("gamma", boost=True)]

EXACT_GRADIENTS = {
    kobj.SQUARE: per_coordinate("concentration", "rate", lambda a, b, c: ((2 * a + 1) / b**2, -2 * a * (a + 1) / b**3)),
    kobj.LINEAR: per_coordinate("concentration", "rate", lambda a, b, w: (w / b + 0 * a, -w * a / b**2)),
    kobj.LOG: per_coordinate("concentration", "rate", lambda a, b, _: (trigamma(a), -1.0 / b)),
}
"""Built-in objective code -> ``exact(dist, param)``: dE/dconcentration and dE/drate (docs/estimators.md)."""


def _summed(value):
    """E[f] of a sum over coordinates at iterates ``rows`` = [concentration, rate] (T, 2D)."""
    return lambda rows, p: value(*np.split(rows, 2, axis=1), p).sum(axis=1)


EXPECTATIONS = {
    kobj.SQUARE: lambda rows, c: _summed(lambda a, b, _: a * (a + 1) / b**2)(rows, c) + c,
    kobj.LINEAR: _summed(lambda a, b, w: w * a / b),
    kobj.LOG: _summed(lambda a, b, _: digamma(a) - np.log(b)),
}
"""Built-in objective code -> ``value(rows, param)``: E[f(z)] at each iterate ``rows[t]`` = [concentration, rate]."""
