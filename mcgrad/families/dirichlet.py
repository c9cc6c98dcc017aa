"""Beta and Dirichlet, built from independent Gamma draws: kernel arguments and estimator declarations."""

from __future__ import annotations

import numpy as np

from ..declaration import variance_reduced
from ..kernels import dirichlet as kernels
from ..kernels import score_vr
from .gamma import sampling

FAMILIES = ("beta", "dirichlet")
def score_family(dist) -> int:
    return score_vr.DIRICHLET


def params(dist) -> np.ndarray:
    """[concentration], shape (1, K) (Beta: K = 2)."""
    return np.ascontiguousarray(dist.concentration.reshape(1, -1), dtype=float)


def extra(dist) -> np.ndarray:
    return np.ones(dist.concentration.size)


def first_only(dist) -> bool:
    """Beta's objective sees x_0 only."""
    return dist.family == "beta"


sgd_params = params


def sgd_components(dist) -> list[str]:
    return dist.components


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    return np.full(dist.concentration.size, max(floor, 1.0 - boost))


DECLARATIONS = [
    *sampling("beta", lambda code: kernels.block(code, True)),
    *sampling("dirichlet", lambda code: kernels.block(code, False)),
    *variance_reduced("beta", boost=True),
    *variance_reduced("dirichlet", boost=True),
]
