"""mcgrad: Numba-accelerated Monte Carlo measurement of gradient estimators' mean and variance."""

from .api import compare, estimate
from .distributions import Gamma, Normal
from .estimators import REGISTRY as ESTIMATORS
from .objectives import Objective, cos, gaussian_bump, identity, linear, log, quadratic, square, user_objective
from .results import Accumulator, Estimate

__version__ = "0.1.0"

__all__ = [
    "ESTIMATORS",
    "Accumulator",
    "Estimate",
    "Gamma",
    "Normal",
    "Objective",
    "compare",
    "cos",
    "estimate",
    "gaussian_bump",
    "identity",
    "linear",
    "log",
    "quadratic",
    "square",
    "user_objective",
]
