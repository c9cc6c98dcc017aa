"""Distributions: validated parameters and the names of their gradient components (no sampling code)."""

from __future__ import annotations

import numpy as np

from ._validate import positive_array, real_array


class Normal:
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

    def __init__(self, loc=0.0, scale=1.0):
        loc_arr = real_array("loc", loc)
        scale_arr = positive_array("scale", scale)
        if loc_arr.size != scale_arr.size:
            if loc_arr.size == 1:
                loc_arr = np.full(scale_arr.size, loc_arr[0])
            elif scale_arr.size == 1:
                scale_arr = np.full(loc_arr.size, scale_arr[0])
            else:
                raise ValueError(
                    f"loc and scale must have the same length or one must be scalar, "
                    f"got {loc_arr.size} and {scale_arr.size}"
                )
        self.loc = loc_arr
        self.scale = scale_arr

    @property
    def dim(self) -> int:
        """Number of dimensions D."""
        return self.loc.size

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"loc": self.loc, "scale": self.scale}

    @property
    def components(self) -> list[str]:
        """Names of the gradient components, e.g. ``['loc', 'scale']`` or ``['loc[0]', ...]``."""
        names = []
        for pname, values in self.parameters.items():
            if values.size == 1 and self.dim == 1:
                names.append(pname)
            else:
                names.extend(f"{pname}[{i}]" for i in range(values.size))
        return names

    def __repr__(self) -> str:
        def fmt(a):
            return f"{a[0]:g}" if a.size == 1 else np.array2string(a, separator=", ")

        return f"Normal(loc={fmt(self.loc)}, scale={fmt(self.scale)})"
