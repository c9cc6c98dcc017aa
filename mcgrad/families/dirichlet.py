"""Beta and Dirichlet, built from independent Gamma draws: the distributions, their kernel arguments, their
estimators' declarations and the closed forms of the built-in objectives under them."""

from __future__ import annotations

import numpy as np

from ..declaration import variance_reduced
from ..kernels import dirichlet as kernels
from ..kernels import objectives as kobj
from ..kernels import score_vr
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import CONCENTRATIONS, Distribution, concentration_array, concentration_range, digamma, rows, trigamma
from .gamma import sampling

FAMILIES = ("beta", "dirichlet")
DEFAULT_ESTIMATORS = {"beta": "rsvi", "dirichlet": "rsvi"}
RANGES = {"beta": [("a, b", concentration_range())],
          "dirichlet": [("concentration", f"K >= 2 values in {concentration_range()}")]}


class Dirichlet(Distribution):
    """Dirichlet(concentration) on the simplex of K >= 2 components.

    Parameters
    ----------
    concentration : array_like
        K > 1 concentrations, each > 0.

    Notes
    -----
    Sampled as x = G / sum(G) with independent G_k ~ Gamma(concentration_k, 1); gradients are
    taken with respect to every concentration.
    """

    family = "dirichlet"
    support = "simplex"

    def __init__(self, concentration):
        self.concentration = concentration_array("concentration", concentration)
        if self.concentration.size < 2:
            raise ValueError(f"concentration must have at least 2 components, got {self.concentration.size}")

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"concentration": self.concentration}


class Beta(Distribution):
    """Beta(a, b) on (0, 1): x = G_a / (G_a + G_b).  Gradients with respect to a and b.

    Parameters
    ----------
    a, b : float
        Concentrations (> 0).
    """

    family = "beta"
    support = "simplex"

    def __init__(self, a, b):
        a_arr = concentration_array("a", a)
        b_arr = concentration_array("b", b)
        if a_arr.size != 1 or b_arr.size != 1:
            raise ValueError("a and b must be scalars (use Dirichlet for more components)")
        self.a = a_arr
        self.b = b_arr
        self.concentration = np.concatenate([a_arr, b_arr])

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"a": self.a, "b": self.b}

    @property
    def dim(self) -> int:
        return 1

    @property
    def components(self) -> list[str]:
        return ["a", "b"]


CLASSES = (Beta, Dirichlet)


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


def ceilings(dist) -> np.ndarray:
    """Concentrations at most the top of their tested range."""
    return np.full(dist.concentration.size, CONCENTRATIONS[1])


DECLARATIONS = [
    *sampling("beta", lambda code, user_path, scalar: kernels.block(code, True, user_path)),
    *sampling("dirichlet", lambda code, user_path, scalar: kernels.block(code, False, user_path)),
    *variance_reduced("beta", boost=True),
    *variance_reduced("dirichlet", boost=True),
]


def _simplex(log_of: bool):
    """dE[x_i]/dalpha_j = (delta_ij alpha_0 - alpha_i) / alpha_0^2, or
    dE[log x_i]/dalpha_j = delta_ij psi1(alpha_i) - psi1(alpha_0), with i the objective's parameter."""

    def exact(dist, param: float) -> np.ndarray | None:
        i, alpha = int(param), dist.concentration
        if i >= alpha.size:
            return None
        a0 = alpha.sum()
        delta = (np.arange(alpha.size) == i).astype(float)
        if log_of:
            return delta * trigamma(alpha[i]) - trigamma(a0)[0]
        return (delta * a0 - alpha[i]) / a0**2

    return exact


EXACT_GRADIENTS = {kobj.COMPONENT: _simplex(False), kobj.LOG_COMPONENT: _simplex(True)}
"""Built-in objective code -> ``exact(dist, param)``: dE/dconcentration (docs/estimators.md)."""


def _expected_component(log_of: bool):
    """E[x_i] = alpha_i / alpha_0 or E[log x_i] = psi(alpha_i) - psi(alpha_0) at each iterate (rows of alphas)."""

    def value(alphas: np.ndarray, param: float) -> np.ndarray | None:
        i = int(param)
        if i >= alphas.shape[1]:
            return None
        a0 = alphas.sum(axis=1)
        return digamma(alphas[:, i]) - digamma(a0) if log_of else alphas[:, i] / a0

    return value


EXPECTATIONS = {kobj.COMPONENT: _expected_component(False), kobj.LOG_COMPONENT: _expected_component(True)}
"""Built-in objective code -> ``value(rows, param)``: E[f(x)] at each iterate (rows of concentrations)."""
