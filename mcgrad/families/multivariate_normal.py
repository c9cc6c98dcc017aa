"""The MultivariateNormal family N(loc, L L^T), L = scale_tril: the distribution, its kernel arguments, its
estimators' declarations and the closed forms of the built-in objectives under it."""

from __future__ import annotations

import numpy as np

from .._validate import SMALLEST_POSITIVE, real_array, short_number
from ..declaration import EstimatorSpec, variance_reduced
from ..kernels import multivariate_normal as kernels
from ..kernels import score_vr
from . import normal
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import Distribution

FAMILIES = ("multivariate_normal",)
DEFAULT_ESTIMATORS = {"multivariate_normal": "pathwise"}
MAX_DIM = 64  # D + D (D + 1) / 2 gradient components: 2144 at D = 64
RANGES = {"multivariate_normal": [("loc", "finite reals"),
                                  ("scale_tril", "D x D lower triangular, finite, with a diagonal >= "
                                                 f"{short_number(SMALLEST_POSITIVE)}; D <= {MAX_DIM}")]}


class MultivariateNormal(Distribution):
    """Gaussian N(loc, L L^T) in D >= 1 dimensions, parameterised by the Cholesky factor L = ``scale_tril``.

    Parameters
    ----------
    loc : array_like
        Means, a 1-D array of length D (a scalar is D = 1).
    scale_tril : array_like
        L, a D x D lower-triangular matrix with a positive diagonal (a scalar is D = 1); entries above the
        diagonal must be 0.

    Notes
    -----
    x = loc + L eps with eps ~ N(0, I), so Cov x = L L^T.  Gradients are taken with respect to every ``loc``
    component and every entry of L on or below the diagonal, in the order ``loc[0..D-1]``, then
    ``scale_tril[i,j]`` for i >= j row by row (``scale_tril[0,0], scale_tril[1,0], scale_tril[1,1], ...``).
    """

    family = "multivariate_normal"
    support = "real"

    def __init__(self, loc=0.0, scale_tril=1.0):
        loc = real_array("loc", loc)
        tril = np.array(scale_tril, dtype=float) if _numeric(scale_tril) else None
        if tril is None or tril.ndim > 2:
            raise ValueError(f"scale_tril must be a D x D matrix of finite reals, got {scale_tril!r}")
        tril = tril.reshape(1, 1) if tril.ndim == 0 else tril
        if tril.ndim != 2 or tril.shape[0] != tril.shape[1] or tril.shape[0] != loc.size:
            raise ValueError(f"scale_tril must be a D x D matrix with D = len(loc) = {loc.size}, got shape "
                             f"{tril.shape}")
        if not np.all(np.isfinite(tril)):
            raise ValueError(f"scale_tril must be finite, got {scale_tril!r}")
        if np.any(np.triu(tril, 1) != 0.0):
            raise ValueError("scale_tril must be lower triangular (entries above the diagonal 0)")
        if np.any(np.diag(tril) <= 0.0):
            raise ValueError(f"scale_tril's diagonal must be > 0 (a Cholesky factor), got {np.diag(tril)}")
        if np.any(np.diag(tril) < SMALLEST_POSITIVE):
            raise ValueError(f"scale_tril's diagonal must be >= {SMALLEST_POSITIVE!r} (the smallest normal double; "
                             f"its reciprocal would overflow), got {np.diag(tril)}")
        if loc.size > MAX_DIM:
            raise ValueError(f"MultivariateNormal takes D <= {MAX_DIM}, got D = {loc.size}")
        self.loc, self.scale_tril = loc, tril

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"loc": self.loc, "scale_tril": self.scale_tril}

    @property
    def dim(self) -> int:
        """Number of dimensions D."""
        return self.loc.size

    @property
    def components(self) -> list[str]:
        """``loc[i]`` then ``scale_tril[i,j]`` for i >= j, row by row (``loc`` and ``scale_tril`` at D = 1)."""
        if self.dim == 1:
            return ["loc", "scale_tril"]
        rows, cols = np.tril_indices(self.dim)
        return [f"loc[{i}]" for i in range(self.dim)] + [f"scale_tril[{i},{j}]" for i, j in zip(rows, cols,
                                                                                               strict=True)]

    @property
    def marginal_scale(self) -> np.ndarray:
        """The coordinates' standard deviations sqrt((L L^T)_ii) = ||L_i,:||, scaled by each row's largest entry
        so that neither the squares nor the sum overflow or underflow."""
        return _row_norms(self.scale_tril)


def _row_norms(tril: np.ndarray) -> np.ndarray:
    """||row|| of each row of ``tril`` (..., D, D), without overflow or underflow of the squares."""
    top = np.max(np.abs(tril), axis=-1, keepdims=True)
    safe = np.where(top > 0.0, top, 1.0)
    return top[..., 0] * np.sqrt(np.sum((tril / safe) ** 2, axis=-1))


def _numeric(value) -> bool:
    try:
        return np.asarray(value).dtype.kind in "iuf" and not isinstance(value, bool)
    except (TypeError, ValueError):
        return False


CLASSES = (MultivariateNormal,)


def params(dist) -> np.ndarray:
    """The packed row ``[loc, L_00, L_10, L_11, ...]``, shape (1, W): the gradient components' order."""
    return np.concatenate([dist.loc, dist.scale_tril[np.tril_indices(dist.dim)]])[None, :]


def scalar(dist) -> bool:
    """One loop for every D."""
    return False


def score_family(dist) -> int:
    return score_vr.MULTIVARIATE_NORMAL


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """SGD keeps L's diagonal at or above ``floor`` (a Cholesky factor); loc and the entries below are free."""
    out = np.full(params(dist).size, -np.inf)
    rows, cols = np.tril_indices(dist.dim)
    out[dist.dim + np.flatnonzero(rows == cols)] = floor
    return out


DECLARATIONS = [
    EstimatorSpec("score", "multivariate_normal", "score function (REINFORCE): f(x) grad log p(x)",
                  block=kernels.block, code=kernels.SCORE, draws="D normals"),
    EstimatorSpec("pathwise", "multivariate_normal", "reparameterisation x = loc + L eps: grad f(x) dx/dtheta",
                  needs_derivative=True, needs_value=False, block=kernels.block, code=kernels.PATHWISE,
                  draws="D normals"),
    *variance_reduced("multivariate_normal", boost=False),
]


def _unpacked(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loc, marginal scales) of each packed row of ``rows`` (T, W)."""
    dim = int(round((np.sqrt(9.0 + 8.0 * rows.shape[1]) - 3.0) / 2.0))  # W = D + D (D + 1) / 2
    tril = np.zeros((rows.shape[0], dim, dim))
    i, j = np.tril_indices(dim)
    tril[:, i, j] = rows[:, dim:]
    return rows[:, :dim], _row_norms(tril)


def _through_marginals(normal_exact):
    """The exact gradient of a sum over coordinates from the Normal's (dE/dloc, dE/dscale) per coordinate: a
    coordinate's law is N(loc_i, s_i^2) with s_i = ||L_i,:||, and ds_i/dL_ij = L_ij / s_i."""

    def exact(dist, param: float) -> np.ndarray:
        scale = dist.marginal_scale
        grad = normal_exact(normal.Normal(dist.loc, scale), param)
        d_loc, d_scale = grad[:dist.dim], grad[dist.dim:]
        rows, cols = np.tril_indices(dist.dim)
        return np.concatenate([d_loc, d_scale[rows] * (dist.scale_tril[rows, cols] / scale[rows])])

    return exact


EXACT_GRADIENTS = {code: _through_marginals(exact) for code, exact in normal.EXACT_GRADIENTS.items()}
"""Built-in objective code -> ``exact(dist, param)``: every built-in is a sum over coordinates, so its gradient
follows from the Normal's closed forms at the marginals (docs/estimators.md)."""

def _at_marginals(normal_value):
    """E[f] at packed iterates from the Normal's E[f] at iterates [loc, scale], the scales the marginals'."""
    return lambda rows, param: normal_value(np.concatenate(_unpacked(rows), axis=1), param)


EXPECTATIONS = {code: _at_marginals(value) for code, value in normal.EXPECTATIONS.items()}
"""Built-in objective code -> ``value(rows, param)``: E[f(x)] at each packed iterate, from the marginals."""
