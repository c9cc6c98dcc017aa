"""What most families share: no chain factor, the whole distribution as the objective's input, SGD on the
parameters as given."""

from __future__ import annotations

import numpy as np


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


def first_only(dist) -> bool:
    """The objective sees the whole draw."""
    return False


def sgd_components(dist) -> list[str]:
    """SGD iterates the parameters as given."""
    return dist.components


def scalar(dist) -> bool:
    """Whether the block functions may take their D = 1 loops."""
    return dist.dim == 1
