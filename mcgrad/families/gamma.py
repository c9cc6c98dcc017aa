"""The Gamma family (concentration, rate): kernel arguments and estimator declarations."""

from __future__ import annotations

import numpy as np

from ..declaration import BOOST, EstimatorSpec, variance_reduced
from ..kernels import gamma as kernels
from ..kernels import score_vr
from .common import extra as extra
from .common import first_only as first_only
from .common import params as params
from .common import scalar as scalar
from .common import sgd_components as sgd_components

FAMILIES = ("gamma",)


def score_family(dist) -> int:
    return score_vr.GAMMA


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """Concentrations onto [max(floor, 1 - boost), inf), rates onto [rate_floor, inf)."""
    return np.concatenate([np.full(dist.dim, max(floor, 1.0 - boost)), np.full(dist.dim, rate_floor)])


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
                      biased=True, needs_derivative=True, block=module, code=kernels.RSVI_REP_ONLY,
                      declared=(BOOST,), draws=draws),
        EstimatorSpec("implicit", family, "implicit reparameterisation (Figurnov et al. 2018)",
                      needs_derivative=True, block=module, code=kernels.IMPLICIT, setup=_implicit_setup,
                      declared=(BOOST,), draws=draws),
    ]


DECLARATIONS = [*sampling("gamma", kernels.block), *variance_reduced("gamma", boost=True)]
