"""Beta and Dirichlet, built from independent Gamma draws: kernel arguments and estimator declarations."""

from __future__ import annotations

import numpy as np

from ..declaration import variance_reduced
from ..kernels import dirichlet as kernels
from ..kernels import score_vr
from .common import extra as extra
from .common import rows
from .common import sgd_components as sgd_components
from .gamma import sampling

FAMILIES = ("beta", "dirichlet")


def score_family(dist) -> int:
    return score_vr.DIRICHLET


def params(dist) -> np.ndarray:
    """[concentration], shape (1, K) (Beta: K = 2)."""
    return rows(dist.concentration)


def first_only(dist) -> bool:
    """Beta's objective sees x_0 only."""
    return dist.family == "beta"


def scalar(dist) -> bool:
    """No scalar loop: the block functions take any K."""
    return False


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    return np.full(dist.concentration.size, max(floor, 1.0 - boost))


DECLARATIONS = [
    *sampling("beta", lambda code, user_path, scalar: kernels.block(code, True, user_path)),
    *sampling("dirichlet", lambda code, user_path, scalar: kernels.block(code, False, user_path)),
    *variance_reduced("beta", boost=True),
    *variance_reduced("dirichlet", boost=True),
]
