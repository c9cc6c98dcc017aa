"""mcgrad: Numba-accelerated Monte Carlo measurement of gradient estimators' mean and variance."""

from .api import compare, estimate
from .distributions import Beta, Dirichlet, Gamma, Normal
from .estimators import REGISTRY as ESTIMATORS
from .objectives import (
    Objective,
    component,
    cos,
    gaussian_bump,
    identity,
    linear,
    log,
    log_component,
    quadratic,
    square,
    user_objective,
)
from .results import Accumulator, Estimate

__version__ = "0.1.0"

__all__ = [
    "ESTIMATORS",
    "Accumulator",
    "Beta",
    "Dirichlet",
    "Estimate",
    "Gamma",
    "Normal",
    "Objective",
    "compare",
    "component",
    "cos",
    "estimate",
    "gaussian_bump",
    "identity",
    "linear",
    "log",
    "log_component",
    "quadratic",
    "square",
    "user_objective",
]
