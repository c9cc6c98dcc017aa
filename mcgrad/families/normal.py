"""The Normal family N(loc, diag(scale^2)): the distribution, its kernel arguments, its estimators' declarations
and the closed forms of the built-in objectives under it."""

from __future__ import annotations

import numpy as np

from .._validate import POSITIVE_REALS, positive_array, real_array
from ..declaration import TRANSFORM, EstimatorSpec, variance_reduced
from ..kernels import normal as kernels
from ..kernels import objectives as kobj
from ..kernels import score_vr
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import Distribution, broadcast_pair, per_coordinate

FAMILIES = ("normal",)
DEFAULT_ESTIMATORS = {"normal": "pathwise"}
RANGES = {"normal": [("loc", "finite reals"), ("scale", POSITIVE_REALS)]}


class Normal(Distribution):
    """Diagonal Gaussian N(loc, diag(scale**2)) in D >= 1 dimensions.

    Parameters
    ----------
    loc : float or array_like
        Means; a scalar or a 1-D array of length D.
    scale : float or array_like
        Standard deviations (> 0); a scalar, or a 1-D array of length D. Scalars broadcast.

    Notes
    -----
    Gradients are taken with respect to every ``loc`` and every ``scale`` component, in
    the order ``loc[0..D-1], scale[0..D-1]``.
    """

    family = "normal"
    support = "real"

    def __init__(self, loc=0.0, scale=1.0):
        self.loc, self.scale = broadcast_pair(("loc", "scale"), real_array("loc", loc), positive_array("scale", scale))

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"loc": self.loc, "scale": self.scale}


CLASSES = (Normal,)


def score_family(dist) -> int:
    return score_vr.NORMAL


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """The scale is iterated as a real number: no projection."""
    return np.full(2 * dist.dim, -np.inf)


DECLARATIONS = [
    EstimatorSpec("score", "normal", "score function (REINFORCE): f(x) grad log p(x)",
                  block=kernels.block, code=kernels.SCORE, draws="D normals"),
    EstimatorSpec("pathwise", "normal", "reparameterisation: f'(x) dx/dtheta", needs_derivative=True,
                  needs_value=False, block=kernels.block, code=kernels.PATHWISE, draws="D normals"),
    EstimatorSpec("grep", "normal", "generalised reparameterisation (Ruiz et al. 2016), transform 1 or 2",
                  needs_derivative=True, block=kernels.block, code=kernels.GREP, declared=(TRANSFORM,),
                  draws="D normals"),
    EstimatorSpec("measure_valued", "normal", "coupled measure-valued derivative (Weibull / double-sided Maxwell)",
                  block=kernels.block, code=kernels.MEASURE_VALUED,
                  draws="per coordinate a Rayleigh, a normal and two uniforms (D > 1: D base normals too)",
                  evaluations=4, per_coordinate=True),
    *variance_reduced("normal", boost=False),
]


def _cos(m, s, k):
    damp = np.exp(-0.5 * k * k * s * s)
    return -k * np.sin(k * m) * damp, -k * k * s * np.cos(k * m) * damp


def _bump_value(m, s, k):
    """E[exp(-k x^2)] = exp(-k m^2 / t) / sqrt(t), t = 1 + 2 k s^2."""
    t = 1.0 + 2.0 * k * s * s
    return np.exp(-k * m * m / t) / np.sqrt(t)


def _bump(m, s, k):
    t = 1.0 + 2.0 * k * s * s
    e = _bump_value(m, s, k)
    return e * (-2.0 * k * m / t), e * (-2.0 * k * s / t + 4.0 * k * k * m * m * s / (t * t))


EXACT_GRADIENTS = {
    kobj.SQUARE: per_coordinate("loc", "scale", lambda m, s, c: (2 * m, 2 * s)),
    kobj.QUADRATIC: per_coordinate("loc", "scale", lambda m, s, k: (2 * (m - k), 2 * s)),
    kobj.COS: per_coordinate("loc", "scale", _cos),
    kobj.GAUSSIAN_BUMP: per_coordinate("loc", "scale", _bump),
    kobj.LINEAR: per_coordinate("loc", "scale", lambda m, s, a: (a + 0 * m, 0 * s)),
}
"""Built-in objective code -> ``exact(dist, param)``: dE/dloc and dE/dscale (docs/estimators.md)."""

def _summed(value):
    """E[f] of a sum over coordinates at iterates ``rows`` = [loc, scale] (T, 2D), from its per-coordinate form."""
    return lambda rows, k: value(*np.split(rows, 2, axis=1), k).sum(axis=1)


EXPECTATIONS = {
    kobj.SQUARE: lambda rows, c: _summed(lambda m, s, _: m * m + s * s)(rows, c) + c,
    kobj.QUADRATIC: _summed(lambda m, s, k: (m - k) ** 2 + s * s),
    kobj.COS: _summed(lambda m, s, k: np.cos(k * m) * np.exp(-0.5 * k * k * s * s)),
    kobj.GAUSSIAN_BUMP: _summed(_bump_value),
    kobj.LINEAR: _summed(lambda m, s, a: a * m),
}
"""Built-in objective code -> ``value(rows, param)``: E[f(x)] at each iterate ``rows[t]`` = [loc, scale]."""


def square_variance(estimator: str, mu: float, sigma: float, c: float, transform: int = 1) -> tuple[float, float]:
    """``(Var g_mu, Var g_sigma)`` of ``estimator`` on N(mu, sigma^2) with f = x^2 + c (D = 1).

    Every estimator has mean (2 mu, 2 sigma) there; these are the per-sample variances.

    Notes
    -----
    score:    Var_mu = (mu^2+c)^2/sigma^2 + 15 sigma^2 + 14 mu^2 + 6c,
              Var_sigma = 2(mu^2+c)^2/sigma^2 + 60 mu^2 + 74 sigma^2 + 20c
    pathwise: Var_mu = 4 sigma^2,  Var_sigma = 4 mu^2 + 8 sigma^2
    grep 1:   g_mu is pathwise's, g_sigma = f(x)(eps^2 - 1)/sigma is score's
    grep 2:   Var_mu = (mu^2+c)^2 + 2c sigma^2 + 4c sigma + 10 mu^2 sigma^2 + 4 mu^2 sigma
                       + 7 sigma^4 + 4 sigma^3 + 4 sigma^2,
              Var_sigma = 4 mu^2 + 8 sigma^2
    """
    m, s = mu, sigma
    score = ((m * m + c) ** 2 / s**2 + 15 * s**2 + 14 * m**2 + 6 * c,
             2 * (m * m + c) ** 2 / s**2 + 60 * m**2 + 74 * s**2 + 20 * c)
    pathwise = (4 * s**2, 4 * m**2 + 8 * s**2)
    if estimator == "score":
        return score
    if estimator == "pathwise":
        return pathwise
    if estimator == "grep" and transform == 1:
        return pathwise[0], score[1]
    if estimator == "grep" and transform == 2:
        var_mu = ((m * m + c) ** 2 + 2 * c * s**2 + 4 * c * s + 10 * m**2 * s**2 + 4 * m**2 * s
                  + 7 * s**4 + 4 * s**3 + 4 * s**2)
        return var_mu, pathwise[1]
    raise ValueError(f"no closed-form variance for estimator {estimator!r} (transform {transform})")
