"""mcgrad: Numba-accelerated Monte Carlo measurement of gradient estimators' mean and variance."""

from . import plots, streams
from .accumulator import Accumulator
from .api import Interrupted, compare, estimate, temperature_sweep
from .batch import batch_objective, jax_objective, torch_objective
from .estimators import REGISTRY as ESTIMATORS
from .families import Bernoulli, Beta, Categorical, Dirichlet, Gamma, MultivariateNormal, Normal, StudentT, VonMises
from .objectives import (
    Objective,
    component,
    cos,
    gaussian_bump,
    identity,
    linear,
    log,
    log_component,
    one_hot_quadratic,
    quadratic,
    square,
    toy,
    user_objective,
)
from .optimisation import Trajectory, optimise, scale_collapse_study
from .results import Estimate, merge
from .results import load_estimate as load
from .sweep import sweep

__version__ = "0.1.0"

__all__ = [
    "ESTIMATORS",
    "Accumulator",
    "Bernoulli",
    "Beta",
    "Categorical",
    "Dirichlet",
    "Estimate",
    "Gamma",
    "Interrupted",
    "MultivariateNormal",
    "Normal",
    "Objective",
    "StudentT",
    "Trajectory",
    "VonMises",
    "batch_objective",
    "compare",
    "component",
    "cos",
    "estimate",
    "gaussian_bump",
    "identity",
    "jax_objective",
    "linear",
    "load",
    "log",
    "log_component",
    "merge",
    "one_hot_quadratic",
    "plots",
    "optimise",
    "quadratic",
    "scale_collapse_study",
    "square",
    "streams",
    "sweep",
    "temperature_sweep",
    "toy",
    "torch_objective",
    "user_objective",
]
