"""The Normal family N(loc, diag(scale^2)): kernel arguments and estimator declarations."""

from __future__ import annotations

import numpy as np

from ..declaration import TRANSFORM, EstimatorSpec, variance_reduced
from ..kernels import normal as kernels
from ..kernels import score_vr
from .common import extra as extra
from .common import first_only as first_only
from .common import params as params
from .common import scalar as scalar
from .common import sgd_components as sgd_components

FAMILIES = ("normal",)


def score_family(dist) -> int:
    return score_vr.NORMAL


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """The scale is iterated as a real number: no projection."""
    return np.full(2 * dist.dim, -np.inf)


DECLARATIONS = [
    EstimatorSpec("score", "normal", "score function (REINFORCE): f(x) grad log p(x)",
                  block=kernels.block, code=kernels.SCORE, draws="D normals"),
    EstimatorSpec("pathwise", "normal", "reparameterisation: f'(x) dx/dtheta", needs_derivative=True,
                  block=kernels.block, code=kernels.PATHWISE, draws="D normals"),
    EstimatorSpec("grep", "normal", "generalised reparameterisation (Ruiz et al. 2016), transform 1 or 2",
                  needs_derivative=True, block=kernels.block, code=kernels.GREP, declared=(TRANSFORM,),
                  draws="D normals"),
    EstimatorSpec("measure_valued", "normal", "coupled measure-valued derivative (Weibull / double-sided Maxwell)",
                  block=kernels.block, code=kernels.MEASURE_VALUED,
                  draws="per coordinate a Rayleigh, a normal and two uniforms (D > 1: D base normals too)",
                  evaluations=4),
    *variance_reduced("normal", boost=False),
]
