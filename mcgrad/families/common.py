"""What the families share: the distribution base class, and the defaults most families take (no chain factor,
the whole draw as the objective's input, SGD on the parameters as given)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validate import positive_array, short_number
from ..kernels.special import digamma as _psi
from ..kernels.special import trigamma as _psi1

__all__ = ["ceilings", "extra", "first_only", "gamma_shapes", "params", "scalar", "sgd_components"]
"""The defaults a family module takes with ``from .common import *`` and overrides by defining its own."""


class Distribution:
    """Shared behaviour of the distribution classes: parameter arrays by name, component names, repr."""

    family = ""

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Number of dimensions D."""
        return next(iter(self.parameters.values())).size

    @property
    def components(self) -> list[str]:
        """Names of the gradient components, e.g. ``['loc', 'scale']`` or ``['loc[0]', ...]``."""
        names = []
        for pname, values in self.parameters.items():
            if values.size == 1:
                names.append(pname)
            else:
                names.extend(f"{pname}[{i}]" for i in range(values.size))
        return names

    def __repr__(self) -> str:
        def fmt(a):
            return f"{a.flat[0]:g}" if a.size == 1 else np.array2string(a, separator=", ")

        inner = ", ".join(f"{k}={fmt(v)}" for k, v in self.parameters.items())
        return f"{type(self).__name__}({inner})"


def broadcast_pair(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast two parameter arrays to a common length D (a length-1 array broadcasts)."""
    if a.size == b.size:
        return a, b
    if a.size == 1:
        return np.full(b.size, a[0]), b
    if b.size == 1:
        return a, np.full(a.size, b[0])
    raise ValueError(f"{names[0]} and {names[1]} must have the same length or one must be scalar, "
                     f"got {a.size} and {b.size}")


CONCENTRATIONS = (1e-3, 1e6)
"""The concentrations the Gamma-built families are tested on; outside, draws underflow (below) or the implicit
gradient loses accuracy (above), so they are refused."""


def concentration_range() -> str:
    """:data:`CONCENTRATIONS` as the interval an error message or the docs name."""
    return f"[{short_number(CONCENTRATIONS[0])}, {short_number(CONCENTRATIONS[1])}]"


def concentration_array(name: str, value) -> np.ndarray:
    """Positive concentrations within :data:`CONCENTRATIONS`, or a ValueError naming the range."""
    arr = positive_array(name, value)
    low, high = CONCENTRATIONS
    if np.any((arr < low) | (arr > high)):
        raise ValueError(f"{name} must be in {concentration_range()} (the range mcgrad's samplers and gradients are "
                         f"tested on), got {value!r}")
    return arr


def per_coordinate(first: str, second: str, grads: Callable) -> Callable:
    """An exact gradient ``(dist, param) -> [dE/dfirst; dE/dsecond]`` of a sum over coordinates, from the
    per-coordinate formulas ``grads(first_values, second_values, param) -> (dE/dfirst, dE/dsecond)``."""

    def exact(dist, param: float) -> np.ndarray:
        a, b = getattr(dist, first), getattr(dist, second)
        da, db = grads(a, b, param)
        return np.concatenate([np.broadcast_to(da, a.shape), np.broadcast_to(db, a.shape)])

    return exact


def trigamma(a) -> np.ndarray:
    """psi1 element-wise (the kernels' trigamma)."""
    return np.array([_psi1(float(v)) for v in np.atleast_1d(a)])


def digamma(a) -> np.ndarray:
    """psi element-wise, keeping the shape (the kernels' digamma)."""
    return np.vectorize(_psi, otypes=[float])(a)


def rows(*parameters: np.ndarray) -> np.ndarray:
    """Parameter vectors stacked as the rows the block functions take."""
    return np.ascontiguousarray(np.stack(parameters), dtype=float)


def params(dist) -> np.ndarray:
    """One row per parameter vector, in the order of ``dist.parameters`` (Normal: [loc; scale], Gamma:
    [concentration; rate], shape (2, D))."""
    return rows(*dist.parameters.values())


def extra(dist) -> np.ndarray:
    """No chain factor: ones, one per gradient component."""
    return np.ones(len(dist.components))


def ceilings(dist) -> np.ndarray:
    """The largest value SGD may move each iterated parameter to (the top of the family's supported range): none."""
    return np.full(len(dist.components), np.inf)  # one per iterated parameter, as many as the components


def gamma_shapes(dist) -> tuple[str, np.ndarray]:
    """The shapes of the Gamma draws the family samples by Marsaglia-Tsang, with what the user calls them (for
    messages): the concentrations of the Gamma-built families, none for the others."""
    return "a concentration", np.ravel(getattr(dist, "concentration", np.empty(0)))


def first_only(dist) -> bool:
    """The objective sees the whole draw."""
    return False


def sgd_components(dist) -> list[str]:
    """SGD iterates the parameters as given."""
    return dist.components


def scalar(dist) -> bool:
    """Whether the block functions may take their D = 1 loops."""
    return dist.dim == 1
