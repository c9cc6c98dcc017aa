"""Distributions: validated parameters and the names of their gradient components (no sampling code)."""

from __future__ import annotations

import numpy as np

from ._validate import positive_array, real_array


def _broadcast_pair(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast two parameter arrays to a common length D (a length-1 array broadcasts)."""
    if a.size == b.size:
        return a, b
    if a.size == 1:
        return np.full(b.size, a[0]), b
    if b.size == 1:
        return a, np.full(a.size, b[0])
    raise ValueError(f"{names[0]} and {names[1]} must have the same length or one must be scalar, "
                     f"got {a.size} and {b.size}")


class _Family:
    """Shared behaviour: parameter arrays by name, component names, repr."""

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
            return f"{a[0]:g}" if a.size == 1 else np.array2string(a, separator=", ")

        inner = ", ".join(f"{k}={fmt(v)}" for k, v in self.parameters.items())
        return f"{type(self).__name__}({inner})"


class Normal(_Family):
    """Diagonal Gaussian N(loc, diag(scale**2)) in D >= 1 dimensions.

    Parameters
    ----------
    loc : float or array_like
        Means; a scalar or a 1-D array of length D.
    scale : float or array_like
        Standard deviations (> 0); a scalar, or a 1-D array of length D. Scalars broadcast.

    Notes
    -----
    Gradients are taken with respect to every ``loc`` and every ``scale`` component, in
    the order ``loc[0..D-1], scale[0..D-1]``.
    """

    family = "normal"
    support = "real"

    def __init__(self, loc=0.0, scale=1.0):
        self.loc, self.scale = _broadcast_pair(("loc", "scale"), real_array("loc", loc), positive_array("scale", scale))

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"loc": self.loc, "scale": self.scale}


class Gamma(_Family):
    """D independent Gamma(concentration, rate) variables, density z^(a-1) b^a e^(-b z) / Gamma(a).

    Parameters
    ----------
    concentration : float or array_like
        Shapes a > 0 (scalar or 1-D array of length D).  Below 1 the sampler needs shape
        augmentation (``boost >= 1``, the default).
    rate : float or array_like, default 1.0
        Rates b > 0; scalars broadcast.

    Notes
    -----
    Gradients are taken with respect to every concentration and every rate, in the order
    ``concentration[0..D-1], rate[0..D-1]``.
    """

    family = "gamma"
    support = "positive"

    def __init__(self, concentration, rate=1.0):
        self.concentration, self.rate = _broadcast_pair(
            ("concentration", "rate"), positive_array("concentration", concentration), positive_array("rate", rate)
        )

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"concentration": self.concentration, "rate": self.rate}


class Dirichlet(_Family):
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
        self.concentration = positive_array("concentration", concentration)
        if self.concentration.size < 2:
            raise ValueError(f"concentration must have at least 2 components, got {self.concentration.size}")

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"concentration": self.concentration}


class Beta(_Family):
    """Beta(a, b) on (0, 1): x = G_a / (G_a + G_b).  Gradients with respect to a and b.

    Parameters
    ----------
    a, b : float
        Concentrations (> 0).
    """

    family = "beta"
    support = "simplex"

    def __init__(self, a, b):
        a_arr = positive_array("a", a)
        b_arr = positive_array("b", b)
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
